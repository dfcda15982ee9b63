"""Training patches for the end-level classifier: what lies at each end of an annotated T1-L5 column.

Per film, the three annotated vertebrae at each end (T1, T2, T3 and L3, L4, L5) and one level beyond each end
(the vertebra above T1 and the one below L5, which the annotation does not hold): its place is extrapolated
one level's spacing past the end (T1's corners moved by T2 -> T1, L5's by L4 -> L5), since stage 1's extra
detections at the ends (a C7 taken as T1, a sacral segment as L5) sit just there. An extrapolated vertebra
whose centre falls off the film is left out (stage 1 cannot detect it there). Each patch is framed the way
stage 1 errs (as the refiner's: spinekey.datasets.vertebra_patch_dataset), with wide context (4 vertebra
sizes) so that the ribs of T1, the clavicles above it, the iliac crests beside L5 and the sacrum below it are
in view: telling C7 from T1 or L5 from S1 is anatomy, not geometry (docs/aasce.md, the learned level chain).
"""
from __future__ import annotations

import os
from typing import Dict, List, Tuple

import numpy as np
import torch
from mmdet.registry import DATASETS

from spinekey.datasets.patch_geometry import cut_patch, vertebra_frame
from spinekey.datasets.vertebra_patch_dataset import photometric_jitter
from spinekey.structures.keypoint_names import CORNERS_4
from spinekey.structures.levels import END_LEVEL_CLASSES
from spinekey.utils.errors import SpineKeyError

# class -> (annotated level it is read from, the level whose displacement to it extrapolates one level further)
_SOURCES = {'above_T1': ('T1', 'T2'), 'T1': ('T1', None), 'T2': ('T2', None), 'T3': ('T3', None),
            'L3': ('L3', None), 'L4': ('L4', None), 'L5': ('L5', None), 'below_L5': ('L5', 'L4')}


def labelled_columns(coco: dict, path: str) -> Dict[int, Dict[str, np.ndarray]]:
    """{image id: {level label: corners (4, 2)}} of a COCO dict's annotations that carry a ``label`` and all four
    corners, in SpineKey's corner order whatever the file's keypoint order."""
    cats = coco['categories']
    names = list((cats[0].get('keypoints') if cats else None) or [])
    if not set(CORNERS_4) <= set(names):
        raise SpineKeyError(f'{path}: the end-level classifier needs the four corners {list(CORNERS_4)}, '
                            f'the category names {names}')
    order = [names.index(n) for n in CORNERS_4]
    out: Dict[int, Dict[str, np.ndarray]] = {}
    for a in coco['annotations']:
        kps = np.asarray(a.get('keypoints') or [], float).reshape(-1, 3)
        if a.get('label') and len(kps) == len(names) and np.all(kps[order, 2] > 0):
            out.setdefault(a['image_id'], {})[str(a['label'])] = kps[order, :2]
    return out


def simulate_stage1(corners: np.ndarray, rng: np.random.Generator, shift_noise: float = 0.08,
                    corner_noise: float = 0.03, scale_noise: float = 0.1) -> np.ndarray:
    """``corners`` (4, 2) moved the way stage 1 errs: a shift, a change of size, noise per corner (fractions of
    the vertebra's size)."""
    size = max(float(np.ptp(corners[:, 0])), float(np.ptp(corners[:, 1])), 1.0)
    centre = corners.mean(0)
    scaled = centre + (corners - centre) * np.exp(rng.normal(0.0, scale_noise))
    return scaled + rng.normal(0.0, shift_noise * size, 2) + rng.normal(0.0, corner_noise * size, (4, 2))


def level_beyond(columns: Dict[str, np.ndarray], end: str, inner: str) -> np.ndarray:
    """Corners one level past ``end``: its corners moved by the step from ``inner`` to it (T2 -> T1 for the
    level above T1, L4 -> L5 for the one below L5)."""
    return columns[end] + (columns[end].mean(0) - columns[inner].mean(0))


