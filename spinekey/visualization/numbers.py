"""Numbers as people read them: a value rounded to what its uncertainty supports.

Why: "13.38 +-14.56" claims a precision of 0.01 deg that an uncertainty of 15 deg does not have. The
uncertainty keeps two significant figures when its first digit is 1, else one (the Particle Data Group's
habit), and the value is rounded to the same decimal place.
"""
from __future__ import annotations

import math
from typing import Optional


def decimals_for(unc: float) -> int:
    """Decimal places an uncertainty supports (0 for 14.56, 1 for 0.56, 2 for 0.014); negative values round
    to tens or hundreds, which a display shows as whole numbers."""
    exponent = math.floor(math.log10(unc))
    leading = int(unc / 10 ** exponent)
    return -exponent + (1 if leading == 1 else 0)


def with_uncertainty(value: Optional[float], unc: Optional[float] = None, unit: str = '', default_decimals: int = 1
                     ) -> str:
    """``'13 +-15 deg'`` for (13.38, 14.56, 'deg'); ``'44.0 deg'`` without an uncertainty; ``''`` without a
    value."""
    if value is None or not math.isfinite(value):
        return ''
    suffix = f' {unit}' if unit else ''
    if unc is None or not math.isfinite(unc) or unc <= 0:
        return f'{value:.{default_decimals}f}{suffix}'
    nd = max(0, decimals_for(unc))
    return f'{round(value, nd):.{nd}f} +-{round(unc, nd):.{nd}f}{suffix}'


def with_range(value: Optional[float], unc: Optional[float], lo=None, hi=None, unit: str = '') -> str:
    """``'32 deg (27-38)'`` with a calibrated range (spinekey.measurement.conformal), rounded like the
    uncertainty; without one (or ``'uncalibrated'``), :func:`with_uncertainty`."""
    if value is None or not math.isfinite(value):
        return ''
    if not all(isinstance(b, (int, float)) and math.isfinite(b) for b in (lo, hi)):
        return with_uncertainty(value, unc, unit)
    nd = max(0, decimals_for(unc)) if unc and math.isfinite(unc) and unc > 0 else 1
    suffix = f' {unit}' if unit else ''
    return f'{round(value, nd):.{nd}f}{suffix} ({round(lo, nd):.{nd}f}-{round(hi, nd):.{nd}f})'
