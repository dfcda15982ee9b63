"""Overlays of vertebra annotations or predictions: boxes, mask outlines, numbered keypoints, skeleton."""
from __future__ import annotations

from typing import List, Optional, Sequence

import cv2
import numpy as np

# one BGR colour per keypoint index (colour-blind friendly, from the Okabe-Ito palette)
KEYPOINT_COLOURS = [(0, 159, 230), (0, 114, 178), (167, 121, 204), (0, 94, 213), (66, 228, 240),
                    (115, 158, 0), (255, 255, 255), (0, 0, 0)]


def _mask_contours(segmentation, height: int, width: int) -> List[np.ndarray]:
    if isinstance(segmentation, list):
        return [np.asarray(p, float).reshape(-1, 2) for p in segmentation]
    from pycocotools import mask as mask_utils
    rle = segmentation
    if isinstance(rle.get('counts'), list):
        rle = mask_utils.frPyObjects(rle, height, width)
    mask = mask_utils.decode(rle).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return [c.reshape(-1, 2).astype(float) for c in contours]


def draw_instances(image: np.ndarray, instances: Sequence[dict], skeleton: Optional[Sequence] = None,
                   box_colour=(80, 220, 80), scale: int = 1) -> np.ndarray:
    """Draw COCO-style ``instances`` (bbox, optional segmentation and keypoints) on a copy of ``image``.

    ``skeleton`` is COCO's 1-based list of keypoint pairs. ``scale`` enlarges the canvas first so that
    sub-pixel landmarks stay readable.
    """
    canvas = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    h, w = canvas.shape[:2]
    canvas = cv2.resize(canvas, (w * scale, h * scale), interpolation=cv2.INTER_LINEAR) if scale > 1 \
        else canvas.copy()
    for inst in instances:
        x, y, bw, bh = inst['bbox']
        cv2.rectangle(canvas, (int(x * scale), int(y * scale)), (int((x + bw) * scale), int((y + bh) * scale)),
                      box_colour, 1)
        if inst.get('segmentation'):
            for poly in _mask_contours(inst['segmentation'], h, w):
                cv2.polylines(canvas, [np.round(poly * scale).astype(np.int32)], True, (230, 160, 60), 1,
                              cv2.LINE_AA)
        if inst.get('keypoints'):
            kps = np.asarray(inst['keypoints'], float).reshape(-1, 3)
            for a, b in skeleton or []:
                if max(a, b) <= len(kps) and kps[a - 1, 2] > 0 and kps[b - 1, 2] > 0:
                    cv2.line(canvas, tuple(np.round(kps[a - 1, :2] * scale).astype(int)),
                             tuple(np.round(kps[b - 1, :2] * scale).astype(int)), (200, 200, 200), 1, cv2.LINE_AA)
            for j, (kx, ky, v) in enumerate(kps):
                if v <= 0:
                    continue
                centre = (int(round(kx * scale)), int(round(ky * scale)))
                cv2.circle(canvas, centre, max(2, scale + 1), KEYPOINT_COLOURS[j % len(KEYPOINT_COLOURS)], -1,
                           cv2.LINE_AA)
                cv2.putText(canvas, str(j + 1), (centre[0] + 3, centre[1] - 3), cv2.FONT_HERSHEY_SIMPLEX,
                            0.3 * max(scale, 1), (255, 255, 255), 1, cv2.LINE_AA)
        if inst.get('label'):
            cv2.putText(canvas, str(inst['label']), (int((x + bw) * scale) + 4, int((y + bh / 2) * scale)),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.35 * max(scale, 1), (255, 255, 255), 1, cv2.LINE_AA)
    return canvas


def save_overlay(image_path: str, instances: Sequence[dict], out_path: str, skeleton=None,
                 score_thr: float = 0.3) -> None:
    """Draw ``instances`` (COCO results of one image) on the image at ``image_path`` and write it as PNG
    (atomically, folders created) to ``out_path`` with its extension replaced by ``.png``.

    Raises:
        SpineKeyError: the overlay would replace the film it was drawn from.
    """
    import os

    from spinekey.io.atomic import atomic_write_bytes
    from spinekey.io.images import read_image
    from spinekey.utils.errors import SpineKeyError
    canvas = draw_instances(read_image(image_path), [i for i in instances if i.get('score', 1) >= score_thr],
                            skeleton)
    target = os.path.splitext(out_path)[0] + '.png'
    if os.path.exists(target) and os.path.samefile(target, image_path):
        raise SpineKeyError(f'{target}: an overlay would overwrite the input film; choose another output folder')
    atomic_write_bytes(target, cv2.imencode('.png', canvas)[1].tobytes())
