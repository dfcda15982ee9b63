"""Training films for the level-chain model: true annotated columns with the errors a detector makes,
simulated, so the model trains from annotations alone in minutes (no detector run).

What is simulated (rates from the stage-1 recipe on AASCE: about 1.2 missed levels a film, most at the ends;
C7 or a sacral segment taken for a vertebra; duplicates; strays): each level missed with ``p_miss`` (T1 and L5
with ``p_miss_end``); a C7 above T1 and an S1 below L5, each with ``p_extra`` (shapes and spacing continued from
their neighbours, the sacrum wider and tilted), labelled C7 / S1; a duplicate of one vertebra (``p_duplicate``)
and a stray box off the column (``p_stray``), labelled "not a vertebra"; every corner moved as stage 1 errs, and
scores drawn lower for the extras.

Given ``detections`` (a detector's results.json on the same training films, tools/infer.py), a share
``p_detections`` of the items are instead what the detector really found on a film, each detection labelled with
the level of the true vertebra it pairs with (box IoU >= 0.5) or "not a vertebra": the duplicates, boxes
straddling two vertebrae and sacral segments a simulation does not think of.
"""
from __future__ import annotations

import os
from typing import List, Optional, Tuple

import numpy as np
import torch
from mmdet.registry import DATASETS

from spinekey.structures.results import DEFAULT_SCORE_THR
from spinekey.structures.vertebra import (CORNERS, VertebraInput, film_named, films_by_name, order_vertebrae,
                                          pair_vertebrae)
from spinekey.models.level_chain.features import detection_features
from spinekey.models.level_chain.level_chain_model import CHAIN_LEVELS, classes_of
from spinekey.utils.errors import SpineKeyError


