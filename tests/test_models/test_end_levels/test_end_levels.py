"""The end-level classifier: the column-end reading worked by hand, the training examples (one level past each
end extrapolated, off the film left out), a tiny classifier that learns two classes, and the reading applied to
a film's detections (a C7 dropped, a missed T1 sent to review), never an exception on odd films."""
import json
import math

import cv2
import numpy as np
import pytest
import torch

from spinekey.apis.end_levels import EndLevels
from spinekey.datasets.end_level_patches import EndLevelPatchDataset, end_level_examples
from spinekey.models.end_levels import EndLevelClassifier, read_column_ends
from spinekey.structures.levels import END_LEVEL_CLASSES
from spinekey.structures.vertebra import CORNERS
from tests.test_measurement.test_chain import column

AASCE = [f'T{i}' for i in range(1, 13)] + [f'L{i}' for i in range(1, 6)]


def _probs(rows):
    """(3, 4) from {row: class index with 0.7}, the rest 0.1 each."""
    p = np.full((3, 4), 0.1)
    for j, c in enumerate(rows):
        p[j, c] = 0.7
    return p


def test_reading_worked_by_hand():
    # 18 detections; the top three read C7, T1, T2 and the bottom three (caudal first) L5, L4, L3
    top, bottom = _probs([0, 1, 2]), _probs([2, 1, 0])
    ends = read_column_ends(top, bottom, 18, count_penalty=1.0, end_prior=0.5)
    assert (ends.top, ends.bottom, ends.unexplained, ends.trim_top, ends.trim_bottom) == (-1, 0, 0, 1, 0)
    # its log-likelihood: three 0.7s at each end, minus the prior for the top end read as C7
    assert ends.log_likelihood == pytest.approx(6 * math.log(0.7) - 0.5)
    # the runner-up (o = 0: the first detection T1, the 18th would be a doubled level): 0.1 * 0.1 * 0.1 at the
    # top (C7 read as T1, T1 as T2, T2 as T3) and one unexplained detection
    runner_up = 3 * math.log(0.1) + 3 * math.log(0.7) - 1.0
    assert ends.log_likelihood > runner_up
    # 17 detections read C7, T1, T2 at the top and L4, L3, L3 at the bottom (caudal first): the column shifted up
    # by one as a whole, charged the prior once (4 nats), not at each end
    ends = read_column_ends(top, _probs([1, 0, 0]), 17, count_penalty=1.0, end_prior=4.0)
    assert (ends.top, ends.bottom, ends.unexplained) == (-1, -1, 0)
    assert ends.log_likelihood == pytest.approx(6 * math.log(0.7) - 4.0)


def test_when_the_images_cannot_tell_the_count_and_the_prior_keep_the_column():
    flat = np.full((3, 4), 0.25)
    ends = read_column_ends(flat, flat, 17)
    assert (ends.top, ends.bottom, ends.unexplained) == (0, 0, 0)
    # T1 missed: 16 detections whose top reads T2, T3, T3 -> the top end is T2, nothing is trimmed
    ends = read_column_ends(_probs([2, 3, 3]), _probs([2, 1, 0]), 16)
    assert (ends.top, ends.bottom, ends.unexplained, ends.trim_top) == (1, 0, 0, 0)
    assert read_column_ends(flat, flat, 5) is None  # the two ends would overlap


def test_examples_extrapolate_one_level_past_each_end_and_leave_out_what_is_off_the_film():
    col = {lv: np.array([v.points[n] for n in CORNERS]) for lv, v in zip(AASCE, column(17, top=100.0))}
    examples = dict(end_level_examples(col, 800, 1200))
    above = examples[END_LEVEL_CLASSES.index('above_T1')]
    np.testing.assert_allclose(above, col['T1'] + (col['T1'].mean(0) - col['T2'].mean(0)))
    assert set(examples) == set(range(8))
    # the column starts 20 px from the top: one level above T1 (52 px up) is off the film
    col = {lv: np.array([v.points[n] for n in CORNERS]) for lv, v in zip(AASCE, column(17, top=20.0))}
    assert END_LEVEL_CLASSES.index('above_T1') not in dict(end_level_examples(col, 800, 1200))


