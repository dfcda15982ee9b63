"""User-declared measurements between named keypoints of one instance, for landmark sets SpineKey does not
know (e.g. a 12-point hip with its acetabular index): a distance between two points or the angle between
two lines, declared as text on the command line or in a config file.

    width=distance:top_left,top_right
    acetabular_index=angle:hilgenreiner_l,hilgenreiner_r;acetabulum_roof_l,acetabulum_edge_l
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from spinekey.measurement.geometry import line_angle_deg
from spinekey.measurement.spine import length_mm


@dataclass(frozen=True)
class CustomMeasure:
    name: str
    kind: str                      # 'distance' | 'angle'
    points: Tuple[str, ...]        # 2 names for a distance, 4 (two lines) for an angle

    @property
    def column(self) -> str:
        return f'{self.name}_px' if self.kind == 'distance' else f'{self.name}_deg'


def parse_measure(text: str) -> CustomMeasure:
    """``name=distance:a,b`` or ``name=angle:a,b;c,d`` -> CustomMeasure (ValueError says what is wrong)."""
    try:
        name, rest = text.split('=', 1)
        kind, spec = rest.split(':', 1)
    except ValueError:
        raise ValueError(f'{text!r}: expected name=distance:a,b or name=angle:a,b;c,d') from None
    name, kind = name.strip(), kind.strip()
    if not name.isidentifier():
        raise ValueError(f'{text!r}: the name must be a plain identifier')
    points = tuple(p.strip() for part in spec.split(';') for p in part.split(','))
    expected = {'distance': 2, 'angle': 4}.get(kind)
    if expected is None:
        raise ValueError(f'{text!r}: unknown kind {kind!r}; use distance or angle')
    if len(points) != expected or not all(points):
        raise ValueError(f'{text!r}: a {kind} needs {expected} keypoint names, got {len(points)}')
    return CustomMeasure(name, kind, points)


def check_names(measures: Sequence[CustomMeasure], names: Sequence[str]) -> None:
    for m in measures:
        unknown = [p for p in m.points if p not in names]
        if unknown:
            raise ValueError(f'measure {m.name!r} uses unknown keypoint(s) {unknown}; the model has {list(names)}')


def evaluate_measures(points: Mapping[str, Tuple[float, float]], measures: Sequence[CustomMeasure],
                      spacing: Optional[Sequence[float]] = None) -> Tuple[Dict[str, float], List[str]]:
    """Values by column (distances also in mm with a spacing) and notes for the ones that cannot be taken."""
    values, notes = {}, []
    for m in measures:
        missing = [p for p in m.points if p not in points]
        if missing:
            notes.append(f'{m.name}: missing keypoint(s) {", ".join(missing)}')
            continue
        pts = [points[p] for p in m.points]
        if m.kind == 'distance':
            (x0, y0), (x1, y1) = pts
            values[m.column] = round(math.hypot(x1 - x0, y1 - y0), 3)
            if spacing:
                values[f'{m.name}_mm'] = round(length_mm(pts[0], pts[1], spacing), 3)
        else:
            if pts[0] == pts[1] or pts[2] == pts[3]:
                notes.append(f'{m.name}: a line has zero length')
                continue
            values[m.column] = round(line_angle_deg(*pts), 3)
    return values, notes
