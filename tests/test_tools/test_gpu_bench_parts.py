"""The parts of the GPU benchmark that run anywhere: the busy sampler (on a stand-in nvidia-smi) and the
real training loop's images/s (on CPU)."""
import os
import stat

import pytest

from spinekey.benchmarks.gpu_busy import QUERY, GpuBusySampler
from tests.conftest import DEMO_CONFIG


def _fake_smi(tmp_path):
    """A stand-in nvidia-smi: prints the number in value.txt, records its arguments."""
    script = tmp_path / 'nvidia-smi'
    script.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/args.txt\ncat {tmp_path}/value.txt\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_busy_sampler_reads_the_percentage_and_averages_a_window(tmp_path):
    sampler = GpuBusySampler(device_index=1, command=[_fake_smi(tmp_path)])
    assert sampler.available
    (tmp_path / 'value.txt').write_text('20\n')
    assert sampler.sample_once() == 20.0
    (tmp_path / 'value.txt').write_text('80\n')
    assert sampler.sample_once() == 80.0 and sampler.sample_once() == 80.0
    assert (tmp_path / 'args.txt').read_text().split() == [*QUERY, '-i', '1']
    assert sampler.mean() == 60.0  # (20 + 80 + 80) / 3
    assert sampler.mean(start=sampler.samples[1][0]) == 80.0  # the window leaves the first sample out
    (tmp_path / 'value.txt').write_text('[N/A]\n')  # e.g. a MIG slice: no reading, nothing stored
    assert sampler.sample_once() is None and len(sampler.samples) == 3


def test_busy_sampler_samples_in_the_background_and_stops(tmp_path):
    (tmp_path / 'value.txt').write_text('55\n')
    with GpuBusySampler(interval_s=0.01, command=[_fake_smi(tmp_path)]) as sampler:
        while len(sampler.samples) < 3:
            pass
    count = len(sampler.samples)
    assert not sampler._thread.is_alive() and sampler.mean() == 55.0
    assert len(sampler.samples) == count  # nothing sampled after the block


def test_busy_sampler_without_the_driver_says_nothing():
    sampler = GpuBusySampler(command=['nvidia-smi-that-does-not-exist'])
    with sampler:
        pass
    assert not sampler.available and sampler.mean() is None and sampler._thread is None


def test_training_loop_throughput_on_cpu(synthetic_dir, tmp_path):
    from spinekey.benchmarks.train_loop import train_loop_throughput
    out = train_loop_throughput(DEMO_CONFIG, synthetic_dir + '/', 'det_train.json', iters=2, warmup=1,
                                batch_size=2, workers=0, work_dir=str(tmp_path / 'loop'))
    assert (out['steps'], out['batch_size'], out['workers'], out['device']) == (2, 2, 0, 'cpu')
    assert out['gpu_busy_percent'] is None and 0 <= out['data_wait_share'] <= 1
    # images/s and seconds per step come from the same clock: batch / step time
    assert out['images_per_s'] == pytest.approx(2 / out['step_s'], rel=1e-2)
    assert os.listdir(tmp_path / 'loop') and not any(f.endswith('.pth') for f in os.listdir(tmp_path / 'loop'))
    with pytest.raises(ValueError, match='iters >= 2'):
        train_loop_throughput(DEMO_CONFIG, synthetic_dir + '/', 'det_train.json', iters=1)


class _Toy:
    def double(self, x):
        return 2 * x


def test_label_method_runs_the_method_inside_a_profiler_label():
    import torch
    from spinekey.benchmarks.step_profile import label_method
    toy = _Toy()
    assert label_method(toy, 'double', 'toy: double')
    assert not label_method(toy, 'double', 'again')  # labelled once only
    assert not label_method(toy, 'no_such_method', 'x')
    with torch.profiler.profile() as prof:
        assert toy.double(21) == 42
        toy.double(1)
    counts = {e.key: e.count for e in prof.key_averages()}
    assert counts['toy: double'] == 2 and 'again' not in counts
    assert _Toy().double(3) == 6 and not hasattr(_Toy.double, '_spinekey_label')  # the class is untouched


