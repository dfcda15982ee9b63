"""Training patches for the end-level classifier: what lies at each end of an annotated T1-L5 column.

Per film, the three annotated vertebrae at each end (T1, T2, T3 and L3, L4, L5) and one level beyond each end
(the vertebra above T1 and the one below L5, which the annotation does not hold): its place is extrapolated
one level's spacing past the end (T1's corners moved by T2 -> T1, L5's by L4 -> L5), since stage 1's extra
detections at the ends (a C7 taken as T1, a sacral segment as L5) sit just there. An extrapolated vertebra
whose centre falls off the film is left out (stage 1 cannot detect it there). Each patch is framed the way
stage 1 errs (as the refiner's: spinekey.datasets.vertebra_patch_dataset), with wide context (4 vertebra
sizes) so that the ribs of T1, the clavicles above it, the iliac crests beside L5 and the sacrum below it are
in view: telling C7 from T1 or L5 from S1 is anatomy, not geometry (docs/aasce.md, the learned level chain).

``detections=`` (stage 1's results.json on the same training films, ``tools/infer.py --score-thr 0.05``) frames
examples on stage 1's own boxes instead: each detection is named by the annotated level it sits on, or as the
level above T1 / below L5 when it sits one spacing past an end (a C7 or sacral segment stage 1 found). Those
are the extras the simulation cannot draw: a C7 cut by the film's top edge, a sacral segment as stage 1 sees it.
"""
from __future__ import annotations

import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmdet.registry import DATASETS

from spinekey.datasets.patch_geometry import cut_patch, vertebra_frame
from spinekey.datasets.vertebra_patch_dataset import PerItemDraws, photometric_jitter
from spinekey.structures.keypoint_names import CORNERS_4
from spinekey.structures.levels import END_LEVEL_CLASSES, level_sort_key
from spinekey.utils.errors import SpineKeyError

# class -> (annotated level it is read from, the level whose displacement to it extrapolates one level further)
_SOURCES = {'above_T1': ('T1', 'T2'), 'T1': ('T1', None), 'T2': ('T2', None), 'T3': ('T3', None),
            'L3': ('L3', None), 'L4': ('L4', None), 'L5': ('L5', None), 'below_L5': ('L5', 'L4')}


def _corner_order(coco: dict, path: str) -> Tuple[List[str], List[int]]:
    """(the category's keypoint names, the index of each of SpineKey's four corners among them)."""
    cats = coco['categories']
    names = list((cats[0].get('keypoints') if cats else None) or [])
    if not set(CORNERS_4) <= set(names):
        raise SpineKeyError(f'{path}: the end-level classifier needs the four corners {list(CORNERS_4)}, '
                            f'the category names {names}')
    return names, [names.index(n) for n in CORNERS_4]


def labelled_columns(coco: dict, path: str) -> Dict[int, Dict[str, np.ndarray]]:
    """{image id: {level label: corners (4, 2)}} of a COCO dict's annotations that carry a ``label`` and all four
    corners, in SpineKey's corner order whatever the file's keypoint order."""
    names, order = _corner_order(coco, path)
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


def class_place(columns: Dict[str, np.ndarray], name: str) -> Optional[np.ndarray]:
    """Where the annotation puts the end class ``name`` (corners (4, 2)): its level, or one level past T1 / L5;
    None when the levels it is read from are not annotated."""
    level, away = _SOURCES[name]
    if level not in columns or (away is not None and away not in columns):
        return None
    return columns[level] if away is None else level_beyond(columns, level, away)


def end_level_examples(columns: Dict[str, np.ndarray], width: int, height: int) -> List[Tuple[int, np.ndarray]]:
    """(class index, corners (4, 2)) of one film's end examples; ``columns`` maps a level to its corners."""
    out = []
    for cls, name in enumerate(END_LEVEL_CLASSES):
        corners = class_place(columns, name)
        if corners is None:
            continue
        if _SOURCES[name][1] is not None:
            cx, cy = corners.mean(0)
            if not (0 <= cx < width and 0 <= cy < height):
                continue
        out.append((cls, corners))
    return out


def _centre_spacing(columns: Dict[str, np.ndarray]) -> Tuple[List[str], np.ndarray, np.ndarray]:
    """The annotated levels in column order, their centres (n, 2) and each one's spacing to its neighbours."""
    levels = sorted(columns, key=level_sort_key)
    centres = np.array([columns[lv].mean(0) for lv in levels])
    if len(levels) < 2:
        return levels, centres, np.full(len(levels), np.nan)
    steps = np.linalg.norm(np.diff(centres, axis=0), axis=1)
    spacing = np.empty(len(levels))
    spacing[0], spacing[-1] = steps[0], steps[-1]
    spacing[1:-1] = (steps[:-1] + steps[1:]) / 2
    return levels, centres, spacing


