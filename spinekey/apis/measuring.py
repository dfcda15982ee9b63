"""Measure one film: anterior side, levels, heights, grades, Cobb and lordosis, custom columns, an overlay.

The per-film step behind ``tools/measure.py``, ``SpineKeyInferencer`` and the report: one place decides which
image is read, which side is anterior and what goes into the rows of measurements.csv and images.csv.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import List, Optional, Sequence, Tuple

import numpy as np

from spinekey.measurement.options import MeasureOptions
from spinekey.measurement.spine import measure_spine
from spinekey.structures.vertebra import ImageInput, SpineMeasurement
from spinekey.utils.errors import SpineKeyError


def calibration_of(cfg, source: str, num_keypoints: Optional[int] = None):
    """The config's ``conformal = dict(...)`` as a Calibration (None without one), checked against the model's K.

    Raises:
        SpineKeyError: a bad entry, or factors fitted for another K (one line naming ``source``).
    """
    from spinekey.measurement.conformal import Calibration
    try:
        cal = Calibration.from_config(cfg.get('conformal'))
        if cal is not None and num_keypoints is not None:
            cal.check_keypoints(num_keypoints)
    except (TypeError, ValueError) as err:
        raise SpineKeyError(f'{source}: {err}') from None
    return cal


def model_input_scale(cfg) -> Optional[Tuple[int, int]]:
    """The keep-ratio scale a config's test pipeline resizes films to, e.g. (1024, 512); None if it has none."""
    pipeline = cfg.get('test_pipeline') or cfg.get('test_dataloader', {}).get('dataset', {}).get('pipeline') or []
    for step in pipeline:
        if 'Resize' in str(step.get('type', '')) and step.get('scale') and step.get('keep_ratio', True):
            scale = step['scale']
            return (int(scale), int(scale)) if isinstance(scale, (int, float)) else (int(scale[0]), int(scale[1]))
    return None


@dataclass
class FilmMeasurement:
    """Rows of one film: ``vertebrae`` (measurements.csv, spine order) and ``image`` (images.csv)."""
    vertebrae: List[dict]
    image: dict
    spine: SpineMeasurement
    anterior: str
    overlay_jpg: Optional[bytes] = None
    notes: List[str] = field(default_factory=list)


def load_gray(path: str) -> Tuple[np.ndarray, Optional[list]]:
    """(grayscale image, pixel spacing read from a DICOM file or None)."""
    from spinekey.io.dicom import is_dicom, read_dicom
    if os.path.isfile(path) and is_dicom(path):
        return read_dicom(path)
    from spinekey.io.images import read_gray
    return read_gray(path), None


def film_defaults_of(cfg, source: str, options: MeasureOptions) -> MeasureOptions:
    """``options`` with what the model config says of its films where the options leave it open (None): the
    film view (``view = 'ap'``) and whether the AASCE angles are measured (``aasce_angles = True``); the AASCE
    configs set both, so their users get what ``make aasce`` scored without a flag.

    Raises:
        SpineKeyError: naming ``source``: a view that is neither 'lateral' nor 'ap', an aasce_angles that is
            not True or False.
    """
    found = {key: cfg.get(name) for key, name in (('view', 'view'), ('aasce', 'aasce_angles'))
             if getattr(options, key) is None and cfg.get(name) is not None}
    if not found:
        return options
    try:
        return replace(options, **found)
    except ValueError as err:
        raise SpineKeyError(f'{source}: {err}') from None


def film_size(im: ImageInput, gray: Optional[np.ndarray], image_path: Optional[str]) -> Tuple[Optional[int],
                                                                                          Optional[int]]:
    """(width, height) of the film: from the input (a GT file, summary.csv), else the pixels read, else the image
    file's header (the AASCE angles and the film_shrunk check need them; results.json does not carry them, and
    decoding a film only for its size would cost more than the measuring)."""
    width, height = im.width, im.height
    if gray is not None:
        height, width = height or gray.shape[0], width or gray.shape[1]
    if (width is None or height is None) and image_path and os.path.isfile(image_path):
        from spinekey.io.images import header_size
        size = header_size(image_path)
        if size:
            width, height = width or size[0], height or size[1]
    return width, height


