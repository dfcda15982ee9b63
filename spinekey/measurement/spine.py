"""Measure one radiograph: order its vertebrae, name their levels, and compute every per-vertebra and
per-image measurement with a note instead of a number wherever the geometry does not allow one.

Takes vertebra records (and optionally a pixel spacing), returns rows for measurements.csv / images.csv; it
reads no file.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import List, Optional, Sequence, Tuple

import numpy as np

from spinekey.measurement.aasce import AASCE_VERTEBRAE, aasce_cobb_angles, aasce_window
from spinekey.measurement.chain import build_chain
from spinekey.measurement.options import MeasureOptions
from spinekey.measurement.geometry import (cobb_angle, endplates, genant_grade, height_reduction, heights,
                                           lordosis_angle, meyerding_grade, slip_percent)
from spinekey.measurement.qc import QC_DEFAULTS, apply_qc
from spinekey.measurement.uncertainty import IMAGE_UNC, VERTEBRA_UNC, add_uncertainty, unc_column
from spinekey.structures.levels import LEVELS, LevelOverflow, assign_levels
from spinekey.structures.vertebra import CORNERS, SpineMeasurement, VertebraInput, order_vertebrae


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


AP_VIEW_NOTE = 'AP view: no Genant or Meyerding grade, slip or lordosis (lateral-film measures)'


def _vertebra_row(v: VertebraInput, anterior: str, spacing, lateral: bool = True) -> Tuple[dict, List[str]]:
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
    if lateral:  # on an AP film the side heights differ by the scoliotic wedging, not by a fracture
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


def measure_spine(vertebrae: Sequence[VertebraInput], anterior: str, spacing=None,
                  image_height: Optional[float] = None, options: MeasureOptions = MeasureOptions()
                  ) -> SpineMeasurement:
    """Every measurement of one film (rows without image_id/file_name, which the caller adds), in four steps
    a reader can find by name: ``spine_rows`` (order, levels, heights, grades, slips), ``spine_angles``
    (Cobb, lordosis, AASCE), ``add_uncertainty`` (the ``*_unc`` columns by Monte Carlo) and ``spine_qc``.

    ``anterior`` is the side already chosen ('left' / 'right'); ``spacing`` [row_mm, col_mm] or None;
    ``image_height`` is needed by the AASCE procedure. From ``options``: bottom_level / top_level name the
    levels; aasce and chain choose the AASCE angles (the spine chain, spinekey.measurement.chain, instead of the
    17 best-scored consecutive vertebrae); unc_samples (0: no ``*_unc``); qc (thresholds, None: the defaults)
    and expected_levels (None: 17 with aasce) for the QC columns.
    """
    out = spine_rows(vertebrae, anterior, spacing, options)
    spine_angles(out, image_height, options)
    if options.unc_samples:
        quiet = replace(options, unc_samples=0)

        def measure_again(copies):
            again = spine_rows(copies, anterior, spacing, quiet)
            spine_angles(again, image_height, quiet)
            return again.vertebrae, again.image
        add_uncertainty(out.vertebrae, out.image, out.ordered, measure_again, options.unc_samples)
    spine_qc(out, options)
    return out


def spine_qc(out: SpineMeasurement, options: MeasureOptions) -> None:
    """The QC columns of ``out`` with ``options``' thresholds (None: the defaults) and expected levels (None:
    17 with aasce); also what an ensemble's combined angles are judged again with."""
    apply_qc(out, options.expected_levels or (AASCE_VERTEBRAE if options.aasce else None), options.qc or QC_DEFAULTS)