def name_detections(columns: Dict[str, np.ndarray], detections: Sequence[np.ndarray], match: float = 0.5,
                    beyond: Tuple[float, float] = (0.5, 1.6)) -> List[Optional[str]]:
    """The level each detection (4, 2) sits on: the annotated level whose centre is nearest, when within
    ``match`` of that level's spacing; ``'above'`` / ``'below'`` when it lies ``beyond`` (in spacings, along the
    column's direction at that end) past the first / last annotated level and off every annotated one; else None
    (a stray, a duplicate off centre, or a level the annotation does not reach)."""
    levels, centres, spacing = _centre_spacing(columns)
    names: List[Optional[str]] = []
    for det in detections:
        c = np.asarray(det, float).mean(0)
        if len(levels) < 2 or not np.all(np.isfinite(c)):
            names.append(None)
            continue
        dist = np.linalg.norm(centres - c, axis=1)
        k = int(np.argmin(dist))
        if dist[k] <= match * spacing[k]:
            names.append(levels[k])
            continue
        name = None
        for end, inner, label in ((0, 1, 'above'), (-1, -2, 'below')):
            axis = centres[end] - centres[inner]
            length = float(np.linalg.norm(axis))
            if length <= 0:  # two annotated levels on one spot: no direction to look along
                continue
            unit, rel = axis / length, c - centres[end]
            along = float(rel @ unit) / spacing[end]
            across = abs(float(unit[0] * rel[1] - unit[1] * rel[0])) / spacing[end]
            if beyond[0] <= along <= beyond[1] and across <= match:
                name = label
        names.append(name)
    return names


def detection_examples(columns: Dict[str, np.ndarray], detections: Sequence[np.ndarray]
                       ) -> Dict[int, np.ndarray]:
    """{class index: stage 1's corners (4, 2)} of one film: for each end class, the detection named with its
    level (``name_detections``: 'above' / 'below' are past the first / last annotated level, so they are taken
    as the level above T1 / below L5 only where the annotation places that class, i.e. holds T1 and T2 / L4 and
    L5). Where two detections take one class (a duplicate), the one nearest the class's place is kept."""
    by_class: Dict[int, Tuple[float, np.ndarray]] = {}
    names = name_detections(columns, detections)
    for det, name in zip(detections, names):
        cls_name = {'above': 'above_T1', 'below': 'below_L5'}.get(name, name)
        place = class_place(columns, cls_name) if cls_name in END_LEVEL_CLASSES else None
        if place is None:
            continue
        miss = float(np.linalg.norm(np.asarray(det, float).mean(0) - place.mean(0)))
        cls = END_LEVEL_CLASSES.index(cls_name)
        if cls not in by_class or miss < by_class[cls][0]:
            by_class[cls] = (miss, np.asarray(det, float))
    return {cls: corners for cls, (_, corners) in by_class.items()}


def load_detections(paths: Sequence[str], coco: dict, ann_path: str, score_thr: float
                    ) -> Dict[int, List[np.ndarray]]:
    """{image id: [corners (4, 2)]} of stage 1's results files on the films of ``coco`` (scoring ``score_thr`` or
    more, in SpineKey's corner order). Results numbering the films otherwise, or naming films the annotation
    lacks, are refused (spinekey.io.image_sets.common_images)."""
    from spinekey.io.image_sets import common_images
    from spinekey.io.coco_files import load_results
    names, order = _corner_order(coco, ann_path)
    out: Dict[int, List[np.ndarray]] = {}
    for path in paths:
        results = load_results(path)
        common_images(coco, results, ann_path, path)
        for r in results:
            kps = np.asarray(r.get('keypoints') or [], float).reshape(-1, 3)
            if r.get('score', 0.0) < score_thr or not len(kps):  # no corners: nothing to frame a patch on
                continue
            if len(kps) != len(names):
                raise SpineKeyError(f'{path}: a detection of image {r["image_id"]} has {len(kps)} keypoints, '
                                    f'{ann_path} names {len(names)}: results of a model for another keypoint set')
            if np.all(np.isfinite(kps[order, :2])):
                out.setdefault(r['image_id'], []).append(kps[order, :2])
    return out


