"""One entry to every input format (what ``tools/convert_dataset.py`` does, callable from Python): a source in
one of FORMATS to a SpineKey COCO dict whose ``info.excluded`` lists the entries that did not convert."""
from __future__ import annotations

import os
from typing import List, Optional, Sequence

from spinekey.utils.errors import SpineKeyError

FORMATS = ('spinetk', 'csv-image', 'csv-vertebra', 'labelme', 'yolo-pose', 'aasce')
AASCE_CORNER_ORDER = ('top_left', 'top_right', 'bottom_left', 'bottom_right')


def convert_dataset(fmt: str, src: str, images_dir: Optional[str] = None,
                    keypoint_names: Optional[Sequence[str]] = None, corner_order: Sequence[str] = AASCE_CORNER_ORDER,
                    box_pad: float = 0.0, split: str = 'training', labels: str = 'mat',
                    keep_faulty: bool = False) -> dict:
    """The COCO dict of ``src`` read as ``fmt``. ``images_dir``: where csv-* / yolo-pose image names are found
    (default: the folder of ``src``); ``keypoint_names``: labelme / yolo-pose names in order; ``corner_order``:
    csv-image's four corner cells; ``split``/``labels``/``keep_faulty``: AASCE's split folder, .mat or csv labels,
    and whether an image with a faulty vertebra keeps its sound ones."""
    if fmt not in FORMATS:
        raise SpineKeyError(f'unknown format {fmt!r}; use one of {", ".join(FORMATS)}')
    if fmt == 'aasce':
        from spinekey.converters.aasce import read_aasce, to_coco
        return to_coco(read_aasce(src, split, labels), box_pad=box_pad, keep_faulty=keep_faulty)
    from spinekey.converters import formats
    images_dir = images_dir or (src if os.path.isdir(src) else os.path.dirname(src) or '.')
    names = list(keypoint_names) if keypoint_names else None
    if not os.path.exists(src):
        raise SpineKeyError(f'{src}: not found')
    if fmt == 'spinetk':
        builder = formats.read_spinetk(src, box_pad)
    elif fmt == 'csv-image':
        if sorted(corner_order) != sorted(formats.CORNERS_4):
            raise SpineKeyError(f'--corner-order {",".join(corner_order)!r}: name each of {formats.CORNERS_4} once')
        builder = formats.read_csv_image(src, images_dir, list(corner_order), box_pad)
    elif fmt == 'csv-vertebra':
        builder = formats.read_csv_vertebra(src, images_dir, box_pad)
    elif fmt == 'labelme':
        builder = formats.read_labelme(src, images_dir, names, box_pad)
    else:
        builder = formats.read_yolo_pose(src, images_dir, names, box_pad)
    return builder.to_coco(f'converted from {fmt} by SpineKey', source=os.path.abspath(src))


def excluded_lines(coco: dict) -> List[str]:
    """One line per entry of ``info.excluded``: the file (and level) and why it did not convert."""
    return [item['file_name'] + (f' [{item["level"]}]' if item.get('level') else '') + ': ' + '; '.join(item['reasons'])
            for item in coco['info'].get('excluded', [])]
