"""Readers for annotation formats users arrive with; each fills a CocoBuilder and records bad rows.

- spinetk: SpineTK's folder of per-image detectron2-style JSON (``bbox_mode`` 0 = XYXY_ABS or 1 = XYWH_ABS,
  six keypoints in SpineTK's order) with an optional ``metadata.json`` (``keypoint_names``, ``pixel_spacing``).
- csv-image: one row per image: ``file_name`` then one "(x,y)" cell per corner, 4 per vertebra, cranial first.
- csv-vertebra: one row per vertebra: ``file_name``, optional ``level``, and one "(x,y)" column per corner
  named after it (``top_left`` ...).
- labelme: per-image labelme JSON (a polygon and named points sharing a group_id are one vertebra: the points
  its keypoints, the polygon its outline and level, as tools/export_annotations.py writes them); a 4-point
  polygon alone is a vertebra (corners named by position, the shape's
  label as its level when it looks like one); ``point`` shapes named after keypoints are grouped by group_id.
- yolo-pose: per-image txt lines ``class cx cy w h x1 y1 v1 ...`` normalised to the image size.
"""
from __future__ import annotations

import csv
import glob
import json
import os
from collections import Counter
import re
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from spinekey.structures.keypoint_names import CORNERS_4, POINTS_6, keypoint_names_for
from spinekey.structures.vertebra import name_quad_corners
from spinekey.converters.coco_builder import CocoBuilder
from spinekey.structures.levels import LEVELS
from spinekey.utils.errors import SpineKeyError

SPINETK_ORDER = ['bottom_left', 'bottom_middle', 'bottom_right', 'top_right', 'top_middle', 'top_left']
AASCE_CORNER_ORDER = ['top_left', 'top_right', 'bottom_left', 'bottom_right']
_POINT = re.compile(r'^\s*\(?\s*([-+0-9.eE]+)\s*[,;\s]\s*([-+0-9.eE]+)\s*\)?\s*$')


def image_info(path: str) -> Tuple[int, int, Optional[list]]:
    """(width, height, pixel spacing [row, col] mm for DICOM else None); ValueError with the reason."""
    from spinekey.io.dicom import is_dicom
    if not os.path.isfile(path):
        raise ValueError('image file missing')
    if is_dicom(path):
        from spinekey.io.dicom import read_dicom
        try:
            img, spacing = read_dicom(path)
        except SpineKeyError as err:
            raise ValueError(str(err).split(': ', 1)[-1]) from None
        return img.shape[1], img.shape[0], spacing
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as im:
            return im.size[0], im.size[1], None
    except (OSError, UnidentifiedImageError) as err:
        raise ValueError(f'unreadable image ({err})') from None


def parse_point(cell: str) -> Tuple[float, float]:
    m = _POINT.match(cell or '')
    if not m:
        raise ValueError(f'{cell!r} is not an "(x,y)" point')
    return float(m.group(1)), float(m.group(2))


def _is_plain_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def _is_number_or_point(cell: str) -> bool:
    return _is_plain_number(cell) or bool(_POINT.match(cell or ''))


def _row_points(cells: Sequence[str]) -> list:
    """Points of a CSV row: "(x,y)" cells, or plain numbers x1, y1, x2, y2, ... taken in pairs."""
    if cells and not all(_is_plain_number(c) for c in cells):
        return [parse_point(c) for c in cells]
    numbers = [float(c) for c in cells]
    if len(numbers) % 2:
        raise ValueError(f'{len(numbers)} coordinates: an odd number cannot make (x, y) points')
    return list(zip(numbers[0::2], numbers[1::2]))


