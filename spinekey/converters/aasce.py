"""Read the AASCE 2019 / SpineWeb-16 ("boostnet") spine radiographs and convert them to SpineKey COCO.

Layout (as distributed): ``boostnet_labeldata/data/<split>/<name>.jpg``, ``labels/<split>/<name>.jpg.mat``
(variable ``p2``: 68 x 2 pixels), and per split ``landmarks.csv`` (68 x then 68 y, normalised),
``angles.csv`` (three Cobb angles: main, proximal thoracic, thoracolumbar/lumbar) and ``filenames.csv``.
The 68 points are T1..L5, four corners each in the order top-left, top-right, bottom-left, bottom-right.
"""
from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np

from spinekey.structures.keypoint_names import CORNERS_4
from spinekey.converters.coco_builder import CocoBuilder
from spinekey.converters.formats import image_info
from spinekey.converters.vertebra_checks import vertebra_problems
from spinekey.utils.errors import SpineKeyError

AASCE_LEVELS = ['T' + str(i) for i in range(1, 13)] + ['L' + str(i) for i in range(1, 6)]
# AASCE stores TL, TR, BL, BR per vertebra; SpineKey's order is TL, TR, BR, BL
AASCE_TO_SPINEKEY = [0, 1, 3, 2]
N_POINTS = 4 * len(AASCE_LEVELS)


@dataclass
class AasceRecord:
    name: str                        # image file name (with spaces, as in filenames.csv)
    file_name: str                   # relative to the dataset folder
    width: int = 0
    height: int = 0
    points: Optional[np.ndarray] = None  # [68, 2] in AASCE order, pixels
    angles: Optional[List[float]] = None  # angles.csv order: main, proximal thoracic, thoracolumbar
    problems: List[str] = field(default_factory=list)  # whole-image problems (image excluded)

    def corners(self) -> np.ndarray:
        """[17, 4, 2] corners in SpineKey order (top_left, top_right, bottom_right, bottom_left)."""
        return self.points.reshape(len(AASCE_LEVELS), 4, 2)[:, AASCE_TO_SPINEKEY]


def patient_id(name: str) -> str:
    """'sunhl-1th-02-Jan-2017-162 A AP.jpg' -> 'sunhl-1th-02-Jan-2017-162': films A/B/C are one patient."""
    stem = os.path.splitext(name)[0]
    return re.sub(r'\s+[A-Z]\s+AP$', '', stem).strip()


def _read_rows(path: str) -> List[List[str]]:
    if not os.path.isfile(path):
        raise SpineKeyError(f'{path}: not found (is --src the folder that holds boostnet_labeldata/?)')
    with open(path, newline='', encoding='utf-8') as f:
        return [row for row in csv.reader(f) if row and any(c.strip() for c in row)]


def _read_mat(path: str) -> np.ndarray:
    import scipy.io
    try:
        points = np.asarray(scipy.io.loadmat(path)['p2'], float)
    except Exception as err:  # scipy raises ValueError/TypeError/KeyError for damaged files
        raise ValueError(f'cannot read {os.path.basename(path)} ({type(err).__name__}: {err})') from None
    if points.shape != (N_POINTS, 2):
        raise ValueError(f'{os.path.basename(path)}: p2 has shape {points.shape}, expected ({N_POINTS}, 2)')
    return points


