"""Image reading with one clear error per bad file (missing, empty, not an image, too large)."""
from __future__ import annotations

import os
import struct
from typing import List, Sequence, Tuple

import cv2
import numpy as np

from spinekey.utils.errors import SpineKeyError

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.dcm', '.dicom')
MAX_PIXELS = 20000 * 20000 // 4  # refuse anything above 100 MPix before decoding it
MIN_SIDE = 16  # nothing smaller can show a vertebra
OUTPUT_MARKERS = ('results.json', 'run.json')  # a folder holding one is a SpineKey run's output, not films


def header_size(path: str):
    """(width, height) from the file header without decoding the pixels; None if PIL cannot tell."""
    from PIL import Image
    limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # our own limit applies, from the header
    try:
        with Image.open(path) as im:
            return im.size
    except Exception:  # not an image PIL knows (or a PNG cut right after its header): cv2 decides below
        with open(path, 'rb') as f:
            head = f.read(24)
        if head[:8] == b'\x89PNG\r\n\x1a\n' and head[12:16] == b'IHDR':
            return struct.unpack('>II', head[16:24])
        return None
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def list_images(folder: str, recursive: bool = False, skip_dirs: Sequence[str] = ()) -> Tuple[List[str], List[str]]:
    """Image files of ``folder`` in sorted order, and the other files that were skipped.

    A file without an image extension counts when it is DICOM by its magic number: PACS and CD exports name
    their files ``IM0001`` or by UID, without ``.dcm``. Skipped: ``DICOMDIR`` (an export's index, no pixels)
    and hidden files (``._x.png`` is macOS metadata on a USB disk, not a film). ``recursive``: sub-folders too,
    in name order (exports nest patient/study/series); not entered: hidden sub-folders, symbolic links to
    folders, ``skip_dirs`` and SpineKey output folders (holding a ``results.json`` or ``run.json``: overlays of
    an earlier run inside the films' folder are not films).
    """
    if not os.path.isdir(folder):
        raise SpineKeyError(f'{folder}: images folder not found')
    from spinekey.io.dicom import is_dicom
    skip = {os.path.realpath(d) for d in skip_dirs}
    images, others = [], []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if recursive and not d.startswith('.') and not _is_output(root, d, skip))
        for name in sorted(files):
            path = os.path.join(root, name)
            if not os.path.isfile(path):
                continue
            if name.startswith('.'):  # hidden: macOS ._ files, a run's own lock files; neither films nor worth a count
                continue
            film = name.upper() != 'DICOMDIR' and (name.lower().endswith(IMAGE_EXTENSIONS) or is_dicom(path))
            (images if film else others).append(path)
    return images, others


def _is_output(root: str, name: str, skip: set) -> bool:
    path = os.path.join(root, name)
    return (os.path.realpath(path) in skip
            or any(os.path.isfile(os.path.join(path, marker)) for marker in OUTPUT_MARKERS))


def read_image(path: str) -> np.ndarray:
    """BGR uint8 image (H, W, 3). 16-bit and grayscale/RGBA inputs are converted; DICOM is windowed
    (spinekey.io.dicom).

    Raises:
        SpineKeyError: naming ``path`` and what is wrong with it.
    """
    if not os.path.isfile(path):
        raise SpineKeyError(f'{path}: image file not found')
    if os.path.getsize(path) == 0:
        raise SpineKeyError(f'{path}: image file is empty (0 bytes)')
    from spinekey.io.dicom import is_dicom, read_dicom
    if is_dicom(path):
        return cv2.cvtColor(read_dicom(path)[0], cv2.COLOR_GRAY2BGR)
    size = header_size(path)
    if size and size[0] * size[1] > MAX_PIXELS:
        raise SpineKeyError(f'{path}: image too large ({size[0]}x{size[1]} px, limit {MAX_PIXELS // 10 ** 6} MPix); '
                            'refused before decoding')
    data = np.fromfile(path, dtype=np.uint8)  # np.fromfile copes with spaces/unicode in names
    # JPEGs through IMREAD_COLOR so their EXIF orientation is applied (what viewers and annotators saw);
    # everything else unchanged, so 16-bit PNG/TIFF keep their range for the normalisation below
    is_jpeg = data[:3].tobytes() == b'\xff\xd8\xff'
    img = cv2.imdecode(data, cv2.IMREAD_COLOR if is_jpeg else cv2.IMREAD_UNCHANGED)
    if img is None:
        raise SpineKeyError(f'{path}: not a readable image (corrupt, truncated or unsupported format)')
    return to_bgr8(img, path)


def read_gray(path: str) -> np.ndarray:
    """Grayscale uint8 film (H, W) at its native resolution (DICOM windowed, as :func:`read_image`)."""
    from spinekey.io.dicom import is_dicom, read_dicom
    if os.path.isfile(path) and is_dicom(path):
        return read_dicom(path)[0]
    return cv2.cvtColor(read_image(path), cv2.COLOR_BGR2GRAY)


def to_bgr8(img: np.ndarray, name: str = 'image') -> np.ndarray:
    """A decoded film (H, W), (H, W, 3) or (H, W, 4), any integer or float type, as BGR uint8 (H, W, 3).

    Raises:
        SpineKeyError: naming ``name``: not a 2-D image, too large or too small.
    """
    if not isinstance(img, np.ndarray) or img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (1, 3, 4)):
        raise SpineKeyError(f'{name}: not an image array (expected H x W or H x W x 1/3/4, got '
                            f'{getattr(img, "shape", type(img).__name__)})')
    if img.shape[0] * img.shape[1] > MAX_PIXELS:
        raise SpineKeyError(f'{name}: image too large ({img.shape[1]}x{img.shape[0]} px)')
    if min(img.shape[:2]) < MIN_SIDE:
        raise SpineKeyError(f'{name}: image too small ({img.shape[1]}x{img.shape[0]} px; at least {MIN_SIDE} px '
                            'per side)')
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.dtype != np.uint8:
        img = cv2.normalize(img.astype(np.float32), None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    return img
