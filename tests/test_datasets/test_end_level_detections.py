"""End-level examples framed on stage 1's own detections: each detection named by the annotated level it sits on
(or as the level past an end), the dataset framing a class on its detection, and bad results files refused."""
import json

import cv2
import numpy as np
import pytest

from spinekey.datasets.end_level_patches import EndLevelPatchDataset, detection_examples, name_detections
from spinekey.datasets.patch_geometry import cut_patch, vertebra_frame
from spinekey.structures.levels import END_LEVEL_CLASSES
from spinekey.structures.vertebra import CORNERS
from spinekey.utils.errors import SpineKeyError
from tests.test_measurement.test_chain import column

AASCE = [f'T{i}' for i in range(1, 13)] + [f'L{i}' for i in range(1, 6)]
SPACING = 52.0  # column(): 40 px tall vertebrae 12 px apart


def _columns(top):
    return {lv: np.array([v.points[n] for n in CORNERS]) for lv, v in zip(AASCE, column(17, top=top))}


def test_detections_are_named_by_the_level_they_sit_on():
    col = _columns(top=200.0)
    up = np.array([0.0, SPACING])
    detections = [col['T1'] + [10.0, 0.0],      # 10 px off T1's centre: under half a spacing
                  col['T1'] - up,               # one spacing above T1: a C7
                  col['L5'] + up,               # one spacing below L5: a sacral segment
                  col['T1'] - 3 * up,           # three spacings above: past the band, not named
                  col['T6'] + [200.0, 0.0],     # a stray beside the column
                  col['L3'] + [0.0, 20.0]]      # 20 px of a 52 px spacing: still L3
    assert name_detections(col, detections) == ['T1', 'above', 'below', None, None, 'L3']


def test_end_examples_from_detections_keep_the_nearest_of_a_duplicate():
    col = _columns(top=200.0)
    up = np.array([0.0, SPACING])
    near, far = col['L5'] + [3.0, 0.0], col['L5'] + [15.0, 0.0]
    examples = detection_examples(col, [far, near, col['T6'], col['T1'] - up])
    assert set(examples) == {END_LEVEL_CLASSES.index('L5'), END_LEVEL_CLASSES.index('above_T1')}  # T6: no class
    np.testing.assert_allclose(examples[END_LEVEL_CLASSES.index('L5')], near)


def _film(tmp_path, top):
    film = np.full((1200, 800), 40, np.uint8)
    anns = []
    for k, v in enumerate(column(17, top=top)):
        q = np.array([v.points[n] for n in CORNERS], np.int32)
        cv2.fillPoly(film, [q], 200)
        anns.append({'id': k, 'image_id': 7, 'category_id': 1, 'bbox': [0, 0, 1, 1], 'label': AASCE[k],
                     'keypoints': [c for n in CORNERS for c in (*v.points[n], 2)]})
    cv2.imwrite(str(tmp_path / 'film one.png'), film)
    gt = tmp_path / 'gt.json'
    gt.write_text(json.dumps({'images': [{'id': 7, 'file_name': 'film one.png', 'width': 800, 'height': 1200}],
                              'annotations': anns,
                              'categories': [{'id': 1, 'name': 'v', 'keypoints': list(CORNERS)}]}))
    return gt


def _results(tmp_path, boxes, image_id=7, file_name='film one.png', k=4):
    rows = [{'image_id': image_id, 'file_name': file_name, 'category_id': 1, 'score': s, 'bbox': [0, 0, 1, 1],
             'keypoints': [c for p in corners[:k] for c in (*p, 1.0)]} for corners, s in boxes]
    path = tmp_path / 'results.json'
    path.write_text(json.dumps(rows))
    return path