@DATASETS.register_module()
class EndLevelPatchDataset(PerItemDraws, torch.utils.data.Dataset):
    """One item per film: its end examples' patches (n, 1, S, S) uint8 and classes (n,) into END_LEVEL_CLASSES.

    Args:
        ann_file: COCO file whose annotations carry ``label`` (T1..L5) and the four corners.
        data_root / img_prefix: the films are ``data_root/img_prefix/file_name``.
        patch_size / context: the frame (spinekey.datasets.patch_geometry.vertebra_frame, oriented).
        shift_noise / corner_noise / scale_noise: the simulated stage-1 error, as fractions of the vertebra's size.
        flip: mirror a patch left-right half the time (an AP film read from either side).
        test_mode: the same simulated errors every time (seeded by the item), no flip or photometric change.
        detections: stage 1's results files on these films (their image ids; paths as given, not under
            ``data_root``), e.g. ``tools/infer.py --ann-file ANN --score-thr 0.05``. A class stage 1 found a
            detection for is framed on that detection's corners ``detection_share`` of the time (always, when
            the annotation cannot place it: a C7 whose extrapolated centre falls off the film). Measured on
            AASCE fold 0: no better than the annotation alone (docs/aasce.md), so off by default.
        detection_score_thr: detections scoring less are not used.
    """

    def __init__(self, ann_file: str, data_root: str = '', img_prefix: str = '', patch_size: int = 128,
                 context: float = 4.0, shift_noise: float = 0.08, corner_noise: float = 0.03,
                 scale_noise: float = 0.1, flip: bool = True, photometric: bool = True, test_mode: bool = False,
                 detections: Optional[Sequence[str]] = None, detection_share: float = 0.5,
                 detection_score_thr: float = 0.05, **_ignored):
        from spinekey.io.coco_files import load_coco_gt
        path = os.path.join(data_root, ann_file)
        coco = load_coco_gt(path)
        by_image = labelled_columns(coco, path)
        self.folder = os.path.join(data_root, img_prefix)
        self.patch_size, self.context = patch_size, context
        self.shift_noise, self.corner_noise, self.scale_noise = shift_noise, corner_noise, scale_noise
        self.flip, self.photometric = flip and not test_mode, photometric and not test_mode
        self.test_mode = test_mode
        if not 0.0 <= detection_share <= 1.0:
            raise SpineKeyError(f'detection_share must be in [0, 1], got {detection_share}')
        self.detection_share = detection_share
        if isinstance(detections, str):
            detections = [detections]
        found = load_detections(list(detections), coco, path,
                                detection_score_thr) if detections else {}
        self.films = []
        for im in coco['images']:
            column = by_image.get(im['id'], {})
            examples = end_level_examples(column, im.get('width') or 10 ** 9, im.get('height') or 10 ** 9)
            from_stage1 = detection_examples(column, found[im['id']]) if im['id'] in found else {}
            if examples or from_stage1:
                self.films.append((im['file_name'], examples, from_stage1))
        if not self.films:
            raise SpineKeyError(f'{path}: no film with labelled end vertebrae (annotations need label T1..L5)')

    @property
    def metainfo(self) -> dict:
        """Saved in every checkpoint: the classes the classifier's outputs mean."""
        return {'end_level_classes': list(END_LEVEL_CLASSES), 'classes': ('vertebra',)}

    def __len__(self) -> int:
        return len(self.films)

    def class_counts(self) -> np.ndarray:
        counts = np.zeros(len(END_LEVEL_CLASSES), int)
        for _, examples, from_stage1 in self.films:
            for cls in {cls for cls, _ in examples} | set(from_stage1):
                counts[cls] += 1
        return counts

    def detection_counts(self) -> np.ndarray:
        """Per class, how many films have a stage-1 detection to frame it on."""
        counts = np.zeros(len(END_LEVEL_CLASSES), int)
        for _, _, from_stage1 in self.films:
            counts[list(from_stage1)] += 1
        return counts

    def _framed_corners(self, examples, from_stage1, rng: np.random.Generator) -> List[Tuple[int, np.ndarray]]:
        """(class, corners) of one film's examples: stage 1's detection ``detection_share`` of the time (always
        when the annotation cannot place that class), else the true corners moved by the simulated error."""
        truth = dict(examples)
        out = []
        for cls in sorted(set(truth) | set(from_stage1)):
            if cls in from_stage1 and (cls not in truth or rng.random() < self.detection_share):
                out.append((cls, from_stage1[cls]))
            else:
                out.append((cls, self.simulate_stage1(truth[cls], rng)))
        return out

    def simulate_stage1(self, corners: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return simulate_stage1(corners, rng, self.shift_noise, self.corner_noise, self.scale_noise)

    def __getitem__(self, index: int) -> dict:
        from spinekey.io.images import read_gray
        file_name, examples, from_stage1 = self.films[index]
        film = read_gray(os.path.join(self.folder, file_name))
        rng = self._rng(index)
        patches, labels = [], []
        for cls, corners in self._framed_corners(examples, from_stage1, rng):
            frame = vertebra_frame(corners, CORNERS_4, self.patch_size, self.context)
            patch = cut_patch(film, frame)
            if self.flip and rng.random() < 0.5:
                patch = patch[:, ::-1]
            if self.photometric:
                patch = photometric_jitter(patch, rng)
            patches.append(np.ascontiguousarray(patch))
            labels.append(cls)
        return {'inputs': torch.from_numpy(np.stack(patches)[:, None]),
                'data_samples': {'labels': torch.as_tensor(labels, dtype=torch.long), 'file_name': file_name}}
