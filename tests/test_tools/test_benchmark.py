import dataclasses
import json
import os
import shutil

import pytest

from spinekey.utils.errors import SpineKeyError
from tests.conftest import run_tool


def _close(ratio, num, den, digits=3):
    return abs(ratio - round(num / den, digits)) <= 2 * 10 ** -digits + 0.01 * ratio


def test_quick_benchmark_writes_a_consistent_report(tmp_path):
    """The --quick run of the suites that need no trained model and whose workers are cheap: numbers present
    and self-consistent (overhead and scaling, which build eight models, are checked in one process below).

    Timings themselves are not asserted (noisy machines); what is checked is that each ratio is computed from
    the two measurements it names, targets follow from ratios and the sizes/counts asked for were run.
    """
    out = tmp_path / 'benchmark.json'
    proc = run_tool('tools/benchmark.py', '--quick', '--random-weights', '--only', 'batch', 'eval', 'gpu', 'data',
                    '--out', str(out), check=True)
    report = json.loads(out.read_text())
    res = report['results']
    assert report['quick'] is True and report['machine']['cpu_count'] >= 1 and report['checkpoint'] == 'random init'
    assert set(res) == {'batch', 'eval', 'gpu', 'data'}

    data = res['data']  # the demo config's training pipeline: resize and flip between loading and packing
    assert [r['workers'] for r in data['by_workers']] == [0, 1, 2] and all(r['images_per_s'] > 0
                                                                           for r in data['by_workers'])
    assert [r['without'] for r in data['without_transform']] == ['KeypointResize', 'KeypointRandomFlip']
    for r in data['without_transform']:
        assert r['images_per_s'] > 0 and 0 <= r['share_of_time'] <= 1

    b = res['batch']  # its two workers ran in fresh processes (suites.run_worker)
    assert b['images'] == 8 and b['batch1_images_per_s'] > 0 and b['batch1_peak_mb'] > 100
    assert _close(b['speedup'], b['batch4_images_per_s'], b['batch1_images_per_s'])
    assert b['target_met'] == (b['speedup'] >= 1.3)

    e = res['eval']
    assert e['images'] == 500 and e['instances'] == 500 * 17
    assert _close(e['speedup_vs_pycocotools'], e['pycocotools_keypoints_s'], e['spinekey_keypoint_metrics_s'], 2)

    g = res['gpu']  # on a CPU machine the suite says why it did not run; on a GPU its numbers agree
    if 'skipped' in g:
        assert g['skipped'] == 'no CUDA device on this machine (the path runs with --device cuda on a GPU)'
        assert set(g) == {'skipped', 'benchmark_seconds'}
    else:
        assert abs(g['EPE_change_px'] - abs(g['fp16_EPE_px'] - g['fp32_EPE_px'])) <= 1e-3
        assert g['target_met'] == (g['EPE_change_px'] <= 0.1)
        assert _close(g['fp16_infer_speedup'], g['fp32_latency_s'], g['fp16_latency_s'], 2)
    markdown = (tmp_path / 'benchmark.md').read_text()
    assert f"| speedup | {b['speedup']} |" in markdown and '| workers |' in markdown
    assert 'speedup' in proc.stdout


def test_overhead_and_scaling_suites_are_consistent(tmp_path, monkeypatch):
    """bench_overhead and bench_scaling (--quick sizes) with their jobs run in this process instead of eight
    fresh ones (peak memory is then the test process's, so only its presence is checked): ratios come from the
    measurements they name, the sizes/counts asked for were run, and the fixed-detection scaling really ran the
    heads on N boxes per image."""
    from spinekey.benchmarks import suites, worker
    monkeypatch.setattr(suites, 'run_worker', worker.run_job)
    ctx = suites.BenchContext(quick=True, work_dir=str(tmp_path))
    ov = suites.bench_overhead(ctx)
    for variant in ('spinekey', 'no_keypoints'):
        assert ov[f'{variant}_latency_s'] > 0 and ov[f'{variant}_train_step_s'] > 0
        assert ov[f'{variant}_infer_peak_mb'] > 0 and ov[f'{variant}_train_peak_mb'] > 0
    assert _close(ov['latency_ratio'], ov['spinekey_latency_s'], ov['no_keypoints_latency_s'])
    assert _close(ov['train_step_ratio'], ov['spinekey_train_step_s'], ov['no_keypoints_train_step_s'])
    assert ov['target_met'] == (ov['latency_ratio'] <= 1.15)
    # same weights, same images: the plain model finds the same boxes (its heads are the same modules)
    assert ov['spinekey_detections_per_image'] == ov['no_keypoints_detections_per_image']

    scaling = suites.bench_scaling(ctx)
    sizes = scaling['by_size']
    assert [r['long_side'] for r in sizes] == [384, 768] and [r['pixel_ratio'] for r in sizes] == [1.0, 4.0]
    assert _close(sizes[1]['latency_ratio'], sizes[1]['latency_s'], sizes[0]['latency_s'], 2)
    assert all(r['growth'] == suites.growth_flag(r['latency_ratio'], r['pixel_ratio']) for r in sizes)
    counts = scaling['by_vertebrae']
    assert [r['vertebrae'] for r in counts] == [5, 24]
    assert [r['detections_per_image'] for r in counts] == [5.0, 24.0]