def choose_anterior(side: str, image_input: ImageInput, gray) -> Tuple[str, str]:
    """(side, note): the user's side, else the one read from the image, else 'left' with a warning note."""
    if side != 'auto':
        return side, ''
    if gray is not None:
        from spinekey.measurement.anterior import detect_anterior
        found, agreement = detect_anterior(gray, image_input.vertebrae)
        if found:
            return found, '' if agreement >= 0.7 else f'anterior side uncertain ({agreement:.0%} of vertebrae agree)'
    return 'left', 'anterior side unknown (no image): assumed left; pass --anterior'


def add_custom_columns(measures, m: SpineMeasurement, rows: List[dict], spacing) -> None:
    from spinekey.measurement.custom import evaluate_measures
    for v, row in zip(m.ordered, rows):
        values, notes = evaluate_measures(v.points, measures, spacing)
        row.update(values)
        if notes:
            row['note'] = '; '.join(n for n in [row.get('note')] + notes if n)


def measure_film(im: ImageInput, options: MeasureOptions, image_path: Optional[str] = None,
                 gray: Optional[np.ndarray] = None, source: str = 'input') -> FilmMeasurement:
    """Measure the vertebrae of ``im``; the film is read from ``image_path`` only when needed (anterior side,
    overlay, a DICOM's pixel spacing) unless ``gray`` is given. ``source`` names the input in errors.

    Raises:
        SpineKeyError: more vertebrae than levels from the given end level (one line naming the film).
    """
    read_note, file_spacing = '', None
    from spinekey.io.dicom import dicom_view, is_dicom
    dicom = bool(image_path) and is_dicom(image_path)  # IM0001 of a PACS export too
    if options.view is None and dicom:  # neither the user nor the model said: the film's own tag
        options = replace(options, view=dicom_view(image_path))
    # the anterior side is a lateral film's; on an AP film 'anterior' heights are the film's left side's
    side = options.anterior if options.film_view == 'lateral' or options.anterior != 'auto' else 'left'
    need_image = side == 'auto' or options.overlay or options.end_levels is not None
    dicom_spacing = not im.pixel_spacing and dicom
    if gray is None and image_path and (need_image or dicom_spacing):
        try:
            gray, file_spacing = load_gray(image_path)
        except SpineKeyError as err:
            read_note = f'image not read ({err})'
    spacing = [options.pixel_spacing] * 2 if options.pixel_spacing else (im.pixel_spacing or file_spacing)
    anterior, side_note = choose_anterior(side, im, gray)
    width, height = film_size(im, gray, image_path)
    vertebrae, chain, ends = im.vertebrae, None, None
    if options.level_chain is not None:
        chain = options.level_chain.apply(im.vertebrae, height)
        vertebrae = chain.vertebrae
    elif options.end_levels is not None:
        ends = options.end_levels.apply(im.vertebrae, gray)
        vertebrae = ends.vertebrae
    completed = []
    if options.end_completion is not None and im.faint and chain is None and ends is None:
        from spinekey.measurement.end_completion import complete_ends
        vertebrae, completed = complete_ends(vertebrae, im.faint, options.end_completion)
    try:
        m = measure_spine(vertebrae, anterior, spacing, height, options)
    except ValueError as err:  # e.g. more vertebrae than levels above --bottom-level
        raise SpineKeyError(f'{source}: image {im.file_name}: {err}') from None
    ident = {'image_id': im.image_id, 'file_name': im.file_name}
    _film_shape_qc(m, options, width, height)
    _intervals(m, options.calibration)
    if chain is not None:
        _chain_rows(m, chain, options)
    if ends is not None:
        _end_level_rows(m, ends)
    if completed:
        _completed_rows(m, completed)
    if any(v.filled for v in m.ordered):
        _placed_rows(m)
    if options.custom:
        add_custom_columns(options.custom, m, m.vertebrae, spacing)
    notes = [n for n in (m.image.get('note'), side_note, read_note) if n]
    if not im.vertebrae:
        notes.insert(0, f'no vertebrae{" above the score threshold" if im.dropped else ""}')
    overlay = None
    if options.overlay and gray is not None:
        import cv2

        from spinekey.visualization.measure_overlay import draw_measurements
        overlay = cv2.imencode('.jpg', draw_measurements(gray, m, anterior), [cv2.IMWRITE_JPEG_QUALITY, 90])[1]
        overlay = overlay.tobytes()
    return FilmMeasurement(vertebrae=[dict(ident, **row) for row in m.vertebrae],
                           image=dict(ident, **dict(m.image, note='; '.join(notes))), spine=m, anterior=anterior,
                           overlay_jpg=overlay, notes=notes)


