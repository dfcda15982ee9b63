"""Synthetic spine radiographs with exact vertebra annotations and clinical truth.

Why: real annotated radiographs cannot ship with the project, yet every part of SpineKey (training, keypoints,
metrics, measurements) needs data whose true values are known. This module renders lateral-view-like images
of a vertebral column (bodies with cortical rims and trabecular texture, discs, posterior elements, soft
tissue, ribs, noise, blur) with controlled wedge/crush deformities, slips, curvature and rotation. Each image
is generated from its own RNG seeded by ``(seed, index)``, so a set is deterministic and any image can be
re-rendered alone.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

import cv2
import numpy as np

from spinekey.structures.keypoint_names import keypoint_names_for, skeleton_for
from spinekey.io.atomic import atomic_write_json
from spinekey.structures.levels import LEVELS
from spinekey.measurement.geometry import genant_grade

# With ``column_ends``: C7's body drawn smaller than the thoracic ones, S1 as the wide top of the sacrum tilted
# forward (the sacral slope) with the fused segments below it drawn but not annotated, so a level can be read off
# the column's anatomy (width, height scale of the column's body size)
COLUMN_WITH_ENDS = LEVELS[LEVELS.index('C7'):]
END_SCALE = {'C7': (0.8, 0.85), 'S1': (1.15, 0.9)}
SACRAL_SLOPE_DEG = (12.0, 28.0)
GENANT_REDUCTION = {0: (0.0, 0.12), 1: (0.21, 0.24), 2: (0.27, 0.38), 3: (0.42, 0.55)}
MEYERDING_SLIP = {0: (0.0, 0.0), 1: (0.08, 0.22), 2: (0.28, 0.45), 3: (0.53, 0.70)}


@dataclass
class SyntheticSpec:
    """What to generate; defaults as docs/data.md describes the synthetic set."""
    width: int = 384
    height: int = 512
    min_vertebrae: int = 5
    max_vertebrae: int = 17
    num_keypoints: int = 4
    pixel_spacing_mm: float = 0.3
    p_fracture: float = 0.12
    p_slip: float = 0.15
    column_ends: bool = False    # a C7..S1 run holding C7 or the sacrum (S1), each drawn as its anatomy differs

    def validate(self) -> None:
        if self.num_keypoints not in (4, 6):
            raise ValueError(f'num_keypoints must be 4 or 6, got {self.num_keypoints}')
        top = len(COLUMN_WITH_ENDS) if self.column_ends else 24
        if not 1 <= self.min_vertebrae <= self.max_vertebrae <= top:
            raise ValueError(f'need 1 <= min_vertebrae <= max_vertebrae <= {top}'
                             f'{" (C7..S1) with column ends" if self.column_ends else ""}, got '
                             f'{self.min_vertebrae}..{self.max_vertebrae}')
        if self.width < 64 or self.height < 64:
            raise ValueError(f'image size must be at least 64x64, got {self.width}x{self.height}')


@dataclass
class Vertebra:
    """One rendered vertebral body: outline polygon, named keypoints and its generated truth."""
    level: str
    outline: np.ndarray          # (P, 2) float, closed polygon in image pixels
    keypoints: Dict[str, Tuple[float, float]]
    height_anterior: float
    height_middle: float
    height_posterior: float
    genant_grade: int
    slip_fraction: float         # displacement over the vertebra below, fraction of its endplate length
    meyerding_grade: int
    attached: Optional[np.ndarray] = None  # bone drawn with it, not annotated (the sacral segments below S1)


def _bezier_corner(prev_pt, corner, next_pt, radius):
    """Round a polygon corner with a quadratic Bezier; returns arc points and the corner landmark on it."""
    d_prev = prev_pt - corner
    d_next = next_pt - corner
    p1 = corner + d_prev / (np.linalg.norm(d_prev) + 1e-9) * radius
    p2 = corner + d_next / (np.linalg.norm(d_next) + 1e-9) * radius
    t = np.linspace(0, 1, 7)[:, None]
    arc = (1 - t) ** 2 * p1 + 2 * (1 - t) * t * corner + t ** 2 * p2
    landmark = 0.25 * p1 + 0.5 * corner + 0.25 * p2
    return arc, landmark


def _endplate(a, b, depth, normal, n=9):
    """Points from a to b along an endplate bowed by ``depth`` pixels along ``normal`` (concavity)."""
    t = np.linspace(0, 1, n)[:, None]
    return a + (b - a) * t + normal * depth * 4 * t * (1 - t)


def _vertebra_geometry(center, axis, width, h_left, h_right, concavity, radius):
    """Outline and landmarks of one body in image pixels.

    ``axis`` is the unit vector pointing caudally (down the spine); ``left`` is image-left of that axis
    seen on the image. Concavity pushes both endplate midpoints towards the body centre.
    """
    across = np.array([axis[1], -axis[0]])  # perpendicular
    if across[0] > 0:  # make ``across`` point to image-left
        across = -across
    tl = center + across * width / 2 - axis * h_left / 2
    bl = center + across * width / 2 + axis * h_left / 2
    tr = center - across * width / 2 - axis * h_right / 2
    br = center - across * width / 2 + axis * h_right / 2
    top = _endplate(tl, tr, concavity, axis)
    bottom = _endplate(br, bl, concavity, -axis)
    corners = [tl, tr, br, bl]
    arcs, marks = [], []
    for i, c in enumerate(corners):
        arc, mark = _bezier_corner(corners[i - 1], c, corners[(i + 1) % 4], radius)
        arcs.append(arc)
        marks.append(mark)
    outline = np.concatenate([arcs[0], top[2:-2], arcs[1], arcs[2], bottom[2:-2], arcs[3]])
    keypoints = {'top_left': marks[0], 'top_right': marks[1], 'bottom_right': marks[2],
                 'bottom_left': marks[3], 'top_middle': top[len(top) // 2],
                 'bottom_middle': bottom[len(bottom) // 2]}
    return outline, {k: (float(v[0]), float(v[1])) for k, v in keypoints.items()}


def _smooth_noise(rng, shape, scale, amplitude):
    """Band-limited noise: white noise blurred with a Gaussian of ``scale`` pixels."""
    noise = rng.standard_normal(shape).astype(np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), scale)
    noise /= noise.std() + 1e-6
    return noise * amplitude


def _sample_reduction(rng, p_fracture):
    grade = int(rng.choice([1, 2, 3])) if rng.random() < p_fracture else 0
    lo, hi = GENANT_REDUCTION[grade]
    return grade, float(rng.uniform(lo, hi))


def _layout(rng, spec: SyntheticSpec):
    """Centres, axes and sizes of the bodies along a curved, rotated spine."""
    n = int(rng.integers(spec.min_vertebrae, spec.max_vertebrae + 1))
    length = spec.height * rng.uniform(0.72, 0.88)
    unit = length / n
    body_h = unit * rng.uniform(0.68, 0.78)
    body_w = min(body_h * rng.uniform(1.25, 1.6), spec.width * 0.42)
    tilt = math.radians(rng.uniform(-10, 10))
    amp1, amp2 = math.radians(rng.uniform(-18, 18)), math.radians(rng.uniform(-8, 8))
    ph1, ph2 = rng.uniform(0, 2 * math.pi, size=2)
    steps = 400
    s = np.linspace(0, length, steps)
    theta = tilt + amp1 * np.sin(math.pi * s / length + ph1) + amp2 * np.sin(2 * math.pi * s / length + ph2)
    pts = np.zeros((steps, 2))
    pts[1:, 0] = np.cumsum(-np.sin(theta[1:]) * np.diff(s))
    pts[1:, 1] = np.cumsum(np.cos(theta[1:]) * np.diff(s))
    pts -= pts.mean(axis=0)
    pts += [spec.width / 2 + rng.uniform(-0.08, 0.08) * spec.width,
            spec.height / 2 + rng.uniform(-0.04, 0.04) * spec.height]
    centers, axes = [], []
    for i in range(n):
        j = int(np.clip(round((i + 0.5) * unit / length * (steps - 1)), 0, steps - 1))
        ang = theta[j] + math.radians(rng.uniform(-3, 3))
        centers.append(pts[j].copy())
        axes.append(np.array([-math.sin(ang), math.cos(ang)]))
    return n, centers, axes, body_w, body_h


def _fit_inside(centers, body_w, body_h, spec):
    """Shift the column so that every body stays inside the image with a small margin."""
    arr = np.array(centers)
    margin = max(body_w, body_h) * 0.75 + 4
    lo = np.array([margin, margin])
    hi = np.array([spec.width - margin, spec.height - margin])
    shift = np.clip(lo - arr.min(0), 0, None) + np.clip(hi - arr.max(0), None, 0)
    return [c + shift for c in centers]


def _column_levels(rng, n: int, spec: SyntheticSpec) -> list:
    """Level names top to bottom: ending at L5, or with ``column_ends`` a C7..S1 run starting at C7 or ending at
    S1 (one of the two, by a coin), so one end of every column shows an anatomy that names the levels."""
    if spec.column_ends:
        start = 0 if rng.random() < 0.5 else len(COLUMN_WITH_ENDS) - n
        return COLUMN_WITH_ENDS[start:start + n]
    bottom_index = LEVELS.index('L5')
    return LEVELS[bottom_index - n + 1:bottom_index + 1] if n <= bottom_index + 1 else [
        f'V{i + 1}' for i in range(n)]


def _sacrum(rng, center, axis, anterior: str, body_w: float, body_h: float):
    """(centre, axis) of S1 turned by the sacral slope, its anterior edge down, and the fused segments below it
    as one tapering polygon."""
    slope = math.radians(rng.uniform(*SACRAL_SLOPE_DEG))
    across = np.array([axis[1], -axis[0]])
    if (across[0] < 0) == (anterior == 'left'):
        across = -across  # ``across`` points to the posterior side
    # turning the caudal axis towards the posterior side lowers the anterior edge of the endplates
    turned = axis * math.cos(slope) + across * math.sin(slope)
    centre = center + axis * 0.1 * body_h
    back = np.array([turned[1], -turned[0]])
    bottom = centre + turned * body_h * 0.45
    tail = np.array([bottom + back * body_w * 0.5, bottom + turned * body_h * 1.6 + back * body_w * 0.12,
                     bottom + turned * body_h * 1.6 - back * body_w * 0.12, bottom - back * body_w * 0.5])
    return centre, turned, tail


def generate_vertebrae(rng, spec: SyntheticSpec):
    """Sample the column: returns (vertebrae top to bottom, anterior side 'left'|'right')."""
    n, centers, axes, body_w, body_h = _layout(rng, spec)
    anterior = 'left' if rng.random() < 0.5 else 'right'
    levels = _column_levels(rng, n, spec)
    # slips displace a vertebra and everything above it towards the anterior side
    slips = np.zeros(n)
    grades = np.zeros(n, dtype=int)
    for i in range(n - 1):
        if rng.random() < spec.p_slip / 2:
            grades[i] = int(rng.choice([1, 1, 2, 3]))
            slips[i] = rng.uniform(*MEYERDING_SLIP[grades[i]])
    centers = list(centers)
    offset = 0.0
    for i in range(n - 2, -1, -1):
        offset += slips[i] * body_w
        across = np.array([axes[i][1], -axes[i][0]])
        if (across[0] > 0) == (anterior == 'left'):
            across = -across
        centers[i] = centers[i] + across * offset if offset else centers[i]
    centers = _fit_inside(centers, body_w, body_h, spec)
    vertebrae = []
    for i in range(n):
        grade, reduction = _sample_reduction(rng, spec.p_fracture)
        crush = grade > 0 and rng.random() < 0.35
        h_post = body_h * rng.uniform(0.95, 1.05)
        h_ant = h_post * (1 - (reduction if not crush else reduction * 0.3))
        h_mid_loss = reduction * h_post if crush else 0.0
        concavity = h_mid_loss / 2 + rng.uniform(0, 0.02) * body_h
        h_left, h_right = (h_ant, h_post) if anterior == 'left' else (h_post, h_ant)
        centre, axis, width, attached = centers[i], axes[i], body_w * rng.uniform(0.96, 1.04), None
        if spec.column_ends and levels[i] in END_SCALE:
            scale_w, scale_h = END_SCALE[levels[i]]
            width, h_left, h_right = width * scale_w, h_left * scale_h, h_right * scale_h
            h_ant, h_post = h_ant * scale_h, h_post * scale_h
            concavity *= scale_h
            if levels[i] == 'S1':
                centre, axis, attached = _sacrum(rng, centre, axis, anterior, body_w, body_h)
        outline, kps = _vertebra_geometry(centre, axis, width, h_left, h_right, concavity, radius=0.1 * body_h)
        h_mid = (h_ant + h_post) / 2 - 2 * concavity
        reduction_real = max(1 - h_ant / h_post, 1 - h_mid / h_post)
        vertebrae.append(Vertebra(
            level=levels[i], outline=outline, keypoints=kps, height_anterior=float(h_ant),
            height_middle=float(h_mid), height_posterior=float(h_post),
            genant_grade=genant_grade(reduction_real), slip_fraction=float(slips[i]),
            meyerding_grade=int(grades[i]), attached=attached))
    return vertebrae, anterior


def _overlapping_clutter(rng, h, w) -> np.ndarray:
    """Ribs, iliac crest and lines, added on top (X-ray attenuation adds up), so they cross the bodies."""
    layer = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(3, 10))):
        centre = (int(rng.uniform(-0.2, 1.2) * w), int(rng.uniform(0, h)))
        axes_len = (int(rng.uniform(30, w * 0.7)), int(rng.uniform(10, 70)))
        cv2.ellipse(layer, centre, axes_len, float(rng.uniform(0, 180)), 0, float(rng.uniform(60, 220)),
                    float(rng.uniform(12, 40)), int(rng.integers(3, 10)))
    return cv2.GaussianBlur(layer, (0, 0), 1.0)


def render_image(rng, spec: SyntheticSpec, vertebrae: Sequence[Vertebra], anterior: str) -> np.ndarray:
    """Radiograph-like uint8 image of the column: soft tissue, ribs, posterior elements, bodies, noise."""
    h, w = spec.height, spec.width
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.full((h, w), rng.uniform(25, 55), np.float32)
    img += (xx / w - 0.5) * rng.uniform(-30, 30) + (yy / h - 0.5) * rng.uniform(-25, 25)
    cx = np.mean([v.outline[:, 0].mean() for v in vertebrae])
    body = np.exp(-((xx - cx) / (w * rng.uniform(0.28, 0.45))) ** 2)
    img += body * rng.uniform(25, 50) + _smooth_noise(rng, (h, w), 18, 6)
    for _ in range(int(rng.integers(0, 4))):  # bowel gas
        centre = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
        cv2.circle(img, centre, int(rng.uniform(6, 25)), float(img.mean() - rng.uniform(10, 20)), -1)
    bone = float(img.mean() + rng.uniform(30, 100))
    texture = 1 + _smooth_noise(rng, (h, w), 1.5, 0.07)
    sign = -1 if anterior == 'left' else 1
    for v in vertebrae:
        k = v.keypoints
        # posterior elements: pedicle + spinous process behind the body
        post_top = np.array(k['top_right'] if anterior == 'left' else k['top_left'])
        post_bot = np.array(k['bottom_right'] if anterior == 'left' else k['bottom_left'])
        mid = (post_top + post_bot) / 2
        height = np.linalg.norm(post_top - post_bot)
        direction = np.array([-float(sign), 0.0])
        spin = mid + direction * height * rng.uniform(0.55, 0.8) + [0, height * 0.15]
        cv2.ellipse(img, tuple(int(c) for c in spin), (int(height * 0.45), int(height * 0.28)),
                    float(rng.uniform(-20, 20)), 0, 360, float(bone * 0.7), -1)
        cv2.line(img, tuple(int(c) for c in mid), tuple(int(c) for c in spin), float(bone * 0.75),
                 max(2, int(height * 0.3)))
    mask = np.zeros((h, w), np.uint8)
    rims = np.zeros((h, w), np.uint8)
    density = np.zeros((h, w), np.float32)
    for outline in [v.outline for v in vertebrae] + [v.attached for v in vertebrae if v.attached is not None]:
        poly = np.round(outline * 4).astype(np.int32)
        cv2.fillPoly(mask, [poly], 1, lineType=cv2.LINE_AA, shift=2)
        cv2.fillPoly(density, [poly], float(rng.uniform(0.8, 1.15)), shift=2)  # per-body bone density
        cv2.polylines(rims, [poly], True, 1, thickness=2, lineType=cv2.LINE_AA, shift=2)
    bodies = mask.astype(np.float32)
    img = img * (1 - bodies) + bodies * bone * texture * np.where(density > 0, density, 1)
    img += rims.astype(np.float32) * rng.uniform(5, 30)
    img += _overlapping_clutter(rng, h, w)
    img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.8, 2.2))
    img += rng.standard_normal((h, w)).astype(np.float32) * rng.uniform(5, 14)
    gamma = rng.uniform(0.8, 1.25)
    img = 255 * (np.clip(img, 0, 255) / 255) ** gamma
    img = img * rng.uniform(0.85, 1.15) + rng.uniform(-12, 12)
    return np.clip(img, 0, 255).astype(np.uint8)


def _annotation(vertebra: Vertebra, names: Sequence[str], ann_id: int, image_id: int) -> dict:
    poly = vertebra.outline
    x1, y1 = poly.min(0)
    x2, y2 = poly.max(0)
    kps = []
    for name in names:
        x, y = vertebra.keypoints[name]
        kps += [round(x, 2), round(y, 2), 2]
    area = float(cv2.contourArea(poly.astype(np.float32)))
    return {'id': ann_id, 'image_id': image_id, 'category_id': 1, 'iscrowd': 0,
            'bbox': [round(float(x1), 2), round(float(y1), 2), round(float(x2 - x1), 2),
                     round(float(y2 - y1), 2)],
            'segmentation': [[round(float(c), 2) for c in poly.reshape(-1)]], 'area': round(area, 2),
            'keypoints': kps, 'num_keypoints': len(names), 'label': vertebra.level}


def _truth(vertebrae: Sequence[Vertebra], anterior: str, spacing: float, names: Sequence[str]) -> dict:
    """Design values (what the generator imposed) and ``landmark`` values (what the exact landmarks define,
    the values a measurement on GT keypoints must reproduce), computed here independently of
    spinekey.measurement."""
    rows = []
    for i, v in enumerate(vertebrae):
        rows.append({'level': v.level, 'height_anterior_px': round(v.height_anterior, 3),
                     'height_middle_px': round(v.height_middle, 3),
                     'height_posterior_px': round(v.height_posterior, 3),
                     'height_anterior_mm': round(v.height_anterior * spacing, 3),
                     'genant_grade': v.genant_grade, 'slip_percent': round(100 * v.slip_fraction, 2),
                     'meyerding_grade': v.meyerding_grade,
                     'landmark': _landmark_values(v, vertebrae[i + 1] if i + 1 < len(vertebrae) else None,
                                                  anterior, names)})
    return dict({'anterior': anterior, 'vertebrae': rows}, **_landmark_angles(vertebrae))


def _landmark_values(v: Vertebra, below, anterior: str, names: Sequence[str]) -> dict:
    k = {n: np.asarray(p, float) for n, p in v.keypoints.items()}
    post = 'right' if anterior == 'left' else 'left'
    if 'top_middle' in names:
        top_mid, bottom_mid = k['top_middle'], k['bottom_middle']
    else:
        top_mid, bottom_mid = (k['top_left'] + k['top_right']) / 2, (k['bottom_left'] + k['bottom_right']) / 2
    out = {'height_anterior_px': float(np.hypot(*(k[f'top_{anterior}'] - k[f'bottom_{anterior}']))),
           'height_middle_px': float(np.hypot(*(top_mid - bottom_mid))),
           'height_posterior_px': float(np.hypot(*(k[f'top_{post}'] - k[f'bottom_{post}']))),
           'slip_percent': None}
    if below is not None:
        b = {n: np.asarray(p, float) for n, p in below.keypoints.items()}
        plate = b[f'top_{anterior}'] - b[f'top_{post}']
        shift = k[f'bottom_{post}'] - b[f'top_{post}']
        out['slip_percent'] = float(100 * (shift[0] * plate[0] + shift[1] * plate[1]) / (plate ** 2).sum())
    return out


def _line_angle(a, b, c, d) -> float:
    diff = abs(np.degrees(np.arctan2(b[1] - a[1], b[0] - a[0]) - np.arctan2(d[1] - c[1], d[0] - c[0]))) % 180
    return float(min(diff, 180 - diff))


def _landmark_angles(vertebrae: Sequence[Vertebra]) -> dict:
    """Cobb (largest superior-to-inferior endplate angle, the upper vertebra above the lower: two different
    vertebrae) and lordosis (L1 superior to S1 superior when both exist, else L1 superior to L5 inferior, else
    none) from the exact landmarks."""
    kp = [v.keypoints for v in vertebrae]
    best = (-1.0, 0, 0)
    for i in range(len(kp)):
        for j in range(i + 1, len(kp)):
            a = _line_angle(kp[i]['top_left'], kp[i]['top_right'], kp[j]['bottom_left'], kp[j]['bottom_right'])
            if a > best[0]:
                best = (a, i, j)
    levels = [v.level for v in vertebrae]
    lordosis = None
    if 'L1' in levels and 'S1' in levels:  # L1 superior to S1 superior endplate
        i, j = levels.index('L1'), levels.index('S1')
        lordosis = _line_angle(kp[i]['top_left'], kp[i]['top_right'], kp[j]['top_left'], kp[j]['top_right'])
    elif 'L1' in levels and 'L5' in levels:
        i, j = levels.index('L1'), levels.index('L5')
        lordosis = _line_angle(kp[i]['top_left'], kp[i]['top_right'], kp[j]['bottom_left'], kp[j]['bottom_right'])
    return {'cobb_deg': best[0], 'cobb_upper_level': levels[best[1]], 'cobb_lower_level': levels[best[2]],
            'lordosis_deg': lordosis}


def category(num_keypoints: int) -> dict:
    """The COCO category of a vertebra with the named keypoint set of size ``num_keypoints``."""
    return {'id': 1, 'name': 'vertebra', 'supercategory': 'spine',
            'keypoints': keypoint_names_for(num_keypoints), 'skeleton': skeleton_for(num_keypoints)}


def make_image(spec: SyntheticSpec, seed: int, index: int):
    """Render image ``index`` of the set ``seed``: returns (uint8 image, vertebrae, anterior side)."""
    rng = np.random.default_rng([seed, index])
    vertebrae, anterior = generate_vertebrae(rng, spec)
    return render_image(rng, spec, vertebrae, anterior), vertebrae, anterior


def write_dataset(out_dir: str, num_images: int, spec: SyntheticSpec, seed: int = 0,
                  progress=None) -> Dict[str, int]:
    """Write images/, det_{train,val,test}.json and truth.json under ``out_dir``; returns split sizes."""
    spec.validate()
    if num_images < 1:
        raise ValueError(f'num_images must be >= 1, got {num_images}')
    os.makedirs(os.path.join(out_dir, 'images'), exist_ok=True)
    names = keypoint_names_for(spec.num_keypoints)
    splits = {s: {'images': [], 'annotations': []} for s in ('train', 'val', 'test')}
    truth = {'seed': seed, 'keypoint_names': names, 'images': {}}
    ann_id = 1
    indices = range(num_images) if progress is None else progress(range(num_images))
    order = np.random.default_rng([seed, 10 ** 6]).permutation(num_images)
    n_hold = max(1, num_images // 10) if num_images >= 3 else 0
    rank = np.empty(num_images, int)
    rank[order] = np.arange(num_images)
    for i in indices:
        img, vertebrae, anterior = make_image(spec, seed, i)
        file_name = f'images/synth_{i:06d}.png'
        path = os.path.join(out_dir, file_name)
        tmp = path + '.tmp.png'
        cv2.imwrite(tmp, img, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        os.replace(tmp, path)
        split = 'test' if rank[i] < n_hold else 'val' if rank[i] < 2 * n_hold else 'train'
        image_id = i + 1
        splits[split]['images'].append({
            'id': image_id, 'file_name': file_name, 'width': spec.width, 'height': spec.height,
            'pixel_spacing': [spec.pixel_spacing_mm, spec.pixel_spacing_mm]})
        for v in vertebrae:
            splits[split]['annotations'].append(_annotation(v, names, ann_id, image_id))
            ann_id += 1
        truth['images'][file_name] = dict(_truth(vertebrae, anterior, spec.pixel_spacing_mm, names),
                                          image_id=image_id, split=split)
    cat = category(spec.num_keypoints)
    for split, content in splits.items():
        coco = {'info': {'description': f'SpineKey synthetic spine radiographs ({split})', 'seed': seed},
                'images': content['images'], 'annotations': content['annotations'], 'categories': [cat]}
        atomic_write_json(os.path.join(out_dir, f'det_{split}.json'), coco)
    atomic_write_json(os.path.join(out_dir, 'truth.json'), truth)
    return {s: len(c['images']) for s, c in splits.items()}