def test_a_cpu_job_sees_no_gpu_and_a_cuda_job_does(monkeypatch):
    import subprocess
    from types import SimpleNamespace

    from spinekey.benchmarks import suites
    seen = []

    def fake_run(cmd, env=None, **kwargs):
        seen.append(env)
        return SimpleNamespace(returncode=0, stdout='{"ok": 1}\n', stderr='')
    monkeypatch.setattr(subprocess, 'run', fake_run)
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '0')
    assert suites.run_worker({'job': 'profile', 'device': 'cpu'}) == {'ok': 1}
    assert suites.run_worker({'job': 'profile', 'device': 'cuda'}) == {'ok': 1}
    assert seen[0]['CUDA_VISIBLE_DEVICES'] == '' and seen[1] is None  # None: the parent's environment, GPU 0


def test_plain_cascade_has_no_keypoint_branch_and_same_other_weights():
    import torch

    from spinekey.benchmarks.model_cost import build_model
    from tests.conftest import DEMO_CONFIG
    torch.manual_seed(0)
    ours = build_model(DEMO_CONFIG, None, 'spinekey', 'cpu')
    plain = build_model(DEMO_CONFIG, None, 'no_keypoints', 'cpu', detections=7)
    assert type(plain.roi_head).__name__ == 'CascadeRoIHead' and not hasattr(plain.roi_head, 'keypoint_head')
    assert hasattr(ours.roi_head, 'keypoint_head')
    ours_keys = {k for k in ours.state_dict() if not k.startswith('roi_head.keypoint_')}
    assert ours_keys == set(plain.state_dict())
    assert plain.roi_head.test_cfg.max_per_img == 7 and plain.roi_head.test_cfg.score_thr == 0.0


def test_growth_flag_compares_cost_with_size():
    from spinekey.benchmarks.suites import growth_flag
    assert growth_flag(4.0, 4.0) == 'ok' and growth_flag(5.0, 4.0) == 'ok'
    assert growth_flag(5.1, 4.0) == 'WORSE than linear'


def test_synthetic_results_metrics_are_what_was_injected():
    from spinekey.evaluation.evaluate import evaluate
    from spinekey.evaluation.synthetic_results import make_gt_and_results
    gt, results = make_gt_and_results(200, noise_px=2.0, p_miss=0.1, p_false=0.0)
    m = evaluate(gt, results, coco=False)
    assert abs(m['recall'] - 0.9) < 0.03  # 10% of vertebrae were not predicted
    # isotropic Gaussian noise with sigma 2 per axis: mean distance is sigma * sqrt(pi / 2) = 2.507
    assert abs(m['EPE'] - 2.507) < 0.05


def test_refine_suite_times_stage_1_alone_and_with_the_refiner(trained, refiner_files, tmp_path, monkeypatch):
    """bench_refine (--quick: 3 films) with its two jobs run in this process: both jobs saw the same films and
    exactly the detections asked for (so the refiner had 4 vertebrae a film to re-place), and the ratio is the
    two times it names; without refiner weights it says why it did not run."""
    from spinekey.benchmarks import suites, worker
    monkeypatch.setattr(suites, 'run_worker', worker.run_job)
    ctx = suites.BenchContext(quick=True, work_dir=str(tmp_path), checkpoint=trained['ckpt'], detections=4,
                              refine_config=refiner_files[0], refine_checkpoint=refiner_files[1])
    row = suites.bench_refine(ctx)
    assert row['films'] == 3 and row['films_from'] == 'synthetic benchmark set' and row['test_passes'] == 'none'
    assert row['detections_per_film'] == 4.0 and row['refined_detections_per_film'] == 4.0
    assert row['stage1_s_per_film'] > 0 and row['both_stages_s_per_film'] > 0
    assert _close(row['time_ratio'], row['both_stages_s_per_film'], row['stage1_s_per_film'])
    assert row['target_met'] == (row['time_ratio'] <= 1.5)

    films = tmp_path / 'my films'  # a user's folder of real films: its films are timed, not the synthetic set
    films.mkdir()
    for name in sorted(os.listdir(os.path.join(trained['data'], 'images')))[:2]:
        shutil.copy(os.path.join(trained['data'], 'images', name), films / name)
    row = suites.bench_refine(dataclasses.replace(ctx, films=str(films)))
    assert row['films'] == 2 and row['films_from'] == str(films)
    (tmp_path / 'empty').mkdir()
    with pytest.raises(SpineKeyError, match='no films to time'):
        suites.bench_refine(dataclasses.replace(ctx, films=str(tmp_path / 'empty')))
    assert suites.bench_refine(dataclasses.replace(ctx, refine_checkpoint=None)) == {
        'skipped': 'no refiner weights (make demo trains one; else --refine-config and --refine-checkpoint)'}