def _chain_rows(m: SpineMeasurement, chain, options: MeasureOptions) -> None:
    """Mark the levels the learned chain filled, and send a film to review when the chain is unsure or an end
    level of the AASCE column (T1, L5) is missing."""
    from spinekey.measurement.qc import add_film_reason
    filled = {id(chain.vertebrae[i]) for i in chain.filled}
    for v, row in zip(m.ordered, m.vertebrae):
        if id(v) in filled:
            row['note'] = '; '.join(n for n in (row.get('note'), 'filled: a level the detector missed, interpolated '
                                                'between its neighbours') if n)
    notes = [f'level chain: {len(chain.dropped)} detection(s) dropped'] if chain.dropped else []
    if chain.filled:
        notes.append(f'level chain: {len(chain.filled)} missed level(s) filled')
    if notes:
        m.image['note'] = '; '.join(n for n in [m.image.get('note')] + notes if n)
    if 'qc_status' not in m.image:
        return
    if chain.confidence is not None and chain.confidence < options.min_chain_confidence:
        add_film_reason(m.image, f'chain_uncertain: the levels were named with little confidence '
                                 f'({chain.confidence:.2f})')
    if options.aasce:
        levels = {v.label for v in chain.vertebrae}
        missing = [lv for lv in ('T1', 'L5') if lv not in levels]
        if missing:
            add_film_reason(m.image, f'end_level_missing: {" and ".join(missing)} not found; the angles lack an '
                                     'end of the column')


def _completed_rows(m: SpineMeasurement, completed) -> None:
    """Say which end vertebrae came from a faint detection (spinekey.measurement.end_completion)."""
    added = {id(v) for v in completed}
    for v, row in zip(m.ordered, m.vertebrae):
        if id(v) in added:
            row['note'] = '; '.join(n for n in (row.get('note'), f'completed: a faint detection (score '
                                                f'{v.score:.2f}) taken as the end of a short column') if n)
    m.image['note'] = '; '.join(n for n in [m.image.get('note'), f'end completion: {len(completed)} faint end '
                                            'vertebra(e) added'] if n)


def _placed_rows(m: SpineMeasurement) -> None:
    """Say which vertebrae are levels stage 1 missed and the refiner placed (spinekey.apis.missed_levels), and
    send the film to review: a placed level fills the gap that QC's ``count_low`` / ``gap`` reasons would have
    flagged, and it is coarser than a found one (on AASCE a third of them were not on a missed vertebra)."""
    from spinekey.measurement.qc import add_film_reason
    placed = 0
    for v, row in zip(m.ordered, m.vertebrae):
        if v.filled:
            placed += 1
            row['note'] = '; '.join(n for n in (row.get('note'), 'filled: a level stage 1 missed, placed by the '
                                                'refiner between its neighbours') if n)
    m.image['note'] = '; '.join(n for n in [m.image.get('note'), f'{placed} missed level(s) placed by the refiner']
                                if n)
    if 'qc_status' in m.image:
        add_film_reason(m.image, f'levels_placed: {placed} level(s) stage 1 missed were placed by the refiner; '
                                 'check them')