def _film_and_coco(tmp_path, films=2):
    images, anns = [], []
    for f in range(films):
        film = np.full((1200, 800), 40, np.uint8)
        for k, v in enumerate(column(17, top=120.0)):
            q = np.array([v.points[n] for n in CORNERS], np.int32)
            cv2.fillPoly(film, [q], 200)
            anns.append({'id': len(anns), 'image_id': f, 'category_id': 1, 'bbox': [0, 0, 1, 1], 'label': AASCE[k],
                         'keypoints': [c for n in CORNERS for c in (*v.points[n], 2)]})
        cv2.imwrite(str(tmp_path / f'{f}.png'), film)
        images.append({'id': f, 'file_name': f'{f}.png', 'width': 800, 'height': 1200})
    path = tmp_path / 'spines.json'
    path.write_text(json.dumps({'images': images, 'annotations': anns,
                                'categories': [{'id': 1, 'name': 'v', 'keypoints': list(CORNERS)}]}))
    return path


def test_dataset_gives_one_patch_per_end_example(tmp_path):
    ds = EndLevelPatchDataset(str(_film_and_coco(tmp_path)), data_root='', img_prefix=str(tmp_path), patch_size=64,
                              test_mode=True)
    item = ds[0]
    assert item['inputs'].shape == (8, 1, 64, 64) and item['inputs'].dtype == torch.uint8
    assert item['data_samples']['labels'].tolist() == list(range(8))
    assert ds.class_counts().tolist() == [2] * 8
    assert torch.equal(ds[0]['inputs'], item['inputs'])  # test mode: the same simulated errors every time


def test_a_tiny_classifier_learns_two_classes():
    torch.manual_seed(0)
    model = EndLevelClassifier(backbone=dict(type='EfficientNetLite', pretrained=True, frozen_stages=-1,
                                             norm_eval=True, out_indices=(3,)), in_channels=320, dropout=0.0,
                               label_smoothing=0.0)
    model.backbone.drop_connect_rate = 0.0  # no stochastic depth: training and eval read the same network
    patches = torch.zeros(8, 1, 64, 64, dtype=torch.uint8)
    patches[:4, :, ::8] = 220     # horizontal lines: class 1 (T1)
    patches[4:, :, :, ::8] = 220  # vertical lines: class 6 (L5)
    patches += torch.randint(0, 20, patches.shape, dtype=torch.uint8)
    labels = torch.tensor([1] * 4 + [6] * 4)
    opt = torch.optim.Adam(model.parameters(), lr=3e-4)
    model.train()  # as mmengine's loop does: norm_eval then keeps BatchNorm's statistics fixed
    first = None
    for _ in range(15):
        loss = model(patches, {'labels': labels}, mode='loss')['loss_cls']
        first = float(loss) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    probs = model.predict_patches(patches)
    assert float(loss) < 0.3 * first
    assert probs.argmax(1).tolist() == labels.tolist()
    np.testing.assert_allclose(probs.sum(1).numpy(), 1.0, atol=1e-5)


class _ScriptedModel:
    """Stands in for the classifier: the probabilities it is told, in the order EndLevels asks (the first three
    detections cranial first, then the last three caudal first)."""

    def __init__(self, rows):
        self.rows = np.asarray(rows, float)
        self.calls = []

    def predict_patches(self, patches):
        self.calls.append(tuple(patches.shape))
        return torch.as_tensor(self.rows[:len(patches)])


def _end_levels(rows):
    ends = EndLevels.__new__(EndLevels)
    ends.model = _ScriptedModel(rows)
    ends.patch_size, ends.context, ends.count_penalty, ends.max_trim, ends.end_prior = 32, 4.0, 1.0, 2, 0.5
    return ends


def _rows(top, bottom):
    out = np.full((6, 8), 0.02)
    for j, c in enumerate(top + bottom):
        out[j, c] = 0.86
    return out


