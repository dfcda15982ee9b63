"""The level chain: monotone decoding worked by hand, a model trained for a few hundred steps on simulated
columns names a clean column's levels and drops an injected C7 (or names it C7), and odd films give a chain,
never an exception."""
import json

import numpy as np
import pytest
import torch

from spinekey.structures.vertebra import CORNERS, VertebraInput
from spinekey.models.level_chain import (CHAIN_CLASSES, CHAIN_LEVELS, LevelChainModel, SimulatedChainDataset,
                                         decode_levels, detection_features)
from tests.test_measurement.test_chain import column


def test_decoding_keeps_levels_going_down_the_column():
    lp = np.log(np.full((3, 4), 0.01))  # classes: 3 levels + none
    lp[0, 1], lp[1, 0], lp[2, 2] = np.log(0.9), np.log(0.6), np.log(0.9)
    lp[1, 1] = np.log(0.3)
    # alone, detection 1 prefers level 0, which would go back up the column after detection 0's level 1:
    # the best monotone assignment is 1, none, 2 (0.9 * 0.01 * 0.9) against 1, 0 is forbidden
    assert decode_levels(lp) == [1, None, 2]
    lp[1, 3] = np.log(0.001)
    lp[1, 2], lp[2, 3] = np.log(0.5), np.log(0.5)
    assert decode_levels(lp) == [1, 2, None]  # 0.9 * 0.5 * 0.5 beats 0.9 * 0.001 * 0.9


def _coco(tmp_path, films=6):
    images, anns = [], []
    for f in range(films):
        images.append({'id': f, 'file_name': f'{f}.png', 'width': 800, 'height': 1200})
        for k, v in enumerate(column(17, top=60.0 + 10 * f)):
            kps = [c for n in CORNERS for c in (*v.points[n], 2)]
            anns.append({'id': len(anns), 'image_id': f, 'category_id': 1, 'bbox': [0, 0, 1, 1], 'keypoints': kps,
                         'label': CHAIN_LEVELS[1 + k]})
    path = tmp_path / 'spines.json'
    path.write_text(json.dumps({'images': images, 'annotations': anns,
                                'categories': [{'id': 1, 'name': 'v', 'keypoints': list(CORNERS)}]}))
    return path


def test_a_briefly_trained_chain_names_a_clean_column_and_drops_an_injected_c7(tmp_path):
    # No missed end levels in this brief training: with them a clean 17-column is also C7..L4 or T2..S1 by
    # count alone, and which way 250 steps at a constant rate leaned changed with the machine's numerics (it
    # named T1 'C7' in CI). Decaying the rate to zero ends on a settled model: 10 of 10 seeds passed.
    torch.manual_seed(0)
    ds = SimulatedChainDataset(str(_coco(tmp_path)), repeats=1, p_extra=0.6, p_miss_end=0.0)
    model = LevelChainModel(hidden=32)
    steps = 300
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for step in range(steps):
        batch = [ds[(step * 4 + j) % len(ds)] for j in range(4)]
        loss = model([b['inputs'] for b in batch], {'labels': [b['data_samples']['labels'] for b in batch]},
                     mode='loss')['loss_level']
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
    model.eval()
    clean = column(17)
    names, conf = model.name_levels(detection_features(clean, 1200))
    assert names == CHAIN_LEVELS[1:18] and conf.shape == (17,)
    c7 = VertebraInput({n: (x, y - 52.0) for n, (x, y) in clean[0].points.items()}, 0.5)
    names, _ = model.name_levels(detection_features([c7] + clean, 1200))
    assert names[0] in (None, 'C7') and names[1:] == CHAIN_LEVELS[1:18]
    assert len(CHAIN_CLASSES) == len(CHAIN_LEVELS) + 1


def _result(v, score=0.9, dy=0.0):
    return {'image_id': 7, 'file_name': 'films/0.png', 'category_id': 1, 'bbox': [0, 0, 1, 1], 'score': score,
            'keypoints': [c for n in CORNERS for c in (v.points[n][0], v.points[n][1] + dy, 1.0)]}


def test_the_detectors_own_films_are_labelled_by_the_true_vertebra_each_detection_pairs_with(tmp_path):
    from spinekey.models.level_chain.simulated_chains import detected_films
    from spinekey.models.level_chain.level_chain_model import classes_of
    coco_path = _coco(tmp_path, films=1)  # T1..L5 on 0.png, 1200 px tall
    truth = column(17, top=60.0)
    # T1, T2, T3, T5 found; a box straddling T2 and T3 (IoU 0.14 / 0.29); T4 found under the score threshold;
    # the results name the film by a path of their own (paired by base name)
    results = [_result(truth[i]) for i in (0, 1, 2, 4)] + [_result(truth[1], 0.5, dy=30.0), _result(truth[3], 0.1)]
    (tmp_path / 'results.json').write_text(json.dumps(results))
    films = detected_films(json.loads(coco_path.read_text()), str(tmp_path / 'results.json'))
    assert len(films) == 1
    height, ordered, names = films[0]
    assert height == 1200 and names == ['T1', 'T2', None, 'T3', 'T5']
    ds = SimulatedChainDataset(str(coco_path), repeats=1, detections=str(tmp_path / 'results.json'), p_detections=1.0)
    item = ds[0]
    assert item['data_samples']['labels'].tolist() == classes_of(names) and item['inputs'].shape[0] == 5


def test_detections_of_other_films_are_one_line(tmp_path):
    from spinekey.utils.errors import SpineKeyError
    coco_path = _coco(tmp_path, films=1)
    other = dict(_result(column(1)[0]), file_name='elsewhere.png')
    (tmp_path / 'results.json').write_text(json.dumps([other]))
    with pytest.raises(SpineKeyError, match='no detections with corners on the films of'):
        SimulatedChainDataset(str(coco_path), detections=str(tmp_path / 'results.json'))


@pytest.mark.parametrize('films', ['none', 'one', 'forty', 'one_side', 'turned', 'overlapping'])
def test_odd_films_give_a_chain_never_an_exception(films, tmp_path):
    from spinekey.apis.level_chain import LevelChain
    model = LevelChainModel(hidden=8)
    (tmp_path / 'chain.py').write_text("default_scope = 'mmdet'\nmodel = dict(type='LevelChainModel', hidden=8)\n")
    torch.save({'state_dict': model.state_dict()}, tmp_path / 'chain.pth')
    chain = LevelChain(str(tmp_path / 'chain.py'), str(tmp_path / 'chain.pth'))
    spine = {'none': [], 'one': column(1), 'forty': column(40, height=20.0, gap=4.0),
             'one_side': [v for v in column(17) if v.centre()[0] > 300],
             'turned': [VertebraInput({n: (p[1], p[0]) for n, p in v.points.items()}, 0.9) for v in column(17)],
             'overlapping': column(17) + column(17)}[films]
    result = chain.apply(spine, 1200)
    found = [v for i, v in enumerate(result.vertebrae) if i not in result.filled]
    assert len(found) + len(result.dropped) == len(spine)
    assert all(v.score == 0.0 for i, v in enumerate(result.vertebrae) if i in result.filled)  # marked, never found
    labels = [v.label for v in result.vertebrae]
    assert len(set(labels)) == len(labels)  # one vertebra per level
