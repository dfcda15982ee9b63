import json

from tests.conftest import run_tool


def test_quick_eval_benchmark_writes_its_table(tmp_path):
    out = tmp_path / 'benchmark.json'
    proc = run_tool('tools/benchmark.py', '--only', 'eval', '--quick', '--out', str(out), check=True)
    report = json.loads(out.read_text())
    row = report['results']['eval']
    assert report['quick'] is True and report['machine']['cpu_count'] >= 1
    assert row['images'] == 500 and row['instances'] == 500 * 17
    assert row['spinekey_keypoint_metrics_s'] > 0 and row['pycocotools_keypoints_s'] > 0
    assert abs(row['speedup_vs_pycocotools'] - row['pycocotools_keypoints_s'] / row['spinekey_keypoint_metrics_s']) \
        < 0.05 * row['speedup_vs_pycocotools'] + 0.1
    assert 'speedup_vs_pycocotools' in proc.stdout


def test_synthetic_results_metrics_are_what_was_injected():
    from spinekey.evaluation.evaluate import evaluate
    from spinekey.evaluation.synthetic_results import make_gt_and_results
    gt, results = make_gt_and_results(200, noise_px=2.0, p_miss=0.1, p_false=0.0)
    m = evaluate(gt, results, coco=False)
    assert abs(m['recall'] - 0.9) < 0.03  # 10% of vertebrae were not predicted
    # isotropic Gaussian noise with sigma 2 per axis: mean distance is sigma * sqrt(pi / 2) = 2.507
    assert abs(m['EPE'] - 2.507) < 0.05