def test_apply_drops_a_c7_and_labels_the_column():
    spine = column(18, top=80.0)
    ends = _end_levels(_rows([0, 1, 2], [6, 5, 4]))  # C7, T1, T2 | L5, L4, L3
    result = ends.apply(spine, np.zeros((1200, 800), np.uint8))
    assert ends.model.calls == [(6, 1, 32, 32)]
    assert list(result.dropped) == [0] and 'above T1' in result.dropped[0]
    assert [v.label for v in result.vertebrae] == AASCE and not result.missing
    assert result.vertebrae[0].points == spine[1].points  # found corners never move


def test_apply_names_a_missed_t1_and_measuring_sends_the_film_to_review():
    from spinekey.apis.measuring import measure_film
    from spinekey.measurement.options import MeasureOptions
    from spinekey.structures.vertebra import ImageInput
    spine = column(16, top=80.0)
    ends = _end_levels(_rows([2, 3, 3], [6, 5, 4]))  # T2, T3, T3 | L5, L4, L3
    result = ends.apply(spine, np.zeros((1200, 800), np.uint8))
    assert result.missing == ['T1'] and not result.dropped
    assert [v.label for v in result.vertebrae] == AASCE[1:]
    im = ImageInput(image_id=1, file_name='f.png', width=800, height=1200, vertebrae=spine)
    film = measure_film(im, MeasureOptions(anterior='left', aasce=True, end_levels=ends, unc_samples=0),
                        gray=np.zeros((1200, 800), np.uint8))
    assert film.image['qc_status'] == 'review'
    assert 'end_level_missing: T1 not found (the top detection reads as T2)' in film.image['qc_reasons']
    assert film.vertebrae[0]['level'] == 'T2'


def test_apply_names_a_missed_l5():
    spine = column(16, top=80.0)
    result = _end_levels(_rows([1, 2, 3], [5, 4, 4])).apply(spine, np.zeros((1200, 800), np.uint8))  # ... | L4, L3, L3
    assert result.missing == ['L5'] and (result.ends.top, result.ends.bottom) == (0, -1)
    assert [v.label for v in result.vertebrae] == AASCE[:-1]


@pytest.mark.parametrize('count', [0, 1, 5])
def test_too_few_detections_leave_the_column_as_it_is(count):
    spine = column(count) if count else []
    result = _end_levels(_rows([1, 2, 3], [6, 5, 4])).apply(spine, np.zeros((1200, 800), np.uint8))
    assert result.vertebrae == spine and not result.dropped and 'end levels not read' in result.note


def test_a_nan_corner_is_left_out_of_the_reading_not_an_exception():
    from dataclasses import replace
    spine = column(18, top=80.0)
    spine[5] = replace(spine[5], points=dict(spine[5].points, top_left=(float('nan'), 1.0)))
    result = _end_levels(_rows([0, 1, 2], [6, 5, 4])).apply(spine, np.zeros((1200, 800), np.uint8))
    assert list(result.dropped) == [0] and len(result.vertebrae) == 17
    assert result.vertebrae[-1] is spine[5]  # kept, unread, after the column


def test_no_image_leaves_the_column_and_says_so():
    result = _end_levels(_rows([0, 1, 2], [6, 5, 4])).apply(column(18), None)
    assert len(result.vertebrae) == 18 and result.note == 'end levels not read: no image'


