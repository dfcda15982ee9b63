"""Archive-scale soak: N films through ``inference.sh --measure --save_vis``; does memory stay flat?

The films are copies of a small synthetic set under new names, with unreadable and oversized files mixed in
(they must be listed and the run must go on). While the run goes, the resident memory of the running tool
(tools/infer.py, then tools/measure.py) is read from /proc against its progress (overlays written so far),
so the report can say RSS at 10%, 50% and 100% of the films for each phase.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import time
from typing import Dict, List, Optional

from spinekey.utils.errors import SpineKeyError

BAD_FILMS = {'broken.png': b'\x89PNG\r\n\x1a\n truncated', 'notes.png': b'not an image at all'}


def make_films(source_dir: str, folder: str, n: int) -> List[str]:
    """``n`` films named film_00000.png ... (copies of ``source_dir``'s images in turn) and the bad files of
    ``BAD_FILMS`` plus one with a 20000 x 20000 header, placed at 10%, 50% and 90% of the sorted order."""
    sources = sorted(glob.glob(os.path.join(source_dir, '*.png')))
    if not sources:
        raise SpineKeyError(f'{source_dir}: no PNG films to copy')
    os.makedirs(folder, exist_ok=True)
    names = []
    for i in range(n):
        names.append(f'film_{i:05d}.png')
        shutil.copyfile(sources[i % len(sources)], os.path.join(folder, names[-1]))
    bad = dict(BAD_FILMS, **{'giant.png': _giant_png_header()})
    for (name, data), at in zip(bad.items(), (0.1, 0.5, 0.9)):
        stem = f'film_{int(n * at):05d}_{name}'  # sorts right after the good film at that fraction
        open(os.path.join(folder, stem), 'wb').write(data)
    return names


def _giant_png_header() -> bytes:
    import struct
    import zlib
    ihdr = struct.pack('>IIBBBBB', 20000, 20000, 8, 0, 0, 0, 0)
    chunk = b'IHDR' + ihdr
    return b'\x89PNG\r\n\x1a\n' + struct.pack('>I', len(ihdr)) + chunk + struct.pack('>I', zlib.crc32(chunk))


def _children(pid: int) -> List[int]:
    out = []
    try:
        for tid in os.listdir(f'/proc/{pid}/task'):
            with open(f'/proc/{pid}/task/{tid}/children') as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        return []
    return out + [g for c in out for g in _children(c)]


def _rss_mb(pid: int) -> float:
    try:
        with open(f'/proc/{pid}/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _cmdline(pid: int) -> str:
    try:
        return open(f'/proc/{pid}/cmdline', 'rb').read().replace(b'\0', b' ').decode(errors='replace')
    except OSError:
        return ''


def _count_files(folder: str) -> int:
    return sum(len(files) for _, _, files in os.walk(folder)) if os.path.isdir(folder) else 0


def run_soak(films_dir: str, n_films: int, out_dir: str, config: str, checkpoint: str,
             interval: float = 0.5, extra: Optional[List[str]] = None) -> Dict:
    """Run inference.sh over ``films_dir`` into ``out_dir`` and sample memory; returns the report row."""
    cmd = ['bash', 'inference.sh', '--images_dir', films_dir, '--ckpt', checkpoint, '--cfg_det_path', config,
           '--output_dir', out_dir, '--cpu', '--measure', '--save_vis', '--bottom_level', 'L5', *(extra or [])]
    env = dict(os.environ, PYTHON=sys.executable, PYTHONWARNINGS='ignore')
    start = time.perf_counter()
    # the run's output goes to a file: a pipe read only at the end fills up (64 KB of progress bars) and blocks
    log_path = os.path.join(os.path.dirname(os.path.abspath(out_dir)), 'soak.log')
    log_file = open(log_path, 'w')
    proc = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT, text=True, env=env)
    samples = {'infer': [], 'measure': []}
    while proc.poll() is None:
        for pid in _children(proc.pid):
            line = _cmdline(pid)
            phase = 'infer' if 'tools/infer.py' in line else 'measure' if 'tools/measure.py' in line else None
            if phase:
                vis = os.path.join(out_dir, 'vis') if phase == 'infer' else os.path.join(out_dir, 'measurements', 'vis')
                samples[phase].append((_count_files(vis), _rss_mb(pid)))
        time.sleep(interval)
    log_file.close()
    if proc.returncode != 0:
        tail = open(log_path).read().strip().splitlines()[-1:]
        raise SpineKeyError(f'soak run failed ({proc.returncode}), see {log_path}: {tail}')
    skipped_path = os.path.join(out_dir, 'skipped.txt')
    skipped = open(skipped_path).read().splitlines() if os.path.isfile(skipped_path) else []
    import json
    results = json.load(open(os.path.join(out_dir, 'results.json')))
    row = {'films': n_films, 'bad_files': len(BAD_FILMS) + 1, 'skipped_listed': len(skipped),
           'detections_per_film': round(len(results) / max(n_films, 1), 1),
           'overlays': _count_files(os.path.join(out_dir, 'vis')),
           'measure_overlays': _count_files(os.path.join(out_dir, 'measurements', 'vis')),
           'seconds': round(time.perf_counter() - start, 1)}
    for phase, rows in samples.items():
        row.update(rss_at_progress(rows, n_films, phase))
    return row


def rss_at_progress(samples: List[tuple], total: int, phase: str) -> Dict[str, float]:
    """Peak RSS (MB) seen up to 10%, 50% and 100% of ``total`` films done, from (done, rss) samples."""
    out = {}
    for frac in (0.1, 0.5, 1.0):
        upto = [rss for done, rss in samples if done <= frac * total]
        out[f'{phase}_rss_mb_at_{int(frac * 100)}pct'] = round(max(upto), 1) if upto else None
    first, last = out[f'{phase}_rss_mb_at_10pct'], out[f'{phase}_rss_mb_at_100pct']
    out[f'{phase}_rss_growth_10_to_100pct'] = round(last / first, 3) if first and last else None
    return out