def spine_rows(vertebrae: Sequence[VertebraInput], anterior: str, spacing, options: MeasureOptions
               ) -> SpineMeasurement:
    """The film's vertebrae ordered along the column with their levels, and one measurements.csv row each;
    the image row holds the count, the side and the notes so far."""
    out = SpineMeasurement()
    order = order_vertebrae(vertebrae)
    out.ordered = [vertebrae[i] for i in order]
    image_notes = []
    try:
        out.levels = name_levels(out.ordered, options.bottom_level, options.top_level)
    except LevelOverflow as err:  # e.g. C7 and the sacrum found besides T1-L5: which one is T1 is unknown
        out.levels = ['' for _ in out.ordered]
        image_notes.append(f'{err}: levels left blank')
    if len(order) < len(vertebrae):
        image_notes.append(f'{len(vertebrae) - len(order)} vertebra(e) without keypoints or box were skipped')
    lateral = options.film_view == 'lateral'
    if not lateral:
        image_notes.append(AP_VIEW_NOTE)
    for i, v in enumerate(out.ordered):
        row, notes = _vertebra_row(v, anterior, spacing, lateral)
        row.update(level=out.levels[i], order=i + 1, score=_round(v.score, 4))
        if lateral and i + 1 < len(out.ordered):
            slip, note = _slip(v, out.ordered[i + 1], anterior)
            if note:
                notes.append(note)
            else:
                row['slip_percent'] = _round(slip, 2)
                row['meyerding_grade'] = meyerding_grade(slip)
        row['note'] = '; '.join(notes)
        out.vertebrae.append(row)
    out.image = {'n_vertebrae': len(out.ordered), 'anterior': anterior, 'note': '; '.join(image_notes)}
    return out


def spine_angles(out: SpineMeasurement, image_height: Optional[float], options: MeasureOptions) -> None:
    """Cobb angle and its end vertebrae, lordosis, and with ``options.aasce`` the AASCE angles, into
    ``out.image``, from the vertebrae with four usable corners."""
    image = out.image
    note = image.pop('note', '')
    image_notes = [note] if note else []
    full = [i for i, v in enumerate(out.ordered) if v.has_corners()
            and _endplate_ok(v, 'superior') and _endplate_ok(v, 'inferior')]
    if len(full) < 2:
        image_notes.append(f'{len(full)} vertebra(e) with four usable corners: no Cobb or lordosis angle')
    else:
        degrees, a, b = cobb_angle([out.ordered[i].points for i in full])
        out.cobb_ends = (full[a], full[b])
        image.update(cobb_deg=_round(degrees, 2), cobb_upper_level=out.levels[full[a]] or f'#{full[a] + 1}',
                     cobb_lower_level=out.levels[full[b]] or f'#{full[b] + 1}')
        if options.film_view == 'lateral':
            _lordosis(out, full, image, image_notes)
        if options.aasce:
            _aasce_angles(out, full, image, image_height, image_notes, options.chain)
    image['note'] = '; '.join(image_notes)


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
    image['lordosis_deg'] = _round(lordosis_angle(top_v.points, low_v.points, plate), 2)
    image['lordosis_levels'] = f'{sub_levels[c]} superior - {sub_levels[d]} {plate}'
    out.lordosis_ends = (full[c], full[d])
    out.lordosis_plate = plate


def _aasce_angles(out: SpineMeasurement, full: List[int], image: dict, image_height, notes: List[str],
                  use_chain: bool = False) -> None:
    if image_height is None:
        notes.append('AASCE angles need the image height')
        return
    if use_chain:
        chain = build_chain([out.ordered[i] for i in full], AASCE_VERTEBRAE)
        notes.extend(f'chain: {n}' for n in chain.notes)
        if len(chain.links) < 2:
            return
        out.aasce_vertebrae = [lk.vertebra for lk in chain.links]
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
    out.aasce_vertebrae = [out.ordered[i] for i in chosen]
    corners = np.array([[out.ordered[i].points[n] for n in CORNERS] for i in chosen], float)
    (main, second, third), _ = aasce_cobb_angles(corners, image_height)
    image.update(cobb_mt_deg=_round(main, 3), cobb_pt_deg=_round(second, 3), cobb_tl_deg=_round(third, 3))