def _image_entry(builder: CocoBuilder, images_dir: str, file_name: str, source: str, sizes: Dict[str, int],
                 **extra) -> Optional[int]:
    """The image id of ``file_name`` (added once, size read from the file); None when the image is unusable."""
    if file_name in sizes:
        return sizes[file_name]
    try:
        width, height, spacing = image_info(os.path.join(images_dir, file_name))
    except ValueError as err:
        builder.exclude(source, f'{file_name}: {err}')
        sizes[file_name] = None
        return None
    if spacing:  # DICOM: the spacing goes into the image entry, so mm metrics and measurements follow
        extra = dict(extra, pixel_spacing=spacing)
    sizes[file_name] = builder.add_image(file_name, width, height, **extra)
    return sizes[file_name]


def read_spinetk(src: str, pad: float = 0.0) -> CocoBuilder:
    meta_path = os.path.join(src, 'metadata.json')
    meta = json.load(open(meta_path)) if os.path.isfile(meta_path) else {}
    order = meta.get('keypoint_names') or SPINETK_ORDER
    names = POINTS_6 if set(order) == set(POINTS_6) else list(order)
    builder = CocoBuilder(names, pad)
    files = sorted(f for f in glob.glob(os.path.join(src, '**', '*.json'), recursive=True)
                   if os.path.basename(f) != 'metadata.json')
    if not files:
        raise SpineKeyError(f'{src}: no per-image JSON files (SpineTK layout: one detectron2 dict per image)')
    spacing = meta.get('pixel_spacing') or {}
    for path in files:
        rel = os.path.relpath(path, src)
        try:
            record = json.load(open(path))
            file_name = record['file_name']
            image_id = builder.add_image(file_name, record['width'], record['height'],
                                         **({'pixel_spacing': spacing[file_name]} if file_name in spacing else {}))
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            builder.exclude(rel, f'not a detectron2 image record ({type(err).__name__}: {err})')
            continue
        for k, ann in enumerate(record.get('annotations', [])):
            source = f'{rel} annotation {k}'
            kps = ann.get('keypoints') or []
            if len(kps) != 3 * len(order):
                builder.exclude(source, f'{len(kps)} keypoint values, expected {3 * len(order)}')
                continue
            points = {n: tuple(kps[3 * j:3 * j + 3]) for j, n in enumerate(order)}
            bbox = ann.get('bbox')
            mode = ann.get('bbox_mode', 0)
            if bbox is not None:
                if mode == 0:
                    bbox = [bbox[0], bbox[1], bbox[2] - bbox[0], bbox[3] - bbox[1]]
                elif mode != 1:
                    builder.exclude(source, f'bbox_mode {mode} is not supported (0 XYXY_ABS or 1 XYWH_ABS)')
                    continue
            builder.add_instance(image_id, points, source, label=ann.get('label'), bbox=bbox)
    return builder


def _level(text: Optional[str]) -> Optional[str]:
    text = (text or '').strip().upper()
    return text if text in LEVELS else None


