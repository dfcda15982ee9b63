"""Predictions out to labelme and back through convert_dataset: the same keypoints (0.01 px) and levels."""
import json
import os

import numpy as np
import pytest

from tests.conftest import run_tool


@pytest.fixture
def predictions(synthetic_dir, tmp_path):
    """The GT of det_train.json as results (keypoint score 0.9); the first vertebra scored low (0.4)."""
    gt = json.load(open(os.path.join(synthetic_dir, 'det_train.json')))
    names = {im['id']: im['file_name'] for im in gt['images']}
    results = []
    for a in gt['annotations']:
        kps = [v if i % 3 != 2 else 0.9 for i, v in enumerate(a['keypoints'])]
        results.append({'image_id': a['image_id'], 'file_name': names[a['image_id']], 'category_id': 1,
                        'bbox': a['bbox'], 'score': 0.9, 'keypoints': kps})
    results[0]['score'] = 0.4
    path = tmp_path / 'results.json'
    path.write_text(json.dumps(results))
    return gt, results, path


def _key(points):
    return tuple(np.round(np.asarray(points, float).reshape(-1, 3)[:, :2].mean(0), 0))


def test_labelme_round_trip_keeps_keypoints_and_levels(predictions, synthetic_dir, tmp_path):
    gt, results, path = predictions
    out = tmp_path / 'labelme'
    proc = run_tool('tools/export_annotations.py', '--results', str(path), '--to', 'labelme', '--out', str(out),
                    '--images-dir', synthetic_dir, '--bottom-level', 'L5', check=True)
    assert '1 vertebrae marked for review' in proc.stdout
    docs = {f: json.load(open(out / f)) for f in os.listdir(out)}
    assert len(docs) == len(gt['images'])
    flagged = [s for d in docs.values() for s in d['shapes'] if s['flags']['review']]
    assert flagged and all('score 0.40 < 0.5' in s['description'] for s in flagged)
    doc = next(iter(docs.values()))
    assert os.path.isfile(os.path.join(out, doc['imagePath']))  # labelme opens the film beside the JSON
    run_tool('tools/convert_dataset.py', '--from', 'labelme', '--src', str(out), '--out', str(tmp_path / 'back.json'),
             check=True)
    back = json.load(open(tmp_path / 'back.json'))
    # the films are found from the COCO file alone (labelme's imagePath is relative to its JSON's folder)
    assert all(os.path.isfile(im['file_name']) for im in back['images'])
    run_tool('tools/convert_dataset.py', '--from', 'labelme', '--src', str(out), '--out', str(tmp_path / 'rel.json'),
             '--images-dir', synthetic_dir, check=True)
    rel = json.load(open(tmp_path / 'rel.json'))  # with --images-dir: names relative to it, as the GT has them
    assert sorted(im['file_name'] for im in rel['images']) == sorted(im['file_name'] for im in gt['images'])
    assert back['categories'][0]['keypoints'] == gt['categories'][0]['keypoints']
    back_names = {im['id']: os.path.basename(im['file_name']) for im in back['images']}
    gt_names = {im['id']: os.path.basename(im['file_name']) for im in gt['images']}
    expected = {(gt_names[a['image_id']], _key(a['keypoints'])): a for a in gt['annotations']}
    assert len(back['annotations']) == len(expected)
    for a in back['annotations']:
        original = expected[(back_names[a['image_id']], _key(a['keypoints']))]
        np.testing.assert_allclose(np.reshape(a['keypoints'], (-1, 3))[:, :2],
                                   np.reshape(original['keypoints'], (-1, 3))[:, :2], atol=0.01)
        assert a['label'] == original['label']  # every synthetic column ends at L5


def test_coco_export_and_moved_films(predictions, synthetic_dir, tmp_path):
    gt, results, path = predictions
    run_tool('tools/export_annotations.py', '--results', str(path), '--to', 'coco', '--out',
             str(tmp_path / 'cvat.json'), '--images-dir', synthetic_dir, '--bottom-level', 'L5', check=True)
    coco = json.load(open(tmp_path / 'cvat.json'))
    assert len(coco['images']) == len(gt['images']) and len(coco['annotations']) == len(gt['annotations'])
    assert sum('review' in a for a in coco['annotations']) == 1 and all(a['label'] for a in coco['annotations'])
    proc = run_tool('tools/export_annotations.py', '--results', str(path), '--to', 'labelme', '--out',
                    str(tmp_path / 'x'), '--images-dir', str(tmp_path))
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr
    assert f'film(s) not found in {tmp_path} (moved since inference?)' in proc.stderr
