"""A large synthetic GT + predictions pair for benchmarking evaluation (no images involved)."""
from __future__ import annotations

from typing import List, Tuple

import numpy as np

NAMES = ['top_left', 'top_right', 'bottom_right', 'bottom_left']


def make_gt_and_results(num_images: int, per_image: int = 17, noise_px: float = 2.0, p_miss: float = 0.05,
                        p_false: float = 0.05, seed: int = 0) -> Tuple[dict, List[dict]]:
    """GT with ``per_image`` vertebrae in a column per image; predictions jittered by ``noise_px``,
    with a fraction of vertebrae missed and extra false positives."""
    rng = np.random.default_rng(seed)
    images, anns, results = [], [], []
    for image_id in range(1, num_images + 1):
        images.append({'id': image_id, 'file_name': f'{image_id}.png', 'width': 600, 'height': 1800,
                       'pixel_spacing': [0.2, 0.2]})
        x0 = rng.uniform(200, 300)
        for v in range(per_image):
            y0 = 50 + v * 100
            w, h = rng.uniform(60, 80), rng.uniform(55, 70)
            corners = np.array([[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h]])
            kps = np.concatenate([corners, np.full((4, 1), 2.0)], 1)
            anns.append({'id': len(anns) + 1, 'image_id': image_id, 'category_id': 1, 'bbox': [x0, y0, w, h],
                         'area': w * h, 'iscrowd': 0, 'keypoints': kps.reshape(-1).tolist(), 'num_keypoints': 4})
            if rng.random() < p_miss:
                continue
            pred = corners + rng.normal(0, noise_px, corners.shape)
            lo, hi = pred.min(0), pred.max(0)
            results.append({'image_id': image_id, 'category_id': 1, 'score': float(rng.uniform(0.5, 1)),
                            'bbox': [float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])],
                            'keypoints': np.concatenate([pred, np.ones((4, 1))], 1).reshape(-1).tolist()})
        if rng.random() < p_false * per_image:
            results.append({'image_id': image_id, 'category_id': 1, 'score': float(rng.uniform(0.3, 0.6)),
                            'bbox': [450.0, 900.0, 60.0, 60.0], 'keypoints': [460.0, 910.0, 1.0] * 4})
    gt = {'images': images, 'annotations': anns,
          'categories': [{'id': 1, 'name': 'vertebra', 'keypoints': NAMES, 'skeleton': []}]}
    return gt, results
