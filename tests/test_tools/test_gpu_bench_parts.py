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
