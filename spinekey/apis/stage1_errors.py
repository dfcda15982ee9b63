"""Stage 1's corner errors on films it was not trained on, as an *error bank* for training the refiner.

Why: the refiner learns to undo the errors its training patches are framed with. Gaussian noise of stage 1's
size is easier to undo than stage 1's own errors (docs/aasce.md, "What the refiner's training noise misses"):
those are structured (a box a little too tall, the corners of one endplate off together). The bank holds each
matched vertebra's errors in its own frame (turned level, divided by its size), so
``VertebraPatchDataset(error_bank=...)`` can put them on any true vertebra. Measured on AASCE fold 0: the refiner
then undoes moved stage-1 errors better but stage 1's corners on their own vertebrae no better (docs/aasce.md,
"What the refiner's training noise misses"), so the shipped recipe keeps the Gaussian noise.

Honest use: the bank must come from stage-1 predictions on films that are in the refiner's training part and
that stage 1 did not train on, e.g. another fold's held-out films (never the films the refiner is judged on).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import List

import numpy as np

from spinekey.datasets.patch_geometry import errors_in_vertebra_frame
from spinekey.evaluation.evaluate import collect_pairs, keypoint_names_of
from spinekey.evaluation.matching import match_results
from spinekey.utils.errors import SpineKeyError


@dataclass
class PairedVertebrae:
    """Detections paired one to one with true vertebrae (all K keypoints visible): ``pred`` and ``truth`` (M, K,
    2) in film pixels, the film of each (``image_id``), the keypoint ``names`` (the GT's order)."""
    pred: np.ndarray
    truth: np.ndarray
    image_id: np.ndarray
    names: List[str]

    def errors(self) -> np.ndarray:
        """Each pair's errors (M, K, 2) in its true vertebra's own frame (turned level, divided by its size)."""
        return np.array([errors_in_vertebra_frame(p - t, t, self.names)
                         for p, t in zip(self.pred, self.truth)]).reshape(-1, len(self.names), 2)


def paired_vertebrae(gt: dict, results: List[dict], score_thr: float = 0.3, iou_thr: float = 0.5
                     ) -> PairedVertebrae:
    """Each detection scoring ``score_thr`` or more that pairs one to one with a true vertebra (box IoU >=
    ``iou_thr``, Hungarian) whose K keypoints are all visible."""
    names = keypoint_names_of(gt)
    usable = [r for r in results if r.get('keypoints')]
    pairs = collect_pairs(gt, usable, match_results(gt, usable, 'bbox', iou_thr, score_thr))
    keep = pairs['visible'].all(1)
    return PairedVertebrae(pairs['pred'][keep], pairs['gt'][keep], pairs['image_id'][keep], names)


def stage1_errors(gt: dict, results: List[dict], score_thr: float = 0.3, iou_thr: float = 0.5) -> np.ndarray:
    """The error bank (N, K, 2): :func:`paired_vertebrae`'s errors, each in its true vertebra's own frame."""
    return paired_vertebrae(gt, results, score_thr, iou_thr).errors()


def bank_summary(bank: np.ndarray) -> str:
    """One line: how many errors, their common shift and their spread per corner (fractions of the size)."""
    shift = bank.mean(1)
    spread = bank - shift[:, None]
    return (f'{len(bank)} vertebrae; |common shift| median {np.median(np.linalg.norm(shift, axis=1)):.3f} of the '
            f'size, |corner error about it| median {np.median(np.linalg.norm(spread, axis=2)):.3f}; mean error '
            f'{np.mean(np.linalg.norm(bank, axis=2)):.3f} of the size')


def error_bank_bytes(bank: np.ndarray) -> bytes:
    """The bank as the bytes of a .npy file (written atomically by the caller)."""
    if len(bank) == 0:
        raise SpineKeyError('no detection paired with a true vertebra: nothing to put in the error bank')
    buffer = io.BytesIO()
    np.save(buffer, bank.astype(np.float32), allow_pickle=False)
    return buffer.getvalue()
