"""Builds a SpineKey COCO file one image and one vertebra at a time, for every converter.

Formats without masks or boxes get them from the keypoints: the box is the tight box of the visible
keypoints (optionally padded), the mask the polygon through the corners in order around the body
(top_left, [top_middle,] top_right, bottom_right, [bottom_middle,] bottom_left). Problems never stop the
conversion: each is recorded with its source (file and row) and the entry is left out.
"""
from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from spinekey.structures.keypoint_names import outline


class CocoBuilder:
    def __init__(self, keypoint_names: Sequence[str], box_pad: float = 0.0, category: str = 'vertebra'):
        self.names = list(keypoint_names)
        self.box_pad = box_pad
        self.images: List[dict] = []
        self.annotations: List[dict] = []
        self.excluded: List[dict] = []
        self.category = category

    def exclude(self, source: str, reason: str, level: Optional[str] = None) -> None:
        self.excluded.append({'file_name': source, 'level': level, 'reasons': [reason]})

    def add_image(self, file_name: str, width: int, height: int, **extra) -> int:
        image_id = len(self.images) + 1
        self.images.append(dict({'id': image_id, 'file_name': file_name, 'width': int(width),
                                 'height': int(height)}, **extra))
        return image_id

    def add_instance(self, image_id: int, points: Mapping[str, Tuple[float, float, float]], source: str,
                     label: Optional[str] = None, bbox: Optional[Sequence[float]] = None,
                     polygon: Optional[Sequence[float]] = None) -> bool:
        """Add one instance; ``points`` maps keypoint name -> (x, y, v). Returns False (and records why)
        when it is unusable: unknown names, non-finite or outside-the-image coordinates, no visible point."""
        image = self.images[image_id - 1]
        unknown = [n for n in points if n not in self.names]
        if unknown:
            self.exclude(source, f'unknown keypoint name(s) {unknown}; expected {self.names}', label)
            return False
        kps = []
        for name in self.names:
            x, y, v = points.get(name, (0.0, 0.0, 0))
            if v and not (np.isfinite(x) and np.isfinite(y)):
                self.exclude(source, f'{name} is not a finite number', label)
                return False
            if v and not (0 <= x <= image['width'] and 0 <= y <= image['height']):
                self.exclude(source, f'{name} ({x:.1f}, {y:.1f}) lies outside the {image["width"]}x'
                             f'{image["height"]} image', label)
                return False
            kps += [round(float(x), 2), round(float(y), 2), int(v)] if v else [0.0, 0.0, 0]
        visible = np.array([[kps[3 * i], kps[3 * i + 1]] for i in range(len(self.names)) if kps[3 * i + 2]])
        if not len(visible):
            self.exclude(source, 'no visible keypoint', label)
            return False
        if bbox is None:
            bbox = self._box(visible, image['width'], image['height'])
        if polygon is None:
            polygon = [c for xy in outline(points) for c in xy]
        area = polygon_area(polygon) if len(polygon) >= 6 else float(bbox[2] * bbox[3])
        ann = {'id': len(self.annotations) + 1, 'image_id': image_id, 'category_id': 1, 'iscrowd': 0,
               'bbox': [round(float(v), 2) for v in bbox], 'area': round(area, 2),
               'keypoints': kps, 'num_keypoints': int(sum(1 for i in range(len(self.names)) if kps[3 * i + 2]))}
        if len(polygon) >= 6:
            ann['segmentation'] = [[round(float(v), 2) for v in polygon]]
        if label:
            ann['label'] = label
        self.annotations.append(ann)
        return True

    def _box(self, visible: np.ndarray, width: int, height: int) -> List[float]:
        x0, y0 = visible.min(0)
        x1, y1 = visible.max(0)
        dx, dy = (x1 - x0) * self.box_pad, (y1 - y0) * self.box_pad
        x0, y0 = max(0.0, x0 - dx), max(0.0, y0 - dy)
        x1, y1 = min(float(width), x1 + dx), min(float(height), y1 + dy)
        return [x0, y0, x1 - x0, y1 - y0]

    def to_coco(self, description: str, **info) -> Dict:
        skeleton = [[1, 2], [2, 3], [3, 4], [4, 1]] if set(self.names[:4]) == {
            'top_left', 'top_right', 'bottom_right', 'bottom_left'} else []
        return {'info': dict({'description': description, 'excluded': self.excluded}, **info),
                'images': self.images, 'annotations': self.annotations,
                'categories': [{'id': 1, 'name': self.category, 'supercategory': 'spine',
                                'keypoints': self.names, 'skeleton': skeleton}]}


def polygon_area(points) -> float:
    """Area of a simple polygon (shoelace), from [x0, y0, x1, y1, ...] or an [N, 2] array."""
    xy = np.asarray(points, float).reshape(-1, 2)
    xs, ys = xy[:, 0], xy[:, 1]
    return 0.5 * abs(float(np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1))))
