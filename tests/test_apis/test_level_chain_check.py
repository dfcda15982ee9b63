"""Checking a level chain on a detector's output (spinekey.apis.level_chain.check_on_detections): the counts
worked by hand on two films whose chain is given, and tools/check_level_chain.py end to end on a synthetic set
with its column ends."""
import json
import subprocess
import sys
from dataclasses import replace

import pytest
import torch

from spinekey.apis.level_chain import LevelChainResult, check_on_detections
from spinekey.measurement.chain import interpolate_vertebra
from spinekey.structures.vertebra import ImageInput, VertebraInput
from spinekey.utils.errors import SpineKeyError
from tests.test_measurement.test_chain import column


class GivenChain:
    """Stands for LevelChain: returns the planned result of each film in turn, built from what it is given."""

    def __init__(self, plans):
        self.plans = list(plans)

    def apply(self, vertebrae, film_height=None):
        return self.plans.pop(0)(vertebrae)


def _named(found, names):
    return [replace(v, label=n) for v, n in zip(found, names)]


def test_counts_by_hand():
    truth = [replace(v, label=f'T{i + 1}', score=None) for i, v in enumerate(column(5))]
    stray = VertebraInput({n: (x + 400, y) for n, (x, y) in truth[2].points.items()}, 0.4)
    found = [truth[i] for i in (0, 1, 2, 4)] + [stray]  # T4 missed, a stray beside T3
    found = [replace(v, label=None, score=0.9) for v in found[:4]] + [stray]

    def right(vs):  # names T1, T2, T3, T5, fills T4 between T3 and T5, drops the stray
        t1, t2, t3, t5 = _named(vs[:4], ['T1', 'T2', 'T3', 'T5'])
        return LevelChainResult([t1, t2, t3, interpolate_vertebra(t3, t5, 0.5, 'T4'), t5], filled=[3],
                                dropped={4: 'not a vertebra (level chain)'})

    def one_low(vs):  # a level low at the top, T5 dropped, the stray kept as T5
        return LevelChainResult(_named(vs[:3], ['T2', 'T3', 'T4']) + _named(vs[4:], ['T5']),
                                dropped={3: 'not a vertebra (level chain)'})

    films = [ImageInput(i, f'films/{i}.png', 800, 1200, vertebrae=truth) for i in (1, 2)]
    preds = [ImageInput(i, f'{i}.png', vertebrae=list(found)) for i in (1, 2)]  # results naming them bare
    out = check_on_detections(GivenChain([right, one_low]), films, preds)
    s = out['summary']
    # film 1: 4 kept, all right, T4 filled where the true T4 is; film 2: 4 kept (3 a level low, the stray), none
    # right, the true T5 dropped
    assert (s['kept'], s['kept_right'], s['true_dropped'], s['filled'], s['filled_right']) == (8, 4, 1, 1, 1)
    assert s['level_accuracy'] == 0.5 and s['films_all_right'] == 0.5 and s['films'] == 2
    assert out['films'][1]['levels'] == ['T2', 'T3', 'T4', 'T5']


def test_a_film_without_results_counts_nothing_kept():
    truth = [replace(v, label=f'L{i + 1}') for i, v in enumerate(column(5))]
    films = [ImageInput(1, 'a/1.png', vertebrae=truth), ImageInput(2, 'a/2.png', vertebrae=truth)]
    out = check_on_detections(GivenChain([lambda vs: LevelChainResult(list(vs))] * 2), films,
                              [ImageInput(2, 'b/2.png', vertebrae=truth)])  # film 2's results only
    assert [(f['detected'], f['kept'], f['kept_right']) for f in out['films']] == [(0, 0, 0), (5, 5, 5)]


def test_results_of_other_films_are_one_line():
    truth = [replace(v, label=f'L{i + 1}') for i, v in enumerate(column(5))]
    with pytest.raises(SpineKeyError, match='the results name none of the annotated films'):
        check_on_detections(GivenChain([]), [ImageInput(1, 'a/1.png', vertebrae=truth)],
                            [ImageInput(2, 'b/other.png', vertebrae=truth)])


@pytest.fixture(scope='module')
def ends_set(tmp_path_factory):
    from spinekey.datasets.synthetic import SyntheticSpec, write_dataset
    from spinekey.models.level_chain import LevelChainModel
    root = tmp_path_factory.mktemp('ends')
    write_dataset(str(root), 12, SyntheticSpec(column_ends=True, min_vertebrae=8, max_vertebrae=19, height=640),
                  seed=5)
    (root / 'chain.py').write_text(
        "default_scope = 'mmdet'\nmodel = dict(type='LevelChainModel', hidden=8)\n"
        "train_dataloader = dict(dataset=dict(type='SimulatedChainDataset', ann_file='det_train.json', "
        "p_miss=0.1, p_extra=0.0))\n")
    torch.manual_seed(0)
    torch.save({'state_dict': LevelChainModel(hidden=8).state_dict()}, root / 'chain.pth')
    return root


def test_check_level_chain_tool_end_to_end(ends_set):
    gt = json.loads((ends_set / 'det_train.json').read_text())
    cat = gt['categories'][0]
    # a detector that found every annotated vertebra (a results.json written from the annotations)
    results = [{'image_id': a['image_id'], 'file_name': next(im['file_name'] for im in gt['images']
                                                             if im['id'] == a['image_id']),
                'category_id': 1, 'bbox': a['bbox'], 'score': 0.9, 'keypoints': a['keypoints']}
               for a in gt['annotations']]
    (ends_set / 'results.json').write_text(json.dumps(results))
    out = ends_set / 'check.json'
    run = subprocess.run([sys.executable, 'tools/check_level_chain.py', '--config', str(ends_set / 'chain.py'),
                          '--checkpoint', str(ends_set / 'chain.pth'), '--ann-file', str(ends_set / 'det_train.json'),
                          '--results', str(ends_set / 'results.json'), '--draws', '1', '--out', str(out)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    report = json.loads(out.read_text())
    assert report['simulated']['films'] == len(gt['images'])
    films = report['detections']['films']
    assert len(films) == len(gt['images']) and len(cat['keypoints']) == 4
    assert all(f['detected'] == f['true'] and f['kept'] + f['true_dropped'] == f['detected'] for f in films)
    assert 'levels named right' in run.stdout


def test_check_level_chain_tool_refuses_bad_draws(ends_set):
    run = subprocess.run([sys.executable, 'tools/check_level_chain.py', '--config', str(ends_set / 'chain.py'),
                          '--checkpoint', str(ends_set / 'chain.pth'), '--ann-file', str(ends_set / 'det_train.json'),
                          '--draws', '0', '--out', str(ends_set / 'x.json')], capture_output=True, text=True)
    assert run.returncode != 0 and '--draws must be 1 or more' in run.stderr and 'Traceback' not in run.stderr