def test_summarise_splits_time_and_syncs_by_innermost_part():
    """Hand-built: part b (50 ms, 1 scalar read) runs inside part a (20 ms more, 3 reads, 2 nonzero); one
    read outside both."""
    import time

    import torch
    from torch.autograd.profiler import record_function

    from spinekey.benchmarks.step_profile import summarise
    t = torch.ones(3)
    with torch.profiler.profile() as prof:
        start = time.perf_counter()
        with record_function('a'):
            for _ in range(3):
                t[0].item()
            torch.nonzero(t), torch.nonzero(t)
            time.sleep(0.02)
            with record_function('b'):
                t[1].item()
                time.sleep(0.05)
        t[2].item()
        seconds = time.perf_counter() - start
    out = summarise(prof.events(), [('a', None), ('b', 'a')], steps=1, seconds=seconds)
    rows = {r['part']: r for r in out['parts']}
    assert (rows['a']['scalar_reads'], rows['b']['scalar_reads'], rows['other']['scalar_reads']) == (3, 1, 1)
    assert (rows['a']['nonzero_calls'], rows['b']['nonzero_calls']) == (2, 0)
    assert (out['scalar_reads'], out['nonzero_calls']) == (5, 2)
    assert 0.05 <= rows['b']['s_per_step'] < rows['a']['s_per_step'] and rows['a']['s_per_step'] >= 0.07
    assert rows['a']['s_per_step'] + rows['other']['s_per_step'] == pytest.approx(out['step_s'], abs=1e-4)
    assert rows['b']['within'] == 'a' and rows['a']['share'] == pytest.approx(rows['a']['s_per_step'] / seconds,
                                                                               abs=2e-3)
    assert out['device_kernel_s_per_step'] == 0  # no GPU work


def test_training_step_profile_on_cpu(synthetic_dir, tmp_path):
    import json

    from spinekey.benchmarks.step_profile import MODEL_PARTS, OPTIM_PARTS, profile_training_step
    out = profile_training_step(DEMO_CONFIG, synthetic_dir + '/', 'det_train.json', iters=2, warmup=1,
                                batch_size=2, workers=0, work_dir=str(tmp_path / 'prof'))
    rows = {r['part']: r for r in out['parts']}
    # the demo model has every part (cascade, masks, keypoints): each was labelled and ran in the profile
    expected = {'loader wait', 'other'} | {p[0] for p in MODEL_PARTS} | {p[0] for p in OPTIM_PARTS}
    assert set(rows) == expected
    assert all(rows[p]['s_per_step'] > 0 for p in expected - {'other'})
    for label, parent, _, _ in MODEL_PARTS:
        if parent:
            assert rows[label]['within'] == parent and rows[label]['s_per_step'] <= rows[parent]['s_per_step']
    top_level = sum(r['s_per_step'] for r in out['parts'] if r['within'] is None and r['part'] != 'other')
    assert top_level <= out['step_s'] * 1.02  # parts do not overlap: nested ones are not counted twice
    assert out['scalar_reads'] == pytest.approx(sum(r['scalar_reads'] for r in out['parts']), abs=0.11)
    assert (out['steps'], out['batch_size'], out['device']) == (2, 2, 'cpu')
    trace = json.load(open(out['trace']))
    names = {e.get('name') for e in trace['traceEvents']}
    assert {'backbone', 'roi: keypoints', 'backward'} <= names
    with pytest.raises(ValueError, match='iters >= 1'):
        profile_training_step(DEMO_CONFIG, synthetic_dir + '/', 'det_train.json', iters=0)


def test_profile_benchmark_profiles_the_config_it_is_given():
    from spinekey.benchmarks.suites import REFERENCE_CONFIG, BenchContext, bench_profile
    jobs = []

    def context(**kw):
        ctx = BenchContext(**kw)
        ctx.dataset = lambda: '/data'  # no synthetic set needed: the job is only recorded
        ctx.worker = lambda **job: jobs.append(job) or job
        return ctx

    bench_profile(context())
    bench_profile(context(profile_config=DEMO_CONFIG, device='cuda'))
    assert [j['config'] for j in jobs] == [REFERENCE_CONFIG, DEMO_CONFIG]  # an explicit demo config is kept
    assert [(j['batch_size'], j['warmup'], j['iters']) for j in jobs] == [(2, 2, 3), (8, 5, 10)]
    assert jobs[0]['job'] == 'profile' and jobs[0]['data_root'] == '/data/'