def end_level_examples(columns: Dict[str, np.ndarray], width: int, height: int) -> List[Tuple[int, np.ndarray]]:
    """(class index, corners (4, 2)) of one film's end examples; ``columns`` maps a level to its corners."""
    out = []
    for cls, name in enumerate(END_LEVEL_CLASSES):
        level, away = _SOURCES[name]
        if level not in columns or (away is not None and away not in columns):
            continue
        corners = columns[level] if away is None else level_beyond(columns, level, away)
        if away is not None:
            cx, cy = corners.mean(0)
            if not (0 <= cx < width and 0 <= cy < height):
                continue
        out.append((cls, corners))
    return out


@DATASETS.register_module()
class EndLevelPatchDataset(torch.utils.data.Dataset):
    """One item per film: its end examples' patches (n, 1, S, S) uint8 and classes (n,) into END_LEVEL_CLASSES.

    Args:
        ann_file: COCO file whose annotations carry ``label`` (T1..L5) and the four corners.
        data_root / img_prefix: the films are ``data_root/img_prefix/file_name``.
        patch_size / context: the frame (spinekey.datasets.patch_geometry.vertebra_frame, oriented).
        shift_noise / corner_noise / scale_noise: the simulated stage-1 error, as fractions of the vertebra's size.
        flip: mirror a patch left-right half the time (an AP film read from either side).
        test_mode: the same simulated errors every time (seeded by the item), no flip or photometric change.
    """

    def __init__(self, ann_file: str, data_root: str = '', img_prefix: str = '', patch_size: int = 128,
                 context: float = 4.0, shift_noise: float = 0.08, corner_noise: float = 0.03,
                 scale_noise: float = 0.1, flip: bool = True, photometric: bool = True, test_mode: bool = False,
                 **_ignored):
        from spinekey.io.coco_files import load_coco_gt
        path = os.path.join(data_root, ann_file)
        coco = load_coco_gt(path)
        by_image = labelled_columns(coco, path)
        self.folder = os.path.join(data_root, img_prefix)
        self.patch_size, self.context = patch_size, context
        self.shift_noise, self.corner_noise, self.scale_noise = shift_noise, corner_noise, scale_noise
        self.flip, self.photometric = flip and not test_mode, photometric and not test_mode
        self.test_mode = test_mode
        self.films = []
        for im in coco['images']:
            examples = end_level_examples(by_image.get(im['id'], {}), im.get('width') or 10 ** 9,
                                          im.get('height') or 10 ** 9)
            if examples:
                self.films.append((im['file_name'], examples))
        if not self.films:
            raise SpineKeyError(f'{path}: no film with labelled end vertebrae (annotations need label T1..L5)')
        self._draws = 0

    @property
    def metainfo(self) -> dict:
        """Saved in every checkpoint: the classes the classifier's outputs mean."""
        return {'end_level_classes': list(END_LEVEL_CLASSES), 'classes': ('vertebra',)}

    def __len__(self) -> int:
        return len(self.films)

    def class_counts(self) -> np.ndarray:
        counts = np.zeros(len(END_LEVEL_CLASSES), int)
        for _, examples in self.films:
            for cls, _ in examples:
                counts[cls] += 1
        return counts

    def _rng(self, index: int) -> np.random.Generator:
        if self.test_mode:
            return np.random.default_rng(index)
        self._draws += 1
        return np.random.default_rng([torch.initial_seed() % 2 ** 32, index, self._draws])

    def simulate_stage1(self, corners: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return simulate_stage1(corners, rng, self.shift_noise, self.corner_noise, self.scale_noise)

    def __getitem__(self, index: int) -> dict:
        from spinekey.io.images import read_gray
        file_name, examples = self.films[index]
        film = read_gray(os.path.join(self.folder, file_name))
        rng = self._rng(index)
        patches, labels = [], []
        for cls, corners in examples:
            frame = vertebra_frame(self.simulate_stage1(corners, rng), CORNERS_4, self.patch_size, self.context)
            patch = cut_patch(film, frame)
            if self.flip and rng.random() < 0.5:
                patch = patch[:, ::-1]
            if self.photometric:
                patch = photometric_jitter(patch, rng)
            patches.append(np.ascontiguousarray(patch))
            labels.append(cls)
        return {'inputs': torch.from_numpy(np.stack(patches)[:, None]),
                'data_samples': {'labels': torch.as_tensor(labels, dtype=torch.long), 'file_name': file_name}}
