"""Cheap up-front checks of image files (header and file end, no full decode), so a training run refuses
a broken dataset in seconds, naming every bad file, instead of failing hours in."""
from __future__ import annotations

import os
from typing import Iterable, List, Optional, Tuple

from spinekey.io.images import MAX_PIXELS, MIN_SIDE, header_size
from spinekey.utils.errors import SpineKeyError


def _truncated(path: str) -> bool:
    """A JPEG without its end-of-image marker or a PNG without its IEND chunk was cut short."""
    with open(path, 'rb') as f:
        head = f.read(8)
        f.seek(max(0, os.path.getsize(path) - 1024))
        tail = f.read()
    if head.startswith(b'\xff\xd8\xff'):
        return b'\xff\xd9' not in tail
    if head.startswith(b'\x89PNG'):
        return b'IEND' not in tail
    return False


def image_problem(path: str) -> Optional[str]:
    """Why ``path`` cannot be used as an image, or None."""
    if not os.path.isfile(path):
        return 'image file not found'
    if os.path.getsize(path) == 0:
        return 'image file is empty (0 bytes)'
    from spinekey.io.dicom import is_dicom, read_dicom
    if is_dicom(path):
        try:
            read_dicom(path)
        except SpineKeyError as err:
            return str(err).split(': ', 1)[-1]
        return None
    size = header_size(path)
    if size is None:
        return 'not a readable image (unknown format or not an image)'
    if size[0] * size[1] > MAX_PIXELS:
        return f'image too large ({size[0]}x{size[1]} px)'
    if min(size) < MIN_SIDE:
        return f'image too small ({size[0]}x{size[1]} px)'
    if _truncated(path):
        return 'truncated image file (cut short)'
    return None


def bad_images(paths: Iterable[str]) -> List[Tuple[str, str]]:
    """(path, reason) for every unusable image, in the given order."""
    out = []
    for path in paths:
        reason = image_problem(path)
        if reason:
            out.append((path, reason))
    return out
