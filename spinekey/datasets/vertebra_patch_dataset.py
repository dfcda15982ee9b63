"""Training patches for the refiner: every annotated vertebra of a COCO file, cut from its film at native
resolution around *simulated* stage-1 corners, with the true corners as targets.

Why simulated: the refiner then trains from annotations alone (no stage-1 run, no stage-1 checkpoint), and the
patch is framed exactly as at inference, where the frame comes from stage 1's corners. The simulation draws
what stage 1 gets wrong on AASCE (MRE 12-14 px on vertebrae about 170 px wide at native resolution, errors
correlated within a vertebra): one shift of the whole vertebra (``shift_noise`` x its size, per coordinate)
plus independent noise per corner (``corner_noise`` x its size), which also tilts and rescales the frame.
Stage 1's real errors are harder to undo than such Gaussian noise of the same size (docs/aasce.md, "What the
refiner's training noise misses"), so an *error bank* (``error_bank``: stage 1's measured errors on films it was
not trained on, written by ``tools/stage1_errors.py``) can supply them instead, drawn at random and turned and
scaled onto each true vertebra. On AASCE fold 0 it did not gain (docs/aasce.md): an option, off by default.
"""
from __future__ import annotations

import os
from typing import List, Optional

import numpy as np
import torch
from mmdet.registry import DATASETS

from spinekey.datasets.patch_geometry import cut_patch, errors_to_film, vertebra_frame, vertebra_size
from spinekey.utils.errors import SpineKeyError


