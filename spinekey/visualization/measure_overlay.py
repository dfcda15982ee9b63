"""Overlay of the measurements on the film: heights, endplate lines, Cobb and lordosis lines with values."""
from __future__ import annotations

from typing import Optional

import cv2
import numpy as np

from spinekey.structures.vertebra import SpineMeasurement
from spinekey.visualization.numbers import with_range

ANTERIOR_COLOUR = (60, 200, 255)   # BGR amber
POSTERIOR_COLOUR = (255, 160, 60)  # BGR blue
ENDPLATE_COLOUR = (90, 220, 90)
COBB_COLOUR = (60, 60, 255)
LORDOSIS_COLOUR = (255, 80, 255)
GRADE_COLOURS = {0: (200, 200, 200), 1: (0, 230, 255), 2: (0, 150, 255), 3: (40, 40, 255)}
REVIEW_COLOUR = (0, 0, 255)        # BGR red: a vertebra or film QC sends to review
OK_COLOUR = (80, 220, 80)


def _pt(p) -> tuple:
    return int(round(p[0])), int(round(p[1]))


def _extended(a, b, length: float):
    a, b = np.asarray(a, float), np.asarray(b, float)
    d = (b - a) / (np.linalg.norm(b - a) or 1.0)
    mid = (a + b) / 2
    return _pt(mid - d * length / 2), _pt(mid + d * length / 2)


LABEL_BACKGROUND = (20, 20, 20)


def _text(img, text, org, colour, scale):
    """``text`` in ``colour`` on a filled dark box sized by OpenCV's own measure of the text.

    Why not a thick dark outline under thin text: OpenCV 5 advances glyphs by the stroke width, so the outline
    ran wider than the text and every label read twice ("degg")."""
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    pad = max(2, int(round(3 * scale)))
    x, y = int(org[0]), int(org[1])
    cv2.rectangle(img, (x - pad, y - h - pad), (x + w + pad, y + base + pad), LABEL_BACKGROUND, cv2.FILLED)
    cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)


def draw_measurements(image: np.ndarray, m: SpineMeasurement, anterior: Optional[str]) -> np.ndarray:
    """A BGR copy of ``image`` with every measurement of ``m`` drawn and labelled."""
    img = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image.copy()
    h, w = img.shape[:2]
    scale = max(0.35, min(h, w) / 900)
    thick = max(1, int(round(min(h, w) / 500)))
    post = None if anterior is None else ('right' if anterior == 'left' else 'left')
    for v, row in zip(m.ordered, m.vertebrae):
        p = v.points
        if not v.has_corners():
            continue
        for a, b in (('top_left', 'top_right'), ('bottom_left', 'bottom_right')):
            cv2.line(img, _pt(p[a]), _pt(p[b]), ENDPLATE_COLOUR, thick, cv2.LINE_AA)
        if anterior:
            cv2.line(img, _pt(p[f'top_{anterior}']), _pt(p[f'bottom_{anterior}']), ANTERIOR_COLOUR, thick + 1)
            cv2.line(img, _pt(p[f'top_{post}']), _pt(p[f'bottom_{post}']), POSTERIOR_COLOUR, thick + 1)
        review = row.get('qc_status') == 'review'
        if review:  # outlined in red, and the label starts with "review"
            quad = np.array([_pt(p[n]) for n in ('top_left', 'top_right', 'bottom_right', 'bottom_left')], np.int32)
            cv2.polylines(img, [quad], True, REVIEW_COLOUR, thick + 1, cv2.LINE_AA)
        grade = row.get('genant_grade')
        label = f'{row.get("level") or "#" + str(row["order"])} Ha/Hp {row.get("wedge_ratio", float("nan")):.2f}'
        if v.filled:  # a level stage 1 missed, placed by the refiner: not a detection, say so on the film
            label = f'placed: {label}'
        if review:
            label = f'review: {label}'
        if grade:
            label += f' G{grade}'
        if row.get('meyerding_grade'):
            label += f' slip {row["slip_percent"]:.0f}%'
        xs = [p[n][0] for n in ('top_right', 'bottom_right')]
        ys = [p[n][1] for n in ('top_right', 'bottom_right')]
        _text(img, label, (int(max(xs)) + 6, int(np.mean(ys))), GRADE_COLOURS.get(grade, (230, 230, 230)), scale)
    span = 0.35 * w
    for ends, colour, key, plate in ((m.cobb_ends, COBB_COLOUR, 'cobb_deg', 'inferior'),
                                     (m.lordosis_ends, LORDOSIS_COLOUR, 'lordosis_deg', m.lordosis_plate)):
        if not ends or m.image.get(key) is None:
            continue
        upper, lower = m.ordered[ends[0]].points, m.ordered[ends[1]].points
        lower_plate = ('top_left', 'top_right') if plate == 'superior' else ('bottom_left', 'bottom_right')
        a, b = _extended(upper['top_left'], upper['top_right'], span)
        c, d = _extended(lower[lower_plate[0]], lower[lower_plate[1]], span)
        cv2.line(img, a, b, colour, thick, cv2.LINE_AA)
        cv2.line(img, c, d, colour, thick, cv2.LINE_AA)
        name = 'Cobb' if key == 'cobb_deg' else 'Lordosis'
        org = (max(4, a[0]), max(int(18 * scale * 2), a[1] - 8 if key == 'cobb_deg' else c[1] + int(30 * scale)))
        shown = with_range(m.image[key], m.image.get(f'{key}_unc'), m.image.get(f'{key}_lo'), m.image.get(f'{key}_hi'),
                           'deg')
        _text(img, f'{name} {shown}', org, colour, scale * 1.2)
    _film_qc(img, m.image, scale)
    return img


def _film_qc(img: np.ndarray, image_row: dict, scale: float) -> None:
    """The film's QC status in the top-left corner, and each reason on its own line below it."""
    status = image_row.get('qc_status')
    if not status:
        return
    colour = REVIEW_COLOUR if status == 'review' else OK_COLOUR
    step = int(26 * scale * 1.2) + 4
    reasons = [r.split(': ', 1)[-1] for r in (image_row.get('qc_reasons') or '').split('; ') if r]
    lines = [f'QC: {status}'] + reasons[:6] + ([f'... {len(reasons) - 6} more'] if len(reasons) > 6 else [])
    for k, line in enumerate(lines):
        _text(img, line, (6, step * (k + 1)), colour, scale * (1.2 if k == 0 else 0.9))
