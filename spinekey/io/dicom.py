"""DICOM radiographs as 8-bit images plus their pixel spacing.

Display follows what a reader sees: the modality LUT (rescale slope/intercept), then the file's own window
(WindowCenter/WindowWidth) when present, otherwise mean +- 2.5 SD of the non-zero pixels (SpineTK's rule),
scaled to 0-255; MONOCHROME1 (bright = low values) is inverted; of a multi-frame file the central frame.
"""
from __future__ import annotations

import os
from typing import Optional, Tuple

import numpy as np

from spinekey.utils.errors import SpineKeyError

DICOM_EXTENSIONS = ('.dcm', '.dicom')


def is_dicom(path: str) -> bool:
    """By extension, or by the 'DICM' magic at byte 128 (many archives have files without extension)."""
    if path.lower().endswith(DICOM_EXTENSIONS):
        return True
    try:
        with open(path, 'rb') as f:
            f.seek(128)
            return f.read(4) == b'DICM'
    except OSError:
        return False


def _first(value) -> Optional[float]:
    """A number from a DICOM value that may be multi-valued (then its first entry) or missing."""
    if value is None:
        return None
    if hasattr(value, '__len__') and not isinstance(value, (str, bytes)):
        value = value[0] if len(value) else None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def pixel_spacing(ds) -> Optional[list]:
    """[row_mm, col_mm] from PixelSpacing, else ImagerPixelSpacing; None when neither is usable."""
    for tag in ('PixelSpacing', 'ImagerPixelSpacing'):
        value = ds.get(tag)
        if value is not None and len(value) == 2:
            try:
                row, col = float(value[0]), float(value[1])
            except (TypeError, ValueError):
                continue
            if row > 0 and col > 0:
                return [row, col]
    return None


def window_to_uint8(pixels: np.ndarray, center: Optional[float], width: Optional[float]) -> np.ndarray:
    """Map to 0-255 with the given window, or with mean +- 2.5 SD of the non-zero pixels."""
    x = pixels.astype(np.float64)
    if center is not None and width is not None and width > 1:
        low, high = center - width / 2, center + width / 2
    else:
        values = x[x != 0] if np.any(x != 0) else x.ravel()
        mean, sd = float(values.mean()), float(values.std())
        low, high = mean - 2.5 * sd, mean + 2.5 * sd
        if high <= low:
            low, high = float(x.min()), float(x.max()) + 1e-6
    return np.clip((x - low) / (high - low) * 255.0, 0, 255).round().astype(np.uint8)


# DICOM ViewPosition (0018,5101) of a spine film: the projection, as the measurements understand it
# (decubitus and oblique views say nothing about which measures apply: None)
VIEW_POSITIONS = {'AP': 'ap', 'PA': 'ap', 'LL': 'lateral', 'RL': 'lateral', 'LAT': 'lateral', 'LATERAL': 'lateral'}


def dicom_view(path: str) -> Optional[str]:
    """'ap' or 'lateral' from a DICOM film's ViewPosition tag (header only, no pixels read); None when the file
    has no such tag, another projection, or cannot be read (reading the film itself then says why)."""
    try:
        import pydicom
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except Exception:  # pydicom raises many kinds; reading the film itself names the problem
        return None
    return VIEW_POSITIONS.get(str(ds.get('ViewPosition', '') or '').strip().upper())


def read_dicom(path: str) -> Tuple[np.ndarray, Optional[list]]:
    """(grayscale uint8 image [H, W], pixel spacing [row, col] mm or None). One-line SpineKeyError otherwise."""
    try:
        import pydicom
    except ImportError:
        raise SpineKeyError(f'{path}: reading DICOM needs pydicom (pip install pydicom)') from None
    if not os.path.isfile(path):
        raise SpineKeyError(f'{path}: image file not found')
    try:
        ds = pydicom.dcmread(path)
    except Exception as err:  # pydicom raises InvalidDicomError, EOFError, ValueError...
        raise SpineKeyError(f'{path}: not a readable DICOM file ({type(err).__name__}: {str(err)[:120]})') from None
    if 'PixelData' not in ds:
        sop = getattr(ds, 'SOPClassUID', None)
        if sop is None:  # not even a SOP class: a damaged file or one that only starts like DICOM
            raise SpineKeyError(f'{path}: damaged or not a DICOM image (no pixel data, no SOP class)')
        raise SpineKeyError(f'{path}: DICOM file has no pixel data (its SOP class is '
                            f'{getattr(sop, "name", None) or sop}: a report or structured document, not a film)')
    try:
        pixels = ds.pixel_array
    except Exception as err:  # missing decoder for a compressed transfer syntax, corrupt data
        syntax = getattr(getattr(ds, 'file_meta', None), 'TransferSyntaxUID', None)
        name = getattr(syntax, 'name', str(syntax))
        raise SpineKeyError(f'{path}: cannot decode pixel data (transfer syntax {name}); install a decoder '
                            f'such as pylibjpeg with its plugins or python-gdcm ({type(err).__name__})') from None
    frames = int(ds.get('NumberOfFrames', 1) or 1)
    if frames > 1 and pixels.ndim >= 3:
        pixels = pixels[frames // 2]
    if pixels.ndim == 3:  # colour (RGB) DICOM: use its luminance
        pixels = pixels[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    slope, intercept = _first(ds.get('RescaleSlope')), _first(ds.get('RescaleIntercept'))
    pixels = pixels.astype(np.float64) * (slope if slope else 1.0) + (intercept or 0.0)
    image = window_to_uint8(pixels, _first(ds.get('WindowCenter')), _first(ds.get('WindowWidth')))
    if str(ds.get('PhotometricInterpretation', '')).upper() == 'MONOCHROME1':
        image = 255 - image
    return image, pixel_spacing(ds)