def _shifted(q: np.ndarray, offset: np.ndarray, widen: float = 1.0, turn_deg: float = 0.0) -> np.ndarray:
    c = q.mean(0)
    a = np.radians(turn_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return ((q - c) * [widen, 1.0]) @ rot.T + c + offset


def detected_films(coco: dict, detections: str, score_thr: float = DEFAULT_SCORE_THR
                   ) -> List[Tuple[Optional[float], List[VertebraInput], List[Optional[str]]]]:
    """(film height, detections with corners in spine order, their true level or None) of every annotated film
    of ``coco`` that the results file ``detections`` has (paired by file name)."""
    from spinekey.io.coco_files import load_results
    from spinekey.measurement.inputs import images_from_gt, images_from_results
    truth = films_by_name(images_from_gt(coco))
    films = []
    for film in images_from_results(load_results(detections), score_thr, gt=coco, source=detections):
        gt = film_named(truth, film.file_name)
        labelled = [v for v in gt.vertebrae if v.label in CHAIN_LEVELS and v.has_corners()] if gt else []
        found = [v for v in film.vertebrae if v.has_corners()]
        if not labelled or not found:
            continue
        ordered = [found[i] for i in order_vertebrae(found)]
        pairs = pair_vertebrae(labelled, ordered)
        films.append((gt.height, ordered, [labelled[pairs[i]].label if i in pairs else None
                                           for i in range(len(ordered))]))
    return films


@DATASETS.register_module()
class SimulatedChainDataset(torch.utils.data.Dataset):
    """One item per annotated film (levels in each annotation's ``label``), ``repeats`` times an epoch, each a
    fresh simulation or (``p_detections``, given ``detections``) the detector's own output on the film:
    {'inputs': features (n, F), 'data_samples': {'labels': classes (n,)}}."""

    def __init__(self, ann_file: str, data_root: str = '', repeats: int = 4, p_miss: float = 0.03,
                 p_miss_end: float = 0.12, p_extra: float = 0.5, p_duplicate: float = 0.1, p_stray: float = 0.1,
                 seed: int = 0, detections: Optional[str] = None, p_detections: float = 0.5,
                 score_thr: float = DEFAULT_SCORE_THR, **_ignored):
        from spinekey.io.coco_files import load_coco_gt
        path = os.path.join(data_root, ann_file)
        coco = load_coco_gt(path)
        by_image = {}
        for a in coco['annotations']:
            kps = np.asarray(a.get('keypoints') or [], float).reshape(-1, 3)
            if a.get('label') in CHAIN_LEVELS and len(kps) >= 4:
                by_image.setdefault(a['image_id'], []).append((CHAIN_LEVELS.index(a['label']), kps[:4, :2]))
        heights = {im['id']: im.get('height') for im in coco['images']}
        self.films: List[Tuple[float, List[Tuple[int, np.ndarray]]]] = [
            (heights.get(i), sorted(v, key=lambda t: t[0])) for i, v in by_image.items() if len(v) >= 3]
        if not self.films:
            raise SpineKeyError(f'{path}: no film with three or more vertebrae labelled with their level')
        self.repeats = repeats
        self.p_miss, self.p_miss_end, self.p_extra = p_miss, p_miss_end, p_extra
        self.p_duplicate, self.p_stray, self.seed = p_duplicate, p_stray, seed
        self.p_detections = p_detections
        self.detected = detected_films(coco, detections, score_thr) if detections else []
        if detections and not self.detected:
            raise SpineKeyError(f'{detections}: no detections with corners on the films of {path} (paired by '
                                'file name): give the detector\'s results.json on these training films')
        self._draws = 0

    @property
    def metainfo(self) -> dict:
        return {'chain_levels': CHAIN_LEVELS}

    def __len__(self) -> int:
        return len(self.films) * self.repeats

    def simulate(self, index: int, rng: np.random.Generator):
        """(ordered VertebraInputs, their level names or None, film height) of one simulated detector run."""
        height, truth = self.films[index % len(self.films)]
        quads = {lv: q for lv, q in truth}
        levels = sorted(quads)
        size = float(np.median([np.ptp(q[:, 0]) for q in quads.values()]))
        found: List[Tuple[np.ndarray, float, object]] = []
        for lv in levels:
            end = lv in (levels[0], levels[-1])
            if rng.random() < (self.p_miss_end if end else self.p_miss):
                continue
            found.append((quads[lv], float(np.clip(1 - abs(rng.normal(0, 0.12)), 0.3, 1.0)), CHAIN_LEVELS[lv]))
        top, bottom = quads[levels[0]], quads[levels[-1]]
        step_up = quads[levels[0]].mean(0) - quads[levels[1]].mean(0)
        step_down = quads[levels[-1]].mean(0) - quads[levels[-2]].mean(0)
        if levels[0] > 0 and rng.random() < self.p_extra:
            found.append((_shifted(top, step_up, 0.9), rng.uniform(0.3, 0.95), CHAIN_LEVELS[levels[0] - 1]))
        if levels[-1] < len(CHAIN_LEVELS) - 1 and rng.random() < self.p_extra:
            found.append((_shifted(bottom, step_down * 1.1, 1.15, rng.uniform(-15, 15)), rng.uniform(0.3, 0.95),
                          CHAIN_LEVELS[levels[-1] + 1]))
        if found and rng.random() < self.p_duplicate:
            q, s, _ = found[rng.integers(len(found))]
            found.append((_shifted(q, rng.normal(0, 0.15 * size, 2)), s * rng.uniform(0.4, 0.9), None))
        if rng.random() < self.p_stray:
            q = quads[levels[rng.integers(len(levels))]]
            side = rng.choice([-1, 1]) * rng.uniform(1.5, 4.0) * size
            found.append((_shifted(q, np.array([side, 0.0]), rng.uniform(0.5, 1.2)), rng.uniform(0.3, 0.7), None))
        vertebrae, names = [], []
        for q, score, name in found:
            moved = q + rng.normal(0, 0.05 * size, 2) + rng.normal(0, 0.03 * size, q.shape)
            vertebrae.append(VertebraInput(dict(zip(CORNERS, map(tuple, moved))), float(score)))
            names.append(name)
        order = order_vertebrae(vertebrae)
        return [vertebrae[i] for i in order], [names[i] for i in order], height

    def __getitem__(self, index: int) -> dict:
        self._draws += 1
        rng = np.random.default_rng([self.seed, index, self._draws, torch.initial_seed() % 2 ** 32])
        if self.detected and rng.random() < self.p_detections:
            height, ordered, names = self.detected[index % len(self.detected)]
        else:
            ordered, names, height = self.simulate(index, rng)
        return {'inputs': torch.from_numpy(detection_features(ordered, height)),
                'data_samples': {'labels': torch.tensor(classes_of(names))}}
