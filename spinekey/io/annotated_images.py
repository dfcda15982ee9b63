"""Find the images that a COCO file lists inside a folder that may hold more (the original SpineKey layout:
every image in one folder, the test subset in det_test.json)."""
from __future__ import annotations

import os
from typing import Dict, List, Optional, Sequence, Tuple

from spinekey.io.images import list_images


def locate_image(folder: str, file_name: str) -> Optional[str]:
    """The file for COCO ``file_name`` under ``folder``, or None.

    ``file_name`` is tried as given (sub-folders respected), then with leading folders dropped one at a
    time: ``images/a.png`` is found in a folder that is itself ``images/``.
    """
    if os.path.isfile(os.path.join(folder, file_name)):  # as given (an absolute file_name stays absolute)
        return os.path.join(folder, file_name)
    parts = [p for p in file_name.replace('\\', '/').split('/') if p]
    for start in range(1, len(parts)):
        path = os.path.join(folder, *parts[start:])
        if os.path.isfile(path):
            return path
    return None


def locate_images(images: Sequence[Dict], folder: str) -> Tuple[List[Tuple[Dict, str]], List[Dict]]:
    """``([(image entry, path), ...], [entries not found])`` for COCO image entries, in the given order."""
    found, missing = [], []
    for im in images:
        path = locate_image(folder, im['file_name'])
        if path is None:
            missing.append(im)
        else:
            found.append((im, path))
    return found, missing


def unlisted_images(folder: str, used_paths: Sequence[str]) -> List[str]:
    """Image files directly in ``folder`` that are not among ``used_paths`` (left out: not annotated)."""
    used = {os.path.realpath(p) for p in used_paths}
    return [p for p in list_images(folder)[0] if os.path.realpath(p) not in used]