def read_aasce(src: str, split: str = 'training', labels: str = 'mat') -> List[AasceRecord]:
    """Every image of ``split`` with its landmarks and angles; problems are recorded, never raised.

    ``labels='csv'`` reads landmarks.csv (normalised by the image size) instead of the .mat files.
    """
    base = os.path.join(src, 'boostnet_labeldata')
    label_dir = os.path.join(base, 'labels', split)
    names = [row[0].strip() for row in _read_rows(os.path.join(label_dir, 'filenames.csv'))]
    angle_rows = _read_rows(os.path.join(label_dir, 'angles.csv'))
    csv_rows = _read_rows(os.path.join(label_dir, 'landmarks.csv')) if labels == 'csv' else None
    count_problem = None
    if len(angle_rows) != len(names):
        count_problem = (f'angles.csv has {len(angle_rows)} rows but filenames.csv has {len(names)}: '
                         'rows beyond the shorter file are excluded')
    if csv_rows is not None and len(csv_rows) != len(names):
        count_problem = (f'landmarks.csv has {len(csv_rows)} rows but filenames.csv has {len(names)}: '
                         'rows beyond the shorter file are excluded')
    records = []
    for row, name in enumerate(names):
        rec = AasceRecord(name=name, file_name=f'boostnet_labeldata/data/{split}/{name}')
        records.append(rec)
        try:
            rec.width, rec.height, _ = image_info(os.path.join(src, rec.file_name))
        except ValueError as err:
            rec.problems.append(str(err))
            continue
        try:
            if row < len(angle_rows):
                rec.angles = [float(v) for v in angle_rows[row][:3]]
                if len(rec.angles) != 3:
                    raise ValueError
        except ValueError:
            rec.problems.append(f'angles.csv row {row + 1} is not three numbers')
        try:
            if csv_rows is None:
                rec.points = _read_mat(os.path.join(label_dir, name + '.mat'))
            elif row < len(csv_rows):
                values = np.asarray(csv_rows[row], float)
                if values.size != 2 * N_POINTS:
                    raise ValueError(f'landmarks.csv row {row + 1} has {values.size} values, expected {2 * N_POINTS}')
                rec.points = np.stack([values[:N_POINTS] * rec.width, values[N_POINTS:] * rec.height], axis=1)
        except FileNotFoundError:
            rec.problems.append('label file (.mat) missing')
        except ValueError as err:
            rec.problems.append(str(err))
        if rec.points is None and not rec.problems:
            rec.problems.append('no landmarks (row missing)')
        if rec.angles is None and not any('angles' in p for p in rec.problems):
            rec.problems.append('no Cobb angles (angles.csv row missing)')
    if count_problem:
        records.append(AasceRecord(name='*', file_name='*', problems=[count_problem]))
    return records


def to_coco(records: List[AasceRecord], box_pad: float = 0.0, keep_faulty: bool = False) -> dict:
    """SpineKey COCO for the records: one annotation per vertebra, images excluded with reasons.

    An image with a faulty vertebra is excluded whole (``keep_faulty`` keeps its sound vertebrae):
    training on a film with one vertebra unannotated would teach the detector that it is background.
    ``box_pad`` enlarges each tight corner box by that fraction of its size on every side.
    """
    builder = CocoBuilder(CORNERS_4, box_pad=box_pad)
    for rec in records:
        if rec.problems:
            builder.excluded.append({'file_name': rec.name, 'level': None, 'reasons': rec.problems})
            continue
        corners = rec.corners()
        faults = vertebra_problems(corners)
        for i, reasons in sorted(faults.items()):
            builder.excluded.append({'file_name': rec.name, 'level': AASCE_LEVELS[i], 'reasons': reasons})
        if faults and not keep_faulty:
            builder.exclude(rec.name, f'{len(faults)} faulty vertebra(e): image not used')
            continue
        mt, pt, tl = rec.angles
        image_id = builder.add_image(rec.file_name, rec.width, rec.height, patient_id=patient_id(rec.name),
                                     cobb_angles=[pt, mt, tl])
        for i, quad in enumerate(corners):
            if i not in faults:
                builder.add_instance(image_id, {n: (x, y, 2) for n, (x, y) in zip(CORNERS_4, quad)},
                                     rec.name, label=AASCE_LEVELS[i])
    return builder.to_coco('AASCE 2019 (SpineWeb 16) converted by SpineKey',
                           cobb_angles_order=['proximal_thoracic', 'main_thoracic', 'thoracolumbar_lumbar'])
