"""A folder of DICOM films as 8-bit PNGs beside their pixel spacing (tools/dicom_to_png.py as one call)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional

import cv2

from spinekey.io.atomic import atomic_write_bytes, atomic_write_json
from spinekey.io.dicom import is_dicom, read_dicom
from spinekey.io.safe_paths import one_line, output_names, path_inside
from spinekey.utils.errors import SpineKeyError


@dataclass
class DicomExport:
    n_files: int                                                # DICOM files found
    spacing: Dict[str, Optional[list]] = field(default_factory=dict)  # PNG name -> [row_mm, col_mm] or None
    failed: List[str] = field(default_factory=list)             # one line per file that did not convert


def dicom_folder_to_png(src: str, out: str, progress: Callable[[Iterable], Iterable] = lambda it: it,
                        on_skip: Callable[[str], None] = lambda line: None) -> DicomExport:
    """Every DICOM file under ``src`` (recursively) as a PNG under ``out`` (names kept apart: a.dcm and an
    extension-less a are two films) and ``out/pixel_spacing.json``; a file that cannot be read is reported to
    ``on_skip`` and the rest still converts."""
    if not os.path.isdir(src):
        raise SpineKeyError(f'{src}: folder not found')
    files = sorted(os.path.join(root, name) for root, _, names in os.walk(src) for name in names
                   if is_dicom(os.path.join(root, name)))
    if not files:
        raise SpineKeyError(f'{src}: no DICOM files found')
    run = DicomExport(len(files))
    out_names = output_names([os.path.relpath(path, src) for path in files], '.png')
    for path, rel in progress(list(zip(files, out_names))):
        try:
            image, px = read_dicom(path)
        except SpineKeyError as err:
            run.failed.append(one_line(err))
            on_skip(one_line(err))
            continue
        ok, buf = cv2.imencode('.png', image)
        atomic_write_bytes(path_inside(out, rel), buf.tobytes())
        run.spacing[rel] = px
    atomic_write_json(os.path.join(out, 'pixel_spacing.json'), run.spacing, indent=1)
    return run
