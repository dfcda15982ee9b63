"""Predictions out, for correction by hand: one labelme JSON per film, or a GT-style COCO (CVAT import).

A vertebra is written as a polygon through its keypoints (label: the level, ``group_id``: its index) and one
named point per keypoint in the same group, which is what ``convert_dataset --from labelme`` reads back
(``spinekey.converters.formats.read_labelme``): fix the points in labelme, convert, train again. Vertebrae to
look at are marked: labelme ``flags`` ``{"review": true}`` and the reason in ``description``.
"""
from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from spinekey.io.annotated_images import locate_image
from spinekey.io.atomic import atomic_write_json
from spinekey.io.coco_files import load_coco_gt, load_results
from spinekey.io.images import header_size
from spinekey.io.safe_paths import one_line, output_names, path_inside
from spinekey.structures.keypoint_names import outline, skeleton_for
from spinekey.structures.results import resolve_keypoint_names
from spinekey.structures.levels import LevelOverflow
from spinekey.structures.vertebra import VertebraInput, order_vertebrae
from spinekey.measurement.spine import name_levels
from spinekey.utils.errors import SpineKeyError


@dataclass
class ExportVertebra:
    """One detection to export: named points (x, y), its level ('' unknown) and why to review it (or '')."""
    points: Dict[str, Tuple[float, float]]
    level: str
    review: str
    score: float


def film_vertebrae(results: Sequence[dict], names: Sequence[str], score_thr: float = 0.3,
                   review_below: float = 0.5, bottom_level: Optional[str] = None,
                   top_level: Optional[str] = None) -> Dict[str, List[ExportVertebra]]:
    """Detections (score >= ``score_thr``) per film ``file_name``, in spine order, with levels from the end
    level given; a vertebra is marked for review when its score or a keypoint score is below ``review_below``.
    """
    by_film = defaultdict(list)
    for r in results:
        if r['score'] >= score_thr and r.get('keypoints'):
            by_film[r.get('file_name', str(r['image_id']))].append(r)
    out = {}
    for film, dets in by_film.items():
        vertebrae = []
        for r in dets:
            kps = np.asarray(r['keypoints'], float).reshape(len(names), 3)
            vertebrae.append(VertebraInput({n: (float(x), float(y)) for n, (x, y, _) in zip(names, kps)},
                                           r['score'], None, r.get('bbox')))
        order = order_vertebrae(vertebrae)
        try:
            levels = name_levels([vertebrae[i] for i in order], bottom_level, top_level)
        except LevelOverflow:
            levels = [''] * len(order)
        rows = []
        for i, level in zip(order, levels):
            r = dets[i]
            low = min(r['keypoints'][2::3])
            reasons = [f'score {r["score"]:.2f} < {review_below}'] if r['score'] < review_below else []
            reasons += [f'lowest keypoint score {low:.2f} < {review_below}'] if low < review_below else []
            rows.append(ExportVertebra(vertebrae[i].points, level, '; '.join(reasons), float(r['score'])))
        out[film] = rows
    return out


def to_labelme(vertebrae: Sequence[ExportVertebra], image_path: str, width: int, height: int) -> dict:
    """A labelme document (version 5 layout) for one film."""
    shapes = []
    for g, v in enumerate(vertebrae):
        around = [list(xy) for xy in outline(v.points)]
        common = {'group_id': g, 'flags': {'review': bool(v.review)}, 'description': v.review}
        if len(around) >= 3:
            shapes.append(dict(label=v.level or 'vertebra', points=around, shape_type='polygon', **common))
        shapes += [dict(label=n, points=[list(p)], shape_type='point', **common) for n, p in v.points.items()]
    return {'version': '5.4.1', 'flags': {}, 'shapes': shapes, 'imagePath': image_path, 'imageData': None,
            'imageHeight': int(height), 'imageWidth': int(width)}


