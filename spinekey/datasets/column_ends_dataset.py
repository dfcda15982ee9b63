"""Whole films for the column-ends locator: each film shrunk into one square canvas, with the centres of the
column's end vertebrae (T1 and L5 on AASCE) as its two targets.

Why the whole film: the level chain (geometry of the detections) and the end-level classifier (a patch four
vertebrae wide around each end detection) could not tell a column that starts at C7 from one that starts at T1,
or a missed L5 from a short spine (docs/aasce.md): what tells them apart is where the column sits among the
clavicles, the ribs and the pelvis, which only the film as a whole shows. A network that sees the whole film
says where each end vertebra is; the detections then supply the corners.
"""
from __future__ import annotations

import os
from typing import List, Optional, Sequence

import cv2
import numpy as np
import torch
from mmdet.registry import DATASETS

from spinekey.datasets.patch_geometry import PatchFrame, unturn_matrix
from spinekey.datasets.vertebra_patch_dataset import PerItemDraws, photometric_jitter
from spinekey.utils.errors import SpineKeyError


def film_frame(height: int, width: int, size: int, fill: float = 0.95, scale: float = 1.0, angle_deg: float = 0.0,
               shift=(0.0, 0.0)) -> PatchFrame:
    """The frame that shrinks a ``height`` x ``width`` film into a ``size`` x ``size`` canvas: its longer side
    spans ``fill`` x ``size`` (times ``scale``), its centre at the canvas centre (plus ``shift`` in canvas
    pixels), turned by ``angle_deg``. Training jitters scale, angle and shift; inference uses the defaults."""
    s = fill * size / max(height, width) * scale
    linear = s * unturn_matrix(angle_deg)
    centre = np.array([(width - 1) / 2.0, (height - 1) / 2.0])
    half = (size - 1) / 2.0
    offset = np.array([half, half]) + np.asarray(shift, float) - linear @ centre
    return PatchFrame(matrix=np.hstack([linear, offset[:, None]]), scale=s, angle_deg=angle_deg, size=size)


def cut_canvas(film: np.ndarray, frame: PatchFrame) -> np.ndarray:
    """The canvas of ``frame``: the film shrunk (area-averaged first when it shrinks by more than 2x, so thin
    structures are not aliased away), black outside the film."""
    source, matrix = film, frame.matrix
    shrink = 1.0 / frame.scale
    if shrink > 2.0:
        step = int(shrink // 2)
        source = cv2.resize(film, (max(1, film.shape[1] // step), max(1, film.shape[0] // step)),
                            interpolation=cv2.INTER_AREA)
        matrix = frame.matrix.copy()
        matrix[:, :2] = matrix[:, :2] @ np.diag([film.shape[1] / source.shape[1], film.shape[0] / source.shape[0]])
    return cv2.warpAffine(source, matrix, (frame.size, frame.size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


CENTRE_SUFFIX = '_centre'


def end_names(levels: Sequence[str]) -> List[str]:
    """The locator's keypoint names: the centre of each end level (``T1_centre``, ``L5_centre``)."""
    return [level + CENTRE_SUFFIX for level in levels]


@DATASETS.register_module()
class ColumnEndsDataset(PerItemDraws, torch.utils.data.Dataset):
    """One item per film: the film in a canvas (1, 1, S, S) uint8 and the end vertebrae's centres (1, E, 2) in
    canvas pixels, with ``visible`` False for an end level the film's annotation lacks.

    Args:
        ann_file: COCO file whose vertebrae carry their level in ``label`` (AASCE's T1..L5).
        data_root / img_prefix: the films are ``data_root/img_prefix/file_name``.
        size: the canvas side S.
        levels: the end levels to find (their annotated corners' mean is the target).
        augment: random scale (+-``scale_jitter``), turn (+-``rotate_deg``), shift (+-``shift`` x S) and
            exposure; off in ``test_mode``.
    """

    def __init__(self, ann_file: str, data_root: str = '', img_prefix: str = '', size: int = 384,
                 levels: Sequence[str] = ('T1', 'L5'), augment: bool = True, scale_jitter: float = 0.1,
                 rotate_deg: float = 5.0, shift: float = 0.05, test_mode: bool = False, **_ignored):
        from spinekey.io.coco_files import load_coco_gt
        path = os.path.join(data_root, ann_file)
        coco = load_coco_gt(path)
        self.levels = list(levels)
        self.folder = os.path.join(data_root, img_prefix)
        self.size, self.augment = size, augment and not test_mode
        self.scale_jitter, self.rotate_deg, self.shift = scale_jitter, rotate_deg, shift
        self.test_mode = test_mode
        centres = {}
        for a in coco['annotations']:
            kps = np.asarray(a.get('keypoints') or [], float).reshape(-1, 3)
            if a.get('label') in self.levels and len(kps) and np.all(kps[:, 2] > 0):
                centres.setdefault(a['image_id'], {})[a['label']] = kps[:, :2].mean(0)
        if not centres:
            raise SpineKeyError(f'{path}: no vertebra labelled {" or ".join(self.levels)} (the column-ends '
                                'locator needs each vertebra\'s level in its "label")')
        self.films = []
        for im in coco['images']:
            found = centres.get(im['id'], {})
            if found:
                target = np.array([found.get(lv, (np.nan, np.nan)) for lv in self.levels], float)
                self.films.append((im['file_name'], target))

    @property
    def metainfo(self) -> dict:
        """Saved in every checkpoint: the locator's keypoint names say which levels it finds."""
        return {'keypoint_names': end_names(self.levels), 'classes': ('vertebra',)}

    def __len__(self) -> int:
        return len(self.films)

    def frame_for(self, film_shape, rng: Optional[np.random.Generator]) -> PatchFrame:
        """The canvas frame of a film: jittered in training, :func:`film_frame`'s defaults otherwise."""
        h, w = film_shape[:2]
        if rng is None or not self.augment:
            return film_frame(h, w, self.size)
        return film_frame(h, w, self.size, scale=rng.uniform(1 - self.scale_jitter, 1 + self.scale_jitter),
                          angle_deg=rng.uniform(-self.rotate_deg, self.rotate_deg),
                          shift=rng.uniform(-self.shift, self.shift, 2) * self.size)

    def __getitem__(self, index: int) -> dict:
        from spinekey.io.images import read_gray
        file_name, target = self.films[index]
        film = read_gray(os.path.join(self.folder, file_name))
        rng = self._rng(index)
        frame = self.frame_for(film.shape, rng)
        canvas = cut_canvas(film, frame)
        if self.augment:
            canvas = photometric_jitter(canvas, rng)
        visible = np.all(np.isfinite(target), axis=1)
        points = np.where(visible[:, None], frame.to_patch(np.nan_to_num(target)), 0.0)
        return {'inputs': torch.from_numpy(canvas[None, None]),
                'data_samples': {'keypoints': torch.as_tensor(points[None], dtype=torch.float32),
                                 'visible': torch.as_tensor(visible[None]),
                                 'file_name': file_name}}
