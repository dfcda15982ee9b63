"""Measure one radiograph: order its vertebrae, name their levels, and compute every per-vertebra and
per-image measurement with a note instead of a number wherever the geometry does not allow one.

Pure: takes keypoints (and optionally a pixel spacing), returns rows for measurements.csv / images.csv.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from spinekey.datasets.keypoint_names import CORNERS_4
from spinekey.measurement.geometry import (LEVELS, LevelOverflow, assign_levels, cobb_angle, endplates,
                                           genant_grade, height_reduction, heights, line_angle_deg, meyerding_grade,
                                           slip_percent)
from spinekey.measurement.uncertainty import DEFAULT_SAMPLES, IMAGE_UNC, VERTEBRA_UNC, add_uncertainty, unc_column

CORNERS = tuple(CORNERS_4)


def _with_unc(columns: Sequence[str], uncertain: Sequence[str]) -> List[str]:
    """``columns`` with ``<c>_unc`` and the calibrated range ``<c>_lo``, ``<c>_hi`` right after each uncertain
    column c (spinekey.measurement.conformal)."""
    return [x for c in columns for x in ([c, unc_column(c), f'{c}_lo', f'{c}_hi'] if c in uncertain else [c])]


VERTEBRA_COLUMNS = _with_unc(['image_id', 'file_name', 'level', 'order', 'height_anterior_px', 'height_middle_px',
                              'height_posterior_px', 'height_anterior_mm', 'height_middle_mm', 'height_posterior_mm',
                              'wedge_ratio', 'crush_ratio', 'genant_grade', 'slip_percent', 'meyerding_grade',
                              'score', 'note', 'qc_status', 'qc_reasons'], VERTEBRA_UNC)
IMAGE_COLUMNS = _with_unc(['image_id', 'file_name', 'n_vertebrae', 'anterior', 'cobb_deg', 'cobb_upper_level',
                           'cobb_lower_level', 'lordosis_deg', 'lordosis_levels', 'cobb_pt_deg', 'cobb_mt_deg',
                           'cobb_tl_deg', 'note', 'qc_status', 'qc_reasons'], IMAGE_UNC)


@dataclass
class VertebraInput:
    """One detected or annotated vertebra: visible keypoints by name, plus what the source says of it."""
    points: Dict[str, Tuple[float, float]]
    score: Optional[float] = None
    label: Optional[str] = None
    bbox: Optional[Sequence[float]] = None  # x, y, w, h: orders a vertebra whose corners are missing
    keypoint_scores: Optional[Dict[str, float]] = None  # predictions: the model's score per keypoint name
    keypoint_unc: Optional[Dict[str, float]] = None     # predictions: each keypoint's uncertainty (px, 1 sd)

    def centre(self) -> Optional[np.ndarray]:
        corners = [self.points[n] for n in CORNERS if n in self.points]
        if corners:
            return np.mean(np.asarray(corners, float), axis=0)
        if self.bbox is not None:
            x, y, w, h = self.bbox
            return np.array([x + w / 2, y + h / 2])
        return None

    def has_corners(self) -> bool:
        return all(n in self.points for n in CORNERS)


@dataclass
class SpineMeasurement:
    vertebrae: List[dict] = field(default_factory=list)  # rows in VERTEBRA_COLUMNS
    image: dict = field(default_factory=dict)             # row in IMAGE_COLUMNS
    ordered: List[VertebraInput] = field(default_factory=list)
    levels: List[str] = field(default_factory=list)
    cobb_ends: Optional[Tuple[int, int]] = None           # indices into ordered
    lordosis_ends: Optional[Tuple[int, int]] = None
    lordosis_plate: str = 'inferior'                      # caudal endplate used for lordosis


def order_vertebrae(vertebrae: Sequence[VertebraInput]) -> List[int]:
    """Cranial-to-caudal order along the column's principal axis (robust to curves and rotated films)."""
    centres = [v.centre() for v in vertebrae]
    known = [i for i, c in enumerate(centres) if c is not None]
    if len(known) < 2:
        return known
    pts = np.array([centres[i] for i in known])
    axis = column_axis(pts)
    return [known[i] for i in np.argsort((pts - pts.mean(0)) @ axis, kind='stable')]