def read_csv_image(src: str, images_dir: str, corner_order: Sequence[str] = AASCE_CORNER_ORDER,
                   pad: float = 0.0) -> CocoBuilder:
    builder = CocoBuilder(CORNERS_4, pad)
    sizes: Dict[str, int] = {}
    with open(src, newline='', encoding='utf-8') as f:
        rows = list(csv.reader(f))
    if not rows:
        raise SpineKeyError(f'{src}: empty CSV')
    start = 0 if len(rows[0]) > 1 and _is_number_or_point(rows[0][1]) else 1  # skip a header row
    for r, row in enumerate(rows[start:], start=start + 1):
        source = f'{os.path.basename(src)} row {r}'
        if not row or not row[0].strip():
            continue
        cells = [c for c in row[1:] if c.strip()]
        try:
            pts = _row_points(cells)
        except ValueError as err:
            builder.exclude(source, str(err))
            continue
        if len(pts) % 4:
            builder.exclude(source, f'{len(pts)} points: not a multiple of 4 corners')
            continue
        image_id = _image_entry(builder, images_dir, row[0].strip(), source, sizes)
        if image_id is None:
            continue
        for v in range(len(pts) // 4):
            corners = {n: (*pts[4 * v + j], 2) for j, n in enumerate(corner_order)}
            builder.add_instance(image_id, corners, f'{source} vertebra {v + 1}')
    return builder


def read_csv_vertebra(src: str, images_dir: str, pad: float = 0.0) -> CocoBuilder:
    builder = CocoBuilder(CORNERS_4, pad)
    sizes: Dict[str, int] = {}
    with open(src, newline='', encoding='utf-8') as f:
        reader = csv.DictReader(f)
        missing = [c for c in ['file_name'] + CORNERS_4 if c not in (reader.fieldnames or [])]
        if missing:
            raise SpineKeyError(f'{src}: missing column(s) {missing}; expected file_name,[level,]'
                                + ','.join(CORNERS_4))
        for r, row in enumerate(reader, start=2):
            source = f'{os.path.basename(src)} row {r}'
            try:
                corners = {n: (*parse_point(row[n]), 2) for n in CORNERS_4}
            except ValueError as err:
                builder.exclude(source, str(err), row.get('level'))
                continue
            image_id = _image_entry(builder, images_dir, row['file_name'].strip(), source, sizes)
            if image_id is not None:
                builder.add_instance(image_id, corners, source, label=_level(row.get('level')) or row.get('level'))
    return builder


def _labelme_film_name(json_path: str, image_path: str, images_dir: Optional[str]) -> str:
    """A COCO ``file_name`` for labelme's ``imagePath``, which is relative to the JSON file's own folder: relative
    to ``images_dir`` when the film lies inside it, else the film's absolute path, so the COCO file finds its
    films wherever it is read from (a raw ``../../scans/a.png`` meant nothing next to the COCO file)."""
    if os.path.isabs(image_path):
        film = image_path
    else:
        film = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(json_path)), image_path))
    if not os.path.isfile(film):
        return image_path  # nothing to resolve against; the converter keeps what the file says
    if images_dir:
        rel = os.path.relpath(film, os.path.abspath(images_dir))
        if not rel.startswith('..'):
            return rel.replace(os.sep, '/')
    return film


def read_labelme(src: str, images_dir: Optional[str] = None, names: Optional[Sequence[str]] = None,
                 pad: float = 0.0) -> CocoBuilder:
    files = sorted(glob.glob(os.path.join(src, '*.json'))) if os.path.isdir(src) else [src]
    if not files:
        nested = len(glob.glob(os.path.join(src, '**', '*.json'), recursive=True))
        raise SpineKeyError(f'{src}: no labelme JSON files (*.json) in the folder'
                            + (f'; {nested} in its sub-folders: convert each folder, or point --src at the one '
                               'that holds them' if nested else ''))
    builder = CocoBuilder(names or CORNERS_4, pad)
    for path in files:
        rel = os.path.basename(path)
        try:
            doc = json.load(open(path))
            file_name = _labelme_film_name(path, doc['imagePath'], images_dir)
            image_id = builder.add_image(file_name, doc['imageWidth'], doc['imageHeight'])
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            builder.exclude(rel, f'not a labelme file ({type(err).__name__}: {err})')
            continue
        groups: Dict[object, Dict[str, tuple]] = {}
        outlines: Dict[object, tuple] = {}  # group_id -> (polygon shape, source)
        for k, shape in enumerate(doc.get('shapes', [])):
            source = f'{rel} shape {k}'
            pts = shape.get('points') or []
            if shape.get('shape_type') == 'polygon' and shape.get('group_id') is not None:
                outlines[shape['group_id']] = (shape, source)  # its named points may follow
            elif shape.get('shape_type') == 'polygon':
                _add_quad(builder, image_id, shape, source)
            elif shape.get('shape_type') == 'point' and len(pts) == 1:
                groups.setdefault(shape.get('group_id'), {})[shape.get('label', '')] = (*map(float, pts[0]), 2)
            else:
                builder.exclude(source, f'shape type {shape.get("shape_type")!r} is not used (polygon or point)')
        for group, (shape, source) in outlines.items():
            if group not in groups:
                _add_quad(builder, image_id, shape, source)
        for group, points in groups.items():
            # named points are the keypoints; a polygon of the same group gives the outline and the level
            outline = outlines.get(group)
            polygon = [float(c) for p in outline[0]['points'] for c in p] if outline else None
            builder.add_instance(image_id, points, f'{rel} point group {group}',
                                 label=_level(outline[0].get('label')) if outline else None, polygon=polygon)
    return builder