def test_a_checkpoint_for_other_classes_is_one_clear_line(tmp_path):
    from mmengine.config import Config

    from spinekey.utils.errors import SpineKeyError
    cfg = Config.fromfile('configs/end_levels/end-levels_lite0_6e_aasce_cpu.py')
    cfg.model.backbone.pretrained = False
    path = tmp_path / 'end.py'
    cfg.dump(str(path))
    import spinekey  # noqa: F401
    from mmdet.registry import MODELS
    model = MODELS.build(cfg.model)
    ckpt = tmp_path / 'end.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {'dataset_meta': {'end_level_classes': ['a', 'b']}}}, ckpt)
    with pytest.raises(SpineKeyError, match='trained for the classes'):
        EndLevels(str(path), str(ckpt))
    torch.save({'state_dict': model.state_dict(),
                'meta': {'dataset_meta': {'end_level_classes': list(END_LEVEL_CLASSES)}}}, ckpt)
    assert EndLevels(str(path), str(ckpt)).patch_size == 128
    with pytest.raises(SpineKeyError, match='not an end-level config'):
        EndLevels('configs/level_chain/level-chain_bigru_30e_aasce.py', str(ckpt))


def test_the_check_on_annotations_counts_the_readings(tmp_path):
    from spinekey.apis.end_levels import check_on_annotations
    ann = _film_and_coco(tmp_path, films=3)
    # above, T1, T2, T3, T4 (reads T3), L2 (reads L3), L3, L4, L5, below
    wanted_classes = [0, 1, 2, 3, 3, 4, 4, 5, 6, 7]
    perfect = np.eye(8)[wanted_classes] * 0.93 + 0.01
    ends = _end_levels(perfect)
    ends.probabilities = lambda vertebrae, film: perfect[:len(vertebrae)]
    result = check_on_annotations(ends, str(ann), str(tmp_path), progress=False, end_priors=[0.5, 50.0])
    assert result['films'] == 3
    assert all(s['right'] == s['films'] == 3 for s in result['scenarios'].values())
    # a prior of 50 nats never moves an end: only the clean column reads right (balanced: 1/2)
    assert [row['balanced'] for row in result['by_end_prior']] == [1.0, 0.5]
    assert set(result['class_accuracy'].values()) == {1.0}
    # a classifier that calls every top vertebra T1 and every bottom one L5 says nothing about which one is T1: the
    # count then finds an extra level (18 detections) but not at which end (the two readings tie: one scenario
    # of the two reads right), and a missed T1 or L5 (16) reads as a level missed inside the column
    lazy = np.tile(np.eye(8)[1] + np.eye(8)[6], (10, 1)) * 0.45 + 0.0125
    ends.probabilities = lambda vertebrae, film: lazy[:len(vertebrae)]
    result = check_on_annotations(ends, str(ann), str(tmp_path), progress=False)
    right = {k: s['right'] for k, s in result['scenarios'].items()}
    assert (right['clean T1-L5'], right['T1 missed'], right['L5 missed']) == (3, 0, 0)
    assert right['shifted up (C7..L4)'] == right['shifted down (T2..S1)'] == 0  # 17: the count sees nothing
    assert right['extra above T1'] + right['extra below L5'] == 3
    assert result['class_accuracy']['T1'] == 1.0 and result['class_accuracy']['T2'] == 0.0


def test_measure_run_with_an_end_level_checkpoint(tmp_path):
    """The flags' path: options_from_files builds the classifier from a config and checkpoint, measure_run cuts
    its patches from the films in images_dir; a film keeps at most two fewer vertebrae at each end."""
    from mmengine.config import Config

    import spinekey  # noqa: F401
    from mmdet.registry import MODELS
    from spinekey.apis.measure_run import measure_run, options_from_files
    from spinekey.measurement.options import MeasureOptions
    ann = _film_and_coco(tmp_path, films=2)
    cfg = Config.fromfile('configs/end_levels/end-levels_lite0_6e_aasce_cpu.py')
    cfg.model.backbone.pretrained = False
    cfg.dump(str(tmp_path / 'end.py'))
    ckpt = tmp_path / 'end.pth'
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict()}, ckpt)
    options = options_from_files(MeasureOptions(anterior='left', aasce=True, unc_samples=0),
                                 end_levels_config=str(tmp_path / 'end.py'), end_levels_checkpoint=str(ckpt))
    run = measure_run(str(ann), str(tmp_path / 'out'), options, images_dir=str(tmp_path))
    assert run.n_images == 2 and 2 * 13 <= run.n_vertebrae <= 2 * 17
