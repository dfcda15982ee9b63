"""How busy the GPU is while something runs: ``nvidia-smi`` utilisation sampled in a background thread.

Why: a training loop can be slow because the GPU computes or because it waits (for data, for Python in the
RoI heads, for host-device syncs); images/s alone cannot tell them apart, the share of time the GPU is busy
can (issue 21: 19-24% busy on the reference config). ``nvidia-smi`` reports, per sample, the percentage of
its last sampling period in which a kernel ran; the mean over the steady part of a run is the number to read.
"""
from __future__ import annotations

import shutil
import subprocess
import threading
import time
from typing import List, Optional, Sequence, Tuple

QUERY = ['--query-gpu=utilization.gpu', '--format=csv,noheader,nounits']


class GpuBusySampler:
    """Context manager: samples utilisation every ``interval_s`` while the block runs.

    ``samples`` holds (perf_counter time, percent); ``mean(start, end)`` averages a time window. Without the
    ``command`` on PATH (no NVIDIA driver) ``available`` is False and ``mean`` returns None.
    """

    def __init__(self, device_index: int = 0, interval_s: float = 0.5, command: Sequence[str] = ('nvidia-smi',)):
        self.device_index, self.interval_s, self.command = device_index, interval_s, list(command)
        self.available = shutil.which(self.command[0]) is not None
        self.samples: List[Tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def sample_once(self) -> Optional[float]:
        """One reading (percent busy), stored with its time; None when the tool fails or prints no number."""
        try:
            out = subprocess.run([*self.command, *QUERY, '-i', str(self.device_index)], capture_output=True,
                                 text=True, timeout=10)
            value = float(out.stdout.strip().splitlines()[0])
        except (OSError, subprocess.SubprocessError, ValueError, IndexError):
            return None
        self.samples.append((time.perf_counter(), value))
        return value

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample_once()
            self._stop.wait(self.interval_s)

    def __enter__(self) -> 'GpuBusySampler':
        if self.available:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)

    def mean(self, start: float = float('-inf'), end: float = float('inf')) -> Optional[float]:
        """Mean percent busy of the samples taken between ``start`` and ``end`` (perf_counter times)."""
        values = [v for t, v in self.samples if start <= t <= end]
        return round(sum(values) / len(values), 1) if values else None
