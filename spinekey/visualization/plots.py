"""Evaluation figures: PCK curve, per-keypoint error histograms, worst-image overlays."""
from __future__ import annotations

import os
import sys
from typing import Dict, List, Sequence

import numpy as np

from spinekey.utils.errors import SpineKeyError


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def plot_pck_curve(metrics: Dict, path: str) -> None:
    plt = _pyplot()
    curve = metrics['pck_curve']
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(curve['thresholds'], curve['pck'], marker='o', ms=3)
    ax.set_xlabel('threshold (fraction of max(w, h) of the GT box)')
    ax.set_ylabel('PCK')
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.set_title(f'PCK curve (AUC {metrics.get("AUC", float("nan")):.3f})')
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_error_histograms(errors: np.ndarray, visible: np.ndarray, names: Sequence[str], path: str) -> None:
    """One histogram of pixel errors per keypoint (errors: np.ndarray[M, K])."""
    plt = _pyplot()
    k = len(names)
    cols = min(k, 3)
    rows = int(np.ceil(k / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    top = float(np.percentile(errors[visible], 99)) if visible.any() else 1.0
    for j, name in enumerate(names):
        ax = axes[j // cols][j % cols]
        ax.hist(errors[visible[:, j], j], bins=30, range=(0, max(top, 1e-3)), color='tab:blue')
        ax.set_title(name, fontsize=9)
        ax.set_xlabel('error (px)', fontsize=8)
    for j in range(k, rows * cols):
        axes[j // cols][j % cols].axis('off')
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def save_worst_overlays(gt: dict, results: List[dict], image_ids: Sequence[int], img_prefix: str,
                        out_dir: str, score_thr: float = 0.3) -> List[str]:
    """GT (green) and predicted (red) keypoints of the given images, errors drawn as yellow lines."""
    import cv2

    from spinekey.io.annotated_images import locate_image
    from spinekey.io.atomic import atomic_write_bytes
    from spinekey.io.images import read_image
    from spinekey.io.safe_paths import one_line, path_inside, safe_relpath
    images = {im['id']: im for im in gt['images']}
    written = []
    for rank, image_id in enumerate(image_ids):
        im = images[image_id]
        try:
            canvas = read_image(locate_image(img_prefix, im['file_name']) or os.path.join(img_prefix, im['file_name']))
        except SpineKeyError as err:  # one moved or unreadable film must not cost the other overlays
            print(f'warning: no overlay for image {image_id}: {one_line(err)}', file=sys.stderr)
            continue
        gts = [np.asarray(a['keypoints'], float).reshape(-1, 3) for a in gt['annotations']
               if a['image_id'] == image_id]
        preds = [np.asarray(r['keypoints'], float).reshape(-1, 3) for r in results
                 if r['image_id'] == image_id and r['score'] >= score_thr and 'keypoints' in r]
        for g in gts:
            if preds:  # nearest prediction by mean keypoint distance
                p = min(preds, key=lambda q: np.linalg.norm(q[:, :2] - g[:, :2], axis=1).mean())
                for (gx, gy, v), (px, py, _) in zip(g, p):
                    if v > 0:
                        cv2.line(canvas, (int(gx), int(gy)), (int(px), int(py)), (0, 255, 255), 1, cv2.LINE_AA)
            for gx, gy, v in g:
                if v > 0:
                    cv2.circle(canvas, (int(round(gx)), int(round(gy))), 2, (0, 200, 0), -1, cv2.LINE_AA)
        for p in preds:
            for px, py, _ in p:
                cv2.circle(canvas, (int(round(px)), int(round(py))), 2, (0, 0, 255), -1, cv2.LINE_AA)
        path = path_inside(out_dir, safe_relpath(f'worst_{rank + 1:02d}_image{image_id}.png'))
        atomic_write_bytes(path, cv2.imencode('.png', canvas)[1].tobytes())
        written.append(path)
    return written


def plot_cohort(table: List[Dict], path: str) -> None:
    """Mean and 95% CI of each height, per level, normalised by the reference level and by the level above."""
    plt = _pyplot()
    norms = [n for n in dict.fromkeys(r['normalised_by'] for r in table)]
    fig, axes = plt.subplots(1, max(1, len(norms)), figsize=(5.5 * max(1, len(norms)), 4), squeeze=False)
    for ax, norm in zip(axes[0], norms):
        for measure, marker in (('height_anterior', 'o'), ('height_middle', 's'), ('height_posterior', '^')):
            rows = [r for r in table if r['normalised_by'] == norm and r['measure'] == measure
                    and r['mean'] is not None]
            x = np.arange(len(rows))
            mean = np.array([r['mean'] for r in rows])
            low = np.array([r['ci95_low'] if r['ci95_low'] is not None else r['mean'] for r in rows])
            high = np.array([r['ci95_high'] if r['ci95_high'] is not None else r['mean'] for r in rows])
            ax.errorbar(x, mean, yerr=[mean - low, high - mean], marker=marker, ms=4, capsize=3,
                        label=measure.replace('height_', ''))
            ax.set_xticks(x, [r['level'] for r in rows], rotation=60, fontsize=8)
        ax.axhline(1.0, color='grey', lw=0.8, ls=':')
        ax.set_title(f'height / {norm}' if norm == 'level above' else f'height / {norm} height')
        ax.set_ylabel('ratio (mean, 95% CI)')
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_confusions(matrices: Dict[str, np.ndarray], path: str) -> None:
    """Side-by-side confusion matrices (rows: from GT keypoints, columns: from predictions) with counts."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(matrices), figsize=(4.2 * len(matrices), 3.8), squeeze=False)
    for ax, (title, m) in zip(axes[0], matrices.items()):
        m = np.asarray(m)
        ax.imshow(m, cmap='Blues')
        for (i, j), v in np.ndenumerate(m):
            ax.text(j, i, str(v), ha='center', va='center', color='white' if v > m.max() / 2 else 'black')
        ax.set_xticks(range(m.shape[1]))
        ax.set_yticks(range(m.shape[0]))
        ax.set_xlabel('grade from predicted keypoints')
        ax.set_ylabel('grade from GT keypoints')
        acc = np.trace(m) / m.sum() if m.sum() else float('nan')
        ax.set_title(f'{title} (accuracy {acc:.1%})')
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_uncertainty_validation(result: Dict, path_prefix: str) -> List[str]:
    """``<prefix>retention.png`` (SMAPE of the kept films against the fraction kept, by uncertainty and by the
    oracle) and ``<prefix>error_vs_uncertainty.png`` (each film's largest angle error against its uncertainty);
    returns the paths written."""
    plt = _pyplot()
    paths = [path_prefix + 'retention.png', path_prefix + 'error_vs_uncertainty.png']
    fig, ax = plt.subplots(figsize=(5, 4))
    for key, label, style in (('retention', 'most uncertain sent to review', 'o-'),
                              ('oracle_retention', 'oracle (worst films dropped)', 's--')):
        rows = result[key]
        ax.plot([100 * r['kept'] for r in rows], [r['smape'] for r in rows], style, ms=4, label=label)
    ax.invert_xaxis()
    ax.set_xlabel('films kept (%)')
    ax.set_ylabel('SMAPE of the kept films (%)')
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(f'retention (AUROC {result["auroc"]:.2f} for an angle off > {result["bad_deg"]:g} deg)'
                 if result.get('auroc') is not None else 'retention')
    fig.tight_layout()
    fig.savefig(paths[0], dpi=120)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(5, 4))
    films = result['films']
    ax.scatter([f['film_unc'] for f in films], [f['film_error'] for f in films], s=10, alpha=0.6)
    top = max([f['film_unc'] for f in films] + [1.0])
    ax.plot([0, top], [0, top], 'k:', lw=1, label='error = uncertainty')
    ax.axhline(result['bad_deg'], color='r', lw=1, ls='--', label=f'{result["bad_deg"]:g} deg')
    ax.set_xlabel('film uncertainty: largest angle +- (deg)')
    ax.set_ylabel('largest angle error (deg)')
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(paths[1], dpi=120)
    plt.close(fig)
    return paths