def column_axis(centres: np.ndarray) -> np.ndarray:
    """Unit direction of the column through vertebra centres (N >= 2, 2): their principal axis, pointing down
    the film (y down)."""
    axis = np.linalg.svd(centres - centres.mean(0), full_matrices=False)[2][0]
    return -axis if axis[1] < 0 else axis


def name_levels(ordered: Sequence[VertebraInput], bottom_level: Optional[str] = None,
                top_level: Optional[str] = None) -> List[str]:
    """Levels from the annotations' labels when every vertebra has one, else from the given end level."""
    if ordered and all(v.label for v in ordered):
        return [str(v.label) for v in ordered]
    if bottom_level:
        return assign_levels(len(ordered), bottom_level)
    if top_level:
        if top_level not in LEVELS:
            raise ValueError(f'unknown level {top_level!r}; use one of {LEVELS}')
        start = LEVELS.index(top_level)
        if start + len(ordered) > len(LEVELS):
            raise LevelOverflow(f'{len(ordered)} vertebrae cannot start at {top_level}')
        return list(LEVELS[start:start + len(ordered)])
    return ['' for _ in ordered]


def length_mm(p, q, spacing: Optional[Sequence[float]]) -> Optional[float]:
    """Length of p-q in mm for pixel spacing [row_mm, col_mm] (DICOM order), None when unknown."""
    if not spacing:
        return None
    row_mm, col_mm = float(spacing[0]), float(spacing[1])
    return math.hypot((q[0] - p[0]) * col_mm, (q[1] - p[1]) * row_mm)


def _round(x, nd=3):
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else round(float(x), nd)


def _vertebra_row(v: VertebraInput, anterior: str, spacing) -> Tuple[dict, List[str]]:
    row, notes = {}, []
    missing = [n for n in CORNERS if n not in v.points]
    if missing:
        return row, [f'missing keypoint(s) {", ".join(missing)}: no heights']
    h = heights(v.points, anterior)
    post = 'right' if anterior == 'left' else 'left'
    row['height_anterior_px'] = _round(h['height_anterior'])
    row['height_middle_px'] = _round(h['height_middle'])
    row['height_posterior_px'] = _round(h['height_posterior'])
    if spacing:
        p = v.points
        row['height_anterior_mm'] = _round(length_mm(p[f'top_{anterior}'], p[f'bottom_{anterior}'], spacing))
        row['height_posterior_mm'] = _round(length_mm(p[f'top_{post}'], p[f'bottom_{post}'], spacing))
        if 'top_middle' in p and 'bottom_middle' in p:
            top, bottom = p['top_middle'], p['bottom_middle']
        else:
            top = np.mean([p['top_left'], p['top_right']], axis=0)
            bottom = np.mean([p['bottom_left'], p['bottom_right']], axis=0)
        row['height_middle_mm'] = _round(length_mm(top, bottom, spacing))
    if h['height_posterior'] <= 0 or max(h['height_anterior'], h['height_middle'], h['height_posterior']) <= 0:
        notes.append('degenerate vertebra (zero posterior height): no ratios or grade')
        return row, notes
    row['wedge_ratio'] = _round(h['wedge_ratio'], 4)
    row['crush_ratio'] = _round(h['crush_ratio'], 4)
    row['genant_grade'] = genant_grade(height_reduction(h))
    return row, notes


def _slip(upper: VertebraInput, lower: VertebraInput, anterior: str) -> Tuple[Optional[float], Optional[str]]:
    if not (upper.has_corners() and lower.has_corners()):
        return None, 'slip: missing keypoints on this or the next vertebra'
    value = slip_percent(upper.points, lower.points, anterior)
    if not math.isfinite(value):
        return None, 'slip: zero-length superior endplate of the next vertebra'
    return value, None