def photometric_jitter(patch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A uint8 patch with a random gamma, gain and offset (films differ in exposure and processing)."""
    x = patch.astype(np.float32) / 255.0
    x = np.clip(x ** rng.uniform(0.8, 1.25) * rng.uniform(0.8, 1.2) + rng.uniform(-0.08, 0.08), 0, 1)
    return (x * 255).astype(np.uint8)


def gaussian_stage1_error(truth: np.ndarray, rng: np.random.Generator, shift_noise: float,
                          corner_noise: float) -> np.ndarray:
    """``truth`` (K, 2) moved by the refiner's Gaussian training noise: a common shift of ``shift_noise`` x the
    vertebra's size (per coordinate) plus ``corner_noise`` x its size per corner."""
    size = vertebra_size(truth)
    return truth + rng.normal(0.0, shift_noise * size, 2) + rng.normal(0.0, corner_noise * size, truth.shape)


def load_error_bank(path: str, num_keypoints: int) -> np.ndarray:
    """Stage 1's errors (N, K, 2) from a .npy written by ``tools/stage1_errors.py``, checked against K. The bank
    holds no names: its keypoints are in the order of the COCO category it was measured on, which must be this
    dataset's order (the same annotation source; AASCE's folds share it).

    Raises:
        SpineKeyError: the file is missing, not an (N, K, 2) array of finite numbers, or made for another K.
    """
    try:
        bank = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise SpineKeyError(f'{path}: not an error bank ({err})') from None
    if bank.ndim != 3 or bank.shape[2] != 2 or len(bank) == 0 or not np.all(np.isfinite(bank)):
        raise SpineKeyError(f'{path}: an error bank is a non-empty (N, K, 2) array of finite numbers, got shape '
                            f'{tuple(bank.shape)}')
    if bank.shape[1] != num_keypoints:
        raise SpineKeyError(f'{path}: errors of {bank.shape[1]} keypoints, the dataset has K={num_keypoints}')
    return bank.astype(np.float64)


class PerItemDraws:
    """The random draws of a training dataset's item: the same every time in ``test_mode`` (seeded by the item),
    else new at every call (a worker's torch seed changes every epoch; the count keeps draws apart within one)."""
    test_mode: bool = False
    _draws: int = 0

    def _rng(self, index: int) -> np.random.Generator:
        if self.test_mode:
            return np.random.default_rng(index)
        self._draws += 1
        return np.random.default_rng([torch.initial_seed() % 2 ** 32, index, self._draws])


@DATASETS.register_module()
class VertebraPatchDataset(PerItemDraws, torch.utils.data.Dataset):
    """One item per film: its vertebrae's patches (n, 1, S, S) uint8 and targets (n, K, 2) in patch pixels.

    Args:
        ann_file: COCO file with keypoints (relative to ``data_root``); K and names from its category.
        data_root / img_prefix: the films are ``data_root/img_prefix/file_name``.
        patch_size / context / oriented: the frame (spinekey.datasets.patch_geometry.vertebra_frame).
        shift_noise / corner_noise: the simulated stage-1 error, as fractions of the vertebra's size.
        photometric: random gain, offset and gamma per patch.
        max_per_film: at most this many vertebrae of a film per item (a random subset when it has more).
        error_bank: a .npy of stage 1's errors (N, K, 2) in the vertebra's own frame
            (spinekey.datasets.patch_geometry.errors_in_vertebra_frame; ``tools/stage1_errors.py``).
        error_bank_share: the share of vertebrae whose simulated error is drawn from the bank (the rest:
            ``shift_noise`` / ``corner_noise``).
        test_mode: the same simulated errors every time (seeded by the item), no photometric change.
    """

    def __init__(self, ann_file: str, data_root: str = '', img_prefix: str = '', patch_size: int = 192,
                 context: float = 1.5, oriented: bool = True, shift_noise: float = 0.05, corner_noise: float = 0.03,
                 photometric: bool = True, max_per_film: int = 24, test_mode: bool = False,
                 error_bank: Optional[str] = None, error_bank_share: float = 1.0, **_ignored):
        from spinekey.io.coco_files import load_coco_gt
        path = os.path.join(data_root, ann_file)
        coco = load_coco_gt(path)
        cats = coco['categories']
        self.keypoint_names: List[str] = list((cats[0].get('keypoints') if cats else None) or [])
        if not self.keypoint_names:
            raise SpineKeyError(f'{path}: no keypoint names in its category; the refiner needs keypoints')
        self.folder = os.path.join(data_root, img_prefix)
        self.patch_size, self.context, self.oriented = patch_size, context, oriented
        self.shift_noise, self.corner_noise = shift_noise, corner_noise
        self.photometric, self.max_per_film, self.test_mode = photometric and not test_mode, max_per_film, test_mode
        k = len(self.keypoint_names)
        by_image = {}
        for a in coco['annotations']:
            kps = np.asarray(a.get('keypoints') or [], float).reshape(-1, 3)
            if len(kps) == k and np.all(kps[:, 2] > 0) and np.all(np.isfinite(kps)):
                by_image.setdefault(a['image_id'], []).append(kps[:, :2])
        self.films = [(im['file_name'], np.stack(by_image[im['id']])) for im in coco['images'] if im['id'] in by_image]
        if not self.films:
            raise SpineKeyError(f'{path}: no film with a vertebra whose {k} keypoints are all visible')
        self.error_bank = load_error_bank(error_bank, k) if error_bank else None
        if not 0.0 <= error_bank_share <= 1.0:
            raise SpineKeyError(f'error_bank_share must be in [0, 1], got {error_bank_share}')
        self.error_bank_share = error_bank_share

    @property
    def metainfo(self) -> dict:
        """Saved in every checkpoint (mmengine's Runner): the refiner's keypoint names."""
        return {'keypoint_names': self.keypoint_names, 'classes': ('vertebra',)}

    def __len__(self) -> int:
        return len(self.films)

    def simulate_stage1(self, truth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``truth`` (K, 2) moved the way stage 1 errs: an error drawn from the bank (a share
        ``error_bank_share`` of the time), else a common shift plus noise per corner."""
        if self.error_bank is not None and rng.random() < self.error_bank_share:
            drawn = self.error_bank[rng.integers(len(self.error_bank))]
            return truth + errors_to_film(drawn, truth, self.keypoint_names)
        return gaussian_stage1_error(truth, rng, self.shift_noise, self.corner_noise)

    def _photometric(self, patch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return photometric_jitter(patch, rng)

    def __getitem__(self, index: int) -> dict:
        from spinekey.io.images import read_gray
        file_name, truths = self.films[index]
        film = read_gray(os.path.join(self.folder, file_name))
        rng = self._rng(index)
        if len(truths) > self.max_per_film:
            truths = truths[rng.choice(len(truths), self.max_per_film, replace=False)]
        patches, targets = [], []
        for truth in truths:
            frame = vertebra_frame(self.simulate_stage1(truth, rng), self.keypoint_names, self.patch_size,
                                   self.context, self.oriented)
            patch = cut_patch(film, frame)
            patches.append(self._photometric(patch, rng) if self.photometric else patch)
            targets.append(frame.to_patch(truth))
        return {'inputs': torch.from_numpy(np.stack(patches)[:, None]),
                'data_samples': {'keypoints': torch.as_tensor(np.stack(targets), dtype=torch.float32),
                                 'visible': torch.ones(len(targets), len(self.keypoint_names), dtype=torch.bool),
                                 'file_name': file_name}}