def _end_level_rows(m: SpineMeasurement, ends) -> None:
    """Say what the end-level classifier dropped, and send a film to review when an end of its column (T1 or L5)
    was not found: the angles then lack an end vertebra, a gross failure no geometry rule sees."""
    from spinekey.measurement.qc import add_film_reason
    notes = [ends.note] if ends.note else []
    if ends.dropped:
        notes.append('end levels: dropped ' + ', '.join(sorted(set(ends.dropped.values()))))
    if notes:
        m.image['note'] = '; '.join(n for n in [m.image.get('note')] + notes if n)
    if 'qc_status' in m.image and ends.missing:
        top, bottom = ends.ends.top, ends.ends.bottom
        seen = [f'the top detection reads as T{1 + top}' if top > 0 else '',
                f'the bottom detection reads as L{5 + bottom}' if bottom < 0 else '']
        add_film_reason(m.image, f'end_level_missing: {" and ".join(ends.missing)} not found '
                                 f'({"; ".join(s for s in seen if s)}); the angles lack an end of the column')


def _intervals(m: SpineMeasurement, calibration) -> None:
    """Each uncertain measurement's calibrated range (or 'uncalibrated'), spinekey.measurement.conformal."""
    from spinekey.measurement.conformal import add_intervals
    from spinekey.measurement.uncertainty import IMAGE_UNC, VERTEBRA_UNC
    add_intervals(m.image, IMAGE_UNC, calibration)
    for row in m.vertebrae:
        add_intervals(row, VERTEBRA_UNC, calibration)


def _film_shape_qc(m: SpineMeasurement, options: MeasureOptions, width, height) -> None:
    """QC of the film as the model saw it: shrunk too far to its input, or stored turned (landscape) with almost
    nothing found (spinekey.measurement.qc.shrink_reason, landscape_reason)."""
    from spinekey.measurement.qc import QC_DEFAULTS, add_film_reason, landscape_reason, shrink_reason
    if 'qc_status' not in m.image:
        return
    for reason in (shrink_reason(width, height, options.input_scale, options.qc or QC_DEFAULTS),
                   landscape_reason(width, height, len(m.ordered))):
        if reason:
            add_film_reason(m.image, reason)


def measure_film_ensemble(members: Sequence[ImageInput], options: MeasureOptions, image_path: Optional[str] = None,
                          source: str = 'input') -> FilmMeasurement:
    """One film measured on the detections of several models (``members``: the same film, one ImageInput per
    model, the first one's vertebrae give measurements.csv and the overlay): images.csv's angles are the
    models' mean with the ensemble's uncertainty (spinekey.measurement.ensemble), and the film's QC is judged
    again on them, so an angle the models disagree on is an ``uncertain_angle``."""
    from spinekey.measurement.ensemble import combine_image_rows
    from spinekey.measurement.spine import spine_qc
    from spinekey.measurement.uncertainty import IMAGE_UNC, unc_column
    first = measure_film(members[0], options, image_path, source=source)
    quiet = replace(options, overlay=False, anterior=first.anterior)  # same side: angles signed alike
    others = [measure_film(m, quiet, image_path, source=source) for m in members[1:]]
    combined = combine_image_rows([first.image] + [o.image for o in others])
    spine = first.spine
    spine.image.update({k: combined.get(k) for a in IMAGE_UNC for k in (a, unc_column(a)) if k in combined})
    spine_qc(spine, options)
    combined.update(qc_status=spine.image['qc_status'], qc_reasons=spine.image['qc_reasons'])
    return replace(first, image=combined)