def _add_quad(builder: CocoBuilder, image_id: int, shape: dict, source: str) -> None:
    """A 4-point polygon alone is a vertebra: corners named by position, its label kept as the level."""
    pts = shape.get('points') or []
    if len(pts) != 4:
        builder.exclude(source, f'polygon with {len(pts)} points; a vertebra has 4 corners')
        return
    named = name_quad_corners(np.asarray(pts, float))
    builder.add_instance(image_id, {n: (*map(float, p), 2) for n, p in named.items()}, source,
                         label=_level(shape.get('label')), polygon=[c for p in pts for c in p])


def _yolo_keypoint_count(lines_of: dict) -> Optional[int]:
    """K from the most common YOLO-pose line length (5 + 3K values) over every file, so one malformed file
    cannot set it."""
    counts = Counter((len(v) - 5) // 3 for lines in lines_of.values() for v in lines
                     if len(v) > 5 and (len(v) - 5) % 3 == 0)
    return counts.most_common(1)[0][0] if counts else None


def read_yolo_pose(src: str, images_dir: str, names: Optional[Sequence[str]] = None,
                   pad: float = 0.0) -> CocoBuilder:
    labels = sorted(glob.glob(os.path.join(src, '*.txt')))
    if not labels:
        raise SpineKeyError(f'{src}: no YOLO label files (*.txt)')
    lines_of, unreadable = {}, {}
    for path in labels:
        try:
            with open(path, encoding='utf-8') as f:
                lines_of[path] = [ln.split() for ln in f if ln.strip()]
        except (UnicodeDecodeError, OSError) as err:
            unreadable[path] = f'not a text label file ({type(err).__name__})'
    k = len(names) if names else _yolo_keypoint_count(lines_of)
    if k is None:
        raise SpineKeyError(f'{src}: no line in any label file has the YOLO-pose form class cx cy w h (x y v)*K')
    builder = CocoBuilder(names or keypoint_names_for(k), pad)
    for path, reason in unreadable.items():
        builder.exclude(os.path.basename(path), reason)
    images = {os.path.splitext(f)[0]: f for f in os.listdir(images_dir)} if os.path.isdir(images_dir) else {}
    for path, lines in lines_of.items():
        rel = os.path.basename(path)
        stem = os.path.splitext(rel)[0]
        if stem not in images:
            builder.exclude(rel, f'no image named {stem}.* in {images_dir}')
            continue
        try:
            width, height, spacing = image_info(os.path.join(images_dir, images[stem]))
        except ValueError as err:
            builder.exclude(rel, f'{images[stem]}: {err}')
            continue
        image_id = builder.add_image(images[stem], width, height, **({'pixel_spacing': spacing} if spacing else {}))
        for r, values in enumerate(lines, start=1):
            source = f'{rel} line {r}'
            if len(values) != 5 + 3 * len(builder.names):
                builder.exclude(source, f'{len(values)} values, expected {5 + 3 * len(builder.names)} '
                                f'(class, box, {len(builder.names)} x (x, y, v))')
                continue
            try:
                v = [float(x) for x in values]
            except ValueError:
                builder.exclude(source, 'non-numeric value')
                continue
            cx, cy, w, h = v[1] * width, v[2] * height, v[3] * width, v[4] * height
            points = {n: (v[5 + 3 * j] * width, v[6 + 3 * j] * height, int(v[7 + 3 * j]))
                      for j, n in enumerate(builder.names)}
            builder.add_instance(image_id, points, source, bbox=[cx - w / 2, cy - h / 2, w, h])
    return builder
