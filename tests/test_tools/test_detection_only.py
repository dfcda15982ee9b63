"""A detection-only, multi-class dataset trains the same Cascade Mask R-CNN without the keypoint branch, and
evaluation reports AP per class."""
import json
import os

import pytest

from spinekey.evaluation.evaluate import evaluate, format_report
from tests.conftest import DEMO_CONFIG, run_tool

CLASSES = [{'id': 1, 'name': 'normal'}, {'id': 2, 'name': 'wedged'}, {'id': 3, 'name': 'slipped'}]


def make_multiclass(synthetic_dir, out_dir, split):
    """The synthetic vertebrae as three lesion classes (Genant >= 1 -> wedged, a slip -> slipped), no keypoints."""
    truth = json.load(open(os.path.join(synthetic_dir, 'truth.json')))['images']
    coco = json.load(open(os.path.join(synthetic_dir, f'det_{split}.json')))
    names = {im['id']: im['file_name'] for im in coco['images']}
    for ann in coco['annotations']:
        t = {v['level']: v for v in truth[names[ann['image_id']]]['vertebrae']}[ann['label']]
        ann['category_id'] = 3 if t['meyerding_grade'] else 2 if t['genant_grade'] else 1
        for key in ('keypoints', 'num_keypoints'):
            ann.pop(key)
    coco['categories'] = CLASSES
    path = os.path.join(out_dir, f'lesions_{split}.json')
    json.dump(coco, open(path, 'w'))
    return coco, path


def test_per_class_ap_is_one_for_perfect_and_zero_for_a_missed_class(synthetic_dir, tmp_path):
    gt, _ = make_multiclass(synthetic_dir, str(tmp_path), 'train')
    results = [{'image_id': a['image_id'], 'category_id': a['category_id'], 'bbox': a['bbox'], 'score': 0.9}
               for a in gt['annotations']]
    present = {a['category_id'] for a in gt['annotations']}
    m = evaluate(gt, results)
    assert m['task'] == 'detection' and 'PCK@0.1' not in m
    assert all(m['per_class'][c['name']]['AP'] == pytest.approx(1.0) for c in CLASSES if c['id'] in present)
    missing = [r for r in results if r['category_id'] != 1]
    m2 = evaluate(gt, missing)
    assert m2['per_class']['normal']['AP'] == 0.0 and m2['per_class']['normal']['n_gt'] > 0
    assert 'normal' in format_report(m2)


def test_trains_and_evaluates_a_few_iterations(synthetic_dir, tmp_path):
    _, train = make_multiclass(synthetic_dir, synthetic_dir, 'train')
    _, val = make_multiclass(synthetic_dir, synthetic_dir, 'val')
    work = tmp_path / 'work'
    proc = run_tool('tools/train.py', DEMO_CONFIG, '--work-dir', str(work), '--cfg-options',
                    'train_cfg.max_epochs=1', 'train_cfg.val_interval=100', 'train_dataloader.batch_size=2',
                    'train_dataloader.dataset.indices=4',  # 2 steps: enough to save a detection-only checkpoint
                    'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
                    f'train_dataloader.dataset.data_root={synthetic_dir}/',
                    'train_dataloader.dataset.ann_file=lesions_train.json',
                    f'val_dataloader.dataset.data_root={synthetic_dir}/',
                    'val_dataloader.dataset.ann_file=lesions_val.json')
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'no keypoints' in (proc.stdout + proc.stderr) or 'detection-only' in (proc.stdout + proc.stderr)
    ckpt = open(work / 'last_checkpoint').read().strip()
    res = tmp_path / 'results.json'
    infer = run_tool('tools/infer.py', '--config', DEMO_CONFIG, '--checkpoint', ckpt, '--ann-file', val,
                     '--img-prefix', synthetic_dir, '--out', str(res), '--device', 'cpu', '--score-thr', '0.0')
    assert infer.returncode == 0, infer.stderr[-2000:]
    results = json.loads(res.read_text())
    assert results and all('keypoints' not in r for r in results)
    assert {r['category_id'] for r in results} <= {1, 2, 3}
    ev = run_tool('tools/evaluate_keypoints.py', '--gt_file', val, '--result_file', str(res), '--output',
                  str(tmp_path / 'report.txt'), '--score_thr', '0.0')
    assert ev.returncode == 0, ev.stderr
    metrics = json.load(open(tmp_path / 'metrics.json'))
    assert set(metrics['per_class']) == {'normal', 'wedged', 'slipped'}
    assert 'bbox AP50' in (tmp_path / 'report.txt').read_text()
