"""Where the refiner's error comes from: the same true vertebrae of held-out films refined from four starts.

Why: on AASCE the refiner brought stage 1's corners only from 13.9 to 13.2 px, yet it undoes Gaussian noise of
the same size far better. Starting it from (1) the true corners, (2) the true corners with its training noise,
(3) the true corners with another vertebra's stage-1 error (stage 1's kind of error on a vertebra it did not
find hard) and (4) stage 1's own corners separates what the refiner cannot see on the film (1), what its
training taught it to undo (2 against 3) and what makes the vertebrae stage 1 errs on hard (3 against 4).
"""
from __future__ import annotations

import os
from typing import Dict, List

import numpy as np
from tqdm import tqdm

from spinekey.apis.stage1_errors import paired_vertebrae
from spinekey.datasets.patch_geometry import errors_to_film
from spinekey.datasets.vertebra_patch_dataset import gaussian_stage1_error

STARTS = ('truth', 'training_noise', 'stage1_error_moved', 'stage1')


def _start(kind: str, truth: np.ndarray, own: np.ndarray, moved: np.ndarray, names, rng, shift_noise: float,
           corner_noise: float) -> np.ndarray:
    if kind == 'truth':
        return truth.copy()
    if kind == 'stage1':
        return truth + errors_to_film(own, truth, names)
    if kind == 'stage1_error_moved':
        return truth + errors_to_film(moved, truth, names)
    return gaussian_stage1_error(truth, rng, shift_noise, corner_noise)  # configs/_base_/datasets/aasce_patches.py


def check_refiner(refiner, gt: dict, results: List[dict], images_dir: str, score_thr: float = 0.3,
                  shift_noise: float = 0.05, corner_noise: float = 0.03, seed: int = 0) -> Dict:
    """Mean keypoint error (film px) before and after the refiner from each of :data:`STARTS`, over the true
    vertebrae of ``gt`` that a detection of ``results`` pairs with; also the refiner's error from the truth on
    the vertebrae stage 1 found easy, middling and hard (by stage 1's own error)."""
    from spinekey.io.images import read_gray
    pairs = paired_vertebrae(gt, results, score_thr)
    if not len(pairs.truth):
        from spinekey.utils.errors import SpineKeyError
        raise SpineKeyError('no detection pairs with a true vertebra: give stage 1\'s results on the films of the GT')
    own = pairs.errors()
    rng = np.random.default_rng(seed)
    moved = own[rng.permutation(len(own))]
    order = refiner.order_for(pairs.names)
    files = {im['id']: im['file_name'] for im in gt['images']}
    before = {k: np.zeros(len(own)) for k in STARTS}
    after = {k: np.zeros(len(own)) for k in STARTS}
    films = sorted(set(pairs.image_id.tolist()))
    for image_id in tqdm(films, desc='refiner check', unit='film'):
        idx = np.flatnonzero(pairs.image_id == image_id)
        film = read_gray(os.path.join(images_dir, files[image_id]))
        truth = pairs.truth[idx]
        for kind in STARTS:
            start = np.stack([_start(kind, t, own[i], moved[i], pairs.names, rng, shift_noise, corner_noise)
                              for t, i in zip(truth, idx)])
            refined, _ = refiner.refine(film, start[:, order])
            refined = refined[:, np.argsort(order)]
            before[kind][idx] = np.linalg.norm(start - truth, axis=-1).mean(1)
            after[kind][idx] = np.linalg.norm(refined - truth, axis=-1).mean(1)
    hard = before['stage1']
    bins = {'under 12 px': hard < 12, '12-20 px': (hard >= 12) & (hard < 20), '20 px or more': hard >= 20}
    return {'vertebrae': int(len(own)), 'films': len(films),
            'starts': {k: {'before_px': round(float(before[k].mean()), 2), 'after_px': round(float(after[k].mean()), 2)}
                       for k in STARTS},
            'from_truth_by_stage1_error': {name: {'vertebrae': int(m.sum()),
                                                  'after_px': round(float(after['truth'][m].mean()), 2) if m.any()
                                                  else None} for name, m in bins.items()}}


def format_check(result: Dict) -> str:
    """The check as a short table."""
    words = {'truth': 'the true corners', 'training_noise': 'the truth + its training noise',
             'stage1_error_moved': "the truth + another vertebra's stage-1 error", 'stage1': "stage 1's corners"}
    lines = [f"{result['vertebrae']} true vertebrae on {result['films']} films paired with a detection",
             'refined from                                  mean error before -> after (px)']
    for k, v in result['starts'].items():
        lines.append(f'  {words[k]:44s} {v["before_px"]:6.1f} -> {v["after_px"]:5.1f}')
    lines.append('from the true corners, on the vertebrae whose stage-1 error is:')
    for name, v in result['from_truth_by_stage1_error'].items():
        after = '-' if v['after_px'] is None else f'{v["after_px"]:.1f}'
        lines.append(f'  {name:14s} {v["vertebrae"]:5d} vertebrae  {after} px')
    return '\n'.join(lines)