def to_coco(films: Dict[str, List[ExportVertebra]], sizes: Dict[str, Tuple[int, int]],
            names: Sequence[str]) -> dict:
    """GT-style COCO of the predictions (boxes and polygons from the keypoints, ``label`` = level,
    ``review`` reason kept in the annotation) for tools that import COCO keypoints, e.g. CVAT."""
    images, anns = [], []
    for image_id, (film, vertebrae) in enumerate(sorted(films.items()), start=1):
        width, height = sizes[film]
        images.append({'id': image_id, 'file_name': film, 'width': int(width), 'height': int(height)})
        for v in vertebrae:
            pts = np.asarray(list(v.points.values()), float)
            x0, y0 = pts.min(0)
            x1, y1 = pts.max(0)
            poly = [round(c, 2) for xy in outline(v.points) for c in xy]
            ann = {'id': len(anns) + 1, 'image_id': image_id, 'category_id': 1, 'iscrowd': 0,
                   'bbox': [round(float(x0), 2), round(float(y0), 2), round(float(x1 - x0), 2),
                            round(float(y1 - y0), 2)],
                   'area': round(float((x1 - x0) * (y1 - y0)), 2), 'segmentation': [poly],
                   'keypoints': [c for n in names for c in (round(v.points[n][0], 2), round(v.points[n][1], 2), 2)],
                   'num_keypoints': len(names), 'score': round(v.score, 5)}
            if v.level:
                ann['label'] = v.level
            if v.review:
                ann['review'] = v.review
            anns.append(ann)
    return {'images': images, 'annotations': anns,
            'categories': [{'id': 1, 'name': 'vertebra', 'keypoints': list(names),
                            'skeleton': skeleton_for(len(names))}]}


def film_sizes(films, images_dir: Optional[str] = None, gt: Optional[dict] = None, source: str = 'results'
               ) -> Dict[str, Tuple[int, int, Optional[str]]]:
    """{film: (width, height, image path or None)}: read from the film in ``images_dir``, else from ``gt``;
    one line naming the films that cannot be found."""
    by_name = {im['file_name']: im for im in (gt or {}).get('images', [])}
    sizes, missing = {}, []
    for film in films:
        path = locate_image(images_dir, film) if images_dir else None
        size = header_size(path) if path else None
        if size is None and film in by_name:
            size = (by_name[film]['width'], by_name[film]['height'])
        if size is None:
            missing.append(film)
        else:
            sizes[film] = (size[0], size[1], path)
    if missing:
        where = f'in {images_dir}' if images_dir else 'without --images-dir or --gt'
        raise SpineKeyError(f'{source}: {len(missing)} film(s) not found {where} (moved since inference?), '
                            f'e.g. {one_line(missing[0])}')
    return sizes


@dataclass
class ExportRun:
    """What ``export_annotations`` wrote."""
    n_films: int
    n_vertebrae: int
    n_review: int     # vertebrae marked for review
    files: int        # labelme JSON files (1 for a COCO file)


def export_annotations(results_path: str, out: str, to: str, *, gt_path: Optional[str] = None,
                       images_dir: Optional[str] = None, keypoint_names: Optional[Sequence[str]] = None,
                       score_thr: float = 0.3, review_below: float = 0.5, bottom_level: Optional[str] = None,
                       top_level: Optional[str] = None) -> ExportRun:
    """tools/export_annotations.py as one call: a results.json as one labelme JSON per film in the folder
    ``out`` (``to='labelme'``) or one GT-style COCO file ``out`` (``to='coco'``). Keypoint names: ``keypoint_names``,
    else the GT's category, else the default set for K."""
    if to not in ('labelme', 'coco'):
        raise SpineKeyError(f'--to {to}: choose labelme or coco')
    results = load_results(results_path)
    if not results:
        raise SpineKeyError(f'{results_path}: no detections to export')
    gt = load_coco_gt(gt_path) if gt_path else None
    categories = gt['categories'] if gt else []
    try:
        names = resolve_keypoint_names(len(results[0].get('keypoints') or []) // 3, keypoint_names,
                                       categories[0].get('keypoints') if categories else None)
    except ValueError as err:
        raise SpineKeyError(f'{results_path}: {err}') from None
    films = film_vertebrae(results, names, score_thr, review_below, bottom_level, top_level)
    sizes = film_sizes(films, images_dir, gt, source=results_path)
    n_review = sum(bool(v.review) for vs in films.values() for v in vs)
    run = ExportRun(len(films), sum(map(len, films.values())), n_review, files=1)
    if to == 'coco':
        atomic_write_json(out, to_coco(films, {f: s[:2] for f, s in sizes.items()}, names), indent=1)
        return run
    film_list = sorted(films)
    for film, name in zip(film_list, output_names(film_list, '.json', flat=True)):
        out_path = path_inside(out, name)
        width, height, image = sizes[film]
        image_path = os.path.relpath(image, os.path.dirname(out_path)) if image else film
        atomic_write_json(out_path, to_labelme(films[film], image_path, width, height), indent=1)
    run.files = len(film_list)
    return run