def test_the_dataset_frames_a_class_on_stage_1s_detection(tmp_path):
    gt = _film(tmp_path, top=20.0)  # one level above T1 falls off the film: the annotation cannot place a C7
    col = _columns(top=20.0)
    c7 = col['T1'] - [0.0, 30.0]     # stage 1's box for a C7 cut by the film's top edge
    l5 = col['L5'] + [4.0, -3.0]
    faint = col['T2'] + [2.0, 0.0]
    results = _results(tmp_path, [(c7, 0.2), (l5, 0.9), (faint, 0.01)])
    plain = EndLevelPatchDataset(str(gt), img_prefix=str(tmp_path), patch_size=64, test_mode=True)
    ds = EndLevelPatchDataset(str(gt), img_prefix=str(tmp_path), patch_size=64, test_mode=True,
                              detections=[str(results)], detection_share=1.0, detection_score_thr=0.05)
    above, l5_cls = END_LEVEL_CLASSES.index('above_T1'), END_LEVEL_CLASSES.index('L5')
    assert plain.class_counts()[above] == 0 and ds.class_counts()[above] == 1
    assert ds.detection_counts().tolist() == [int(c in (above, l5_cls)) for c in range(8)]  # the faint T2 left out
    item = ds[0]
    labels = item['data_samples']['labels'].tolist()
    assert labels == list(range(8))
    film = cv2.imread(str(tmp_path / 'film one.png'), cv2.IMREAD_GRAYSCALE)
    for cls, corners in ((above, c7), (l5_cls, l5)):
        expected = cut_patch(film, vertebra_frame(corners, CORNERS, 64, ds.context))
        np.testing.assert_array_equal(item['inputs'][labels.index(cls), 0].numpy(), expected)
    # detection_share 0: the annotation frames every class it can place, the detection only the C7
    none = EndLevelPatchDataset(str(gt), img_prefix=str(tmp_path), patch_size=64, test_mode=True,
                                detections=[str(results)], detection_share=0.0)
    item0 = none[0]
    labels0 = item0['data_samples']['labels'].tolist()
    np.testing.assert_array_equal(item0['inputs'][labels0.index(above), 0].numpy(),
                                  item['inputs'][labels.index(above), 0].numpy())
    assert not np.array_equal(item0['inputs'][labels0.index(l5_cls), 0].numpy(),
                              item['inputs'][labels.index(l5_cls), 0].numpy())


@pytest.mark.parametrize('case, message', [
    ('numbered otherwise', 'number the films differently'),
    ('another film', 'not in the ground truth'),
    ('another K', 'another keypoint set'),
    ('bad share', 'detection_share'),
    ('missing file', 'not found|No such file|does not exist'),
])
def test_bad_detections_are_one_clear_line(tmp_path, case, message):
    gt = _film(tmp_path, top=200.0)
    t1 = _columns(200.0)['T1']
    kwargs = dict(detection_share=0.5)
    if case == 'numbered otherwise':
        results = _results(tmp_path, [(t1, 0.9)], image_id=3)
    elif case == 'another film':
        results = _results(tmp_path, [(t1, 0.9)], image_id=3, file_name='other.png')
    elif case == 'another K':
        results = _results(tmp_path, [(t1, 0.9)], k=3)
    elif case == 'bad share':
        results, kwargs = _results(tmp_path, [(t1, 0.9)]), dict(detection_share=1.5)
    else:
        results = tmp_path / 'no such results.json'
    with pytest.raises(SpineKeyError, match=message):
        EndLevelPatchDataset(str(gt), img_prefix=str(tmp_path), detections=[str(results)], **kwargs)


def test_a_detection_without_corners_is_left_out(tmp_path):
    gt = _film(tmp_path, top=200.0)
    path = _results(tmp_path, [(_columns(200.0)['L5'], 0.9)])
    rows = json.loads(path.read_text()) + [{'image_id': 7, 'file_name': 'film one.png', 'category_id': 1,
                                            'score': 0.9, 'bbox': [0, 0, 1, 1], 'keypoints': []}]
    path.write_text(json.dumps(rows))
    ds = EndLevelPatchDataset(str(gt), img_prefix=str(tmp_path), detections=[str(path)])
    assert ds.detection_counts().tolist() == [int(c == END_LEVEL_CLASSES.index('L5')) for c in range(8)]


def test_past_the_end_of_a_column_without_t1_is_not_taken_for_the_level_above_t1():
    """A film annotated T2..L5: a detection one spacing above T2 is T1, not a C7; it names no class (and the
    annotation's missing T1 raises nothing)."""
    col = _columns(top=200.0)
    t1 = col.pop('T1')
    examples = detection_examples(col, [t1, col['L5']])
    assert END_LEVEL_CLASSES.index('above_T1') not in examples
    assert set(examples) == {END_LEVEL_CLASSES.index('L5')}