def _plate(v: VertebraInput, plate: str):
    """The superior or inferior endplate of ``v`` as a pair of corner points."""
    return endplates(v.points)[0 if plate == 'superior' else 1]


def _endplate_ok(v: VertebraInput, plate: str) -> bool:
    a, b = _plate(v, plate)
    return bool(np.any(a != b))


LORDOSIS_NEEDS = 'lordosis needs L1 and L5 or S1 named (levels in the input, or --bottom-level / --top-level)'


def lordosis_ends(levels: Sequence[str]) -> Optional[Tuple[int, int, str]]:
    """(cranial index, caudal index, caudal plate): L1 superior to S1 superior when both are named, L1 to L5
    inferior when L5 is the lowest; None without those levels (the angle between the film's top and bottom
    endplates is not a lordosis: it spans whatever the film shows)."""
    if 'L1' in levels and 'S1' in levels:
        return levels.index('L1'), levels.index('S1'), 'superior'
    if 'L1' in levels and 'L5' in levels:
        return levels.index('L1'), levels.index('L5'), 'inferior'
    return None


def measure_spine(vertebrae: Sequence[VertebraInput], anterior: str, spacing=None, bottom_level=None,
                  top_level=None, aasce: bool = False, image_height: Optional[float] = None,
                  chain: bool = False, expected_levels: Optional[int] = None,
                  unc_samples: int = DEFAULT_SAMPLES, qc: bool = True, qc_thresholds=None) -> SpineMeasurement:
    """Every measurement of one image (rows without image_id/file_name, which the caller adds).

    ``chain``: the AASCE angles use the spine chain (spinekey.measurement.chain: duplicates merged, strays and
    extra levels dropped, missed levels filled) instead of the 17 best-scored consecutive vertebrae.
    ``unc_samples``: Monte Carlo copies for the ``*_unc`` columns (spinekey.measurement.uncertainty), used
    when the keypoints carry an uncertainty; 0 turns it off. ``qc``: add the QC columns, judged with
    ``qc_thresholds`` (spinekey.measurement.qc.QCThresholds; None: the defaults).
    """
    out = SpineMeasurement()
    order = order_vertebrae(vertebrae)
    out.ordered = [vertebrae[i] for i in order]
    image_notes = []
    try:
        out.levels = name_levels(out.ordered, bottom_level, top_level)
    except LevelOverflow as err:  # e.g. C7 and the sacrum found besides T1-L5: which one is T1 is unknown
        out.levels = ['' for _ in out.ordered]
        image_notes.append(f'{err}: levels left blank')
    if len(order) < len(vertebrae):
        image_notes.append(f'{len(vertebrae) - len(order)} vertebra(e) without keypoints or box were skipped')
    for i, v in enumerate(out.ordered):
        row, notes = _vertebra_row(v, anterior, spacing)
        row.update(level=out.levels[i], order=i + 1, score=_round(v.score, 4))
        if i + 1 < len(out.ordered):
            slip, note = _slip(v, out.ordered[i + 1], anterior)
            if note:
                notes.append(note)
            else:
                row['slip_percent'] = _round(slip, 2)
                row['meyerding_grade'] = meyerding_grade(slip)
        row['note'] = '; '.join(notes)
        out.vertebrae.append(row)

    full = [i for i, v in enumerate(out.ordered) if v.has_corners()
            and _endplate_ok(v, 'superior') and _endplate_ok(v, 'inferior')]
    image = {'n_vertebrae': len(out.ordered), 'anterior': anterior}
    if len(full) < 2:
        image_notes.append(f'{len(full)} vertebra(e) with four usable corners: no Cobb or lordosis angle')
    else:
        degrees, a, b = cobb_angle([out.ordered[i].points for i in full])
        out.cobb_ends = (full[a], full[b])
        image.update(cobb_deg=_round(degrees, 2), cobb_upper_level=out.levels[full[a]] or f'#{full[a] + 1}',
                     cobb_lower_level=out.levels[full[b]] or f'#{full[b] + 1}')
        _lordosis(out, full, image, image_notes)
        if aasce:
            _aasce_angles(out, full, image, image_height, image_notes, chain)
    image['note'] = '; '.join(image_notes)
    out.image = image
    if unc_samples:
        def measure_again(copies):
            again = measure_spine(copies, anterior, spacing, bottom_level, top_level, aasce, image_height, chain,
                                  expected_levels, unc_samples=0, qc=False)
            return again.vertebrae, again.image
        add_uncertainty(out.vertebrae, out.image, out.ordered, measure_again, unc_samples)
    if qc:
        from spinekey.measurement.qc import QC_DEFAULTS, apply_qc
        apply_qc(out, expected_levels or (AASCE_VERTEBRAE if aasce else None), qc_thresholds or QC_DEFAULTS)
    return out


def _lordosis(out: SpineMeasurement, full: List[int], image: dict, notes: List[str]) -> None:
    sub_levels = [out.levels[i] for i in full]
    ends = lordosis_ends(sub_levels)
    if ends is None:
        if any(sub_levels):  # levels known, the lumbar ones not on this film: nothing to say on a thoracic film
            return
        notes.append(f'no lordosis: {LORDOSIS_NEEDS}')
        return
    c, d, plate = ends
    top_v, low_v = out.ordered[full[c]], out.ordered[full[d]]
    image['lordosis_deg'] = _round(line_angle_deg(*_plate(top_v, 'superior'), *_plate(low_v, plate)), 2)
    image['lordosis_levels'] = f'{sub_levels[c]} superior - {sub_levels[d]} {plate}'
    out.lordosis_ends = (full[c], full[d])
    out.lordosis_plate = plate


AASCE_VERTEBRAE = 17  # T1-L5


def aasce_window(scores: Sequence[Optional[float]], size: int = AASCE_VERTEBRAE) -> Tuple[int, int]:
    """[start, end) of the ``size`` consecutive vertebrae (cranial to caudal) with the highest total score:
    a model also finds C7 or the sacrum, which the AASCE annotation (T1-L5) does not include."""
    if len(scores) <= size:
        return 0, len(scores)
    values = np.array([1.0 if s is None else float(s) for s in scores])
    sums = np.convolve(values, np.ones(size), mode='valid')
    start = int(np.argmax(sums))
    return start, start + size


def _aasce_angles(out: SpineMeasurement, full: List[int], image: dict, image_height, notes: List[str],
                  use_chain: bool = False) -> None:
    from spinekey.measurement.aasce import aasce_cobb_angles
    if image_height is None:
        notes.append('AASCE angles need the image height')
        return
    if use_chain:
        from spinekey.measurement.chain import build_chain
        chain = build_chain([out.ordered[i] for i in full], AASCE_VERTEBRAE)
        notes.extend(f'chain: {n}' for n in chain.notes)
        if len(chain.links) < 2:
            return
        corners = np.array([[lk.vertebra.points[n] for n in CORNERS] for lk in chain.links], float)
        (main, second, third), _ = aasce_cobb_angles(corners, image_height)
        image.update(cobb_mt_deg=_round(main, 3), cobb_pt_deg=_round(second, 3), cobb_tl_deg=_round(third, 3))
        return
    start, end = aasce_window([out.ordered[i].score for i in full])
    if end - start < len(full):
        notes.append(f'AASCE angles on the {end - start} consecutive vertebrae with the highest scores '
                     f'(of {len(full)})')
    elif len(full) != AASCE_VERTEBRAE:
        notes.append(f'AASCE procedure on {len(full)} vertebrae (the challenge expects {AASCE_VERTEBRAE}, T1-L5)')
    chosen = full[start:end]
    corners = np.array([[out.ordered[i].points[n] for n in CORNERS] for i in chosen], float)
    (main, second, third), _ = aasce_cobb_angles(corners, image_height)
    image.update(cobb_mt_deg=_round(main, 3), cobb_pt_deg=_round(second, 3), cobb_tl_deg=_round(third, 3))
