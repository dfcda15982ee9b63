"""Where the T1-L5 column starts and ends, read off the film: the end-level classifier on the first and last
three detections, then spinekey.models.end_levels.read_column_ends.

``EndLevels(config, checkpoint).apply(vertebrae, film)`` returns the vertebrae the AASCE measurement should use
(a C7 above T1 or a sacral segment below L5 dropped, the kept ones labelled with their levels when the count
agrees), and what it found missing: a column whose top reads as T2 has lost T1, which no rule on geometry
and scores can see (docs/aasce.md, the end levels). Found corners never move.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Sequence

import numpy as np

from spinekey.io.checkpoint import checkpoint_dataset_meta, load_model_weights
from spinekey.structures.levels import END_LEVEL_CLASSES, LEVELS
from spinekey.structures.vertebra import CORNERS, VertebraInput, order_vertebrae
from spinekey.apis.level_chain import AASCE_LEVELS
from spinekey.apis.model_configs import build_model, model_config
from spinekey.utils.errors import SpineKeyError


@dataclass
class EndLevelResult:
    vertebrae: List[VertebraInput] = field(default_factory=list)  # what to measure, spine order
    dropped: Dict[int, str] = field(default_factory=dict)          # input index -> why
    missing: List[str] = field(default_factory=list)               # end levels not found (T1, T2, L5, L4)
    ends: Optional[object] = None                                  # spinekey.models.end_levels.ColumnEnds
    note: str = ''


class EndLevels:
    """The end-level classifier of ``config`` with the weights of ``checkpoint`` (safe loader); the config's
    ``end_levels = dict(patch_size, context, count_penalty, max_trim, end_prior)`` frames the patches and reads
    the ends (spinekey.models.end_levels.read_column_ends)."""

    def __init__(self, config: str, checkpoint: str):
        cfg = model_config(config, 'EndLevelClassifier', 'an end-level')
        cfg.model.backbone.pretrained = False  # the checkpoint holds every weight
        self.model = build_model(cfg)
        load_model_weights(self.model, checkpoint)
        classes = checkpoint_dataset_meta(checkpoint).get('end_level_classes')
        if classes is not None and list(classes) != list(END_LEVEL_CLASSES):
            raise SpineKeyError(f'{checkpoint}: trained for the classes {classes}, this SpineKey reads '
                                f'{list(END_LEVEL_CLASSES)}')
        self.model.eval()
        opts = dict(cfg.get('end_levels') or {})
        self.patch_size, self.context = int(opts.get('patch_size', 128)), float(opts.get('context', 4.0))
        self.count_penalty, self.max_trim = float(opts.get('count_penalty', 1.0)), int(opts.get('max_trim', 2))
        self.end_prior = float(opts.get('end_prior', 4.0))

    def probabilities(self, vertebrae: Sequence[VertebraInput], film: np.ndarray) -> np.ndarray:
        """(n, 8) over END_LEVEL_CLASSES, one row per vertebra (each needs its four corners)."""
        import torch

        from spinekey.datasets.patch_geometry import cut_patch, vertebra_frame
        from spinekey.structures.vertebra import vertebra_quad
        if not len(vertebrae):
            return np.zeros((0, len(END_LEVEL_CLASSES)))
        patches = [cut_patch(film, vertebra_frame(vertebra_quad(v), CORNERS, self.patch_size, self.context))
                   for v in vertebrae]
        with torch.no_grad():
            return self.model.predict_patches(torch.from_numpy(np.stack(patches)[:, None])).numpy()

    def apply(self, vertebrae: Sequence[VertebraInput], film: Optional[np.ndarray]) -> EndLevelResult:
        from spinekey.models.end_levels import END_DETECTIONS, read_column_ends
        usable = [i for i, v in enumerate(vertebrae)
                  if v.has_corners() and np.all(np.isfinite([v.points[n] for n in CORNERS]))]  # NaN: not placed
        order = [usable[i] for i in order_vertebrae([vertebrae[i] for i in usable])] if usable else []
        ordered = [vertebrae[i] for i in order]
        out = EndLevelResult(vertebrae=list(vertebrae))
        if film is None:
            out.note = 'end levels not read: no image'
            return out
        ends_at = ordered[:END_DETECTIONS] + ordered[-END_DETECTIONS:][::-1]
        probs = self.probabilities(ends_at, film) if len(ordered) >= 2 * END_DETECTIONS else None
        ends = None if probs is None else read_column_ends(
            _renormalise(probs[:END_DETECTIONS, :4]), _renormalise(probs[END_DETECTIONS:, 4:]), len(ordered),
            self.count_penalty, self.max_trim, self.end_prior)
        if ends is None:
            out.note = f'end levels not read: {len(ordered)} vertebrae with corners (needs {2 * END_DETECTIONS})'
            return out
        out.ends = ends
        top_names = {-1: 'C7', -2: 'C6'}
        for k in range(ends.trim_top):
            out.dropped[order[k]] = f'above T1 (end-level classifier: {top_names.get(k - ends.trim_top, "C")})'
        for k in range(ends.trim_bottom):
            out.dropped[order[len(order) - 1 - k]] = 'below L5 (end-level classifier: a sacral segment)'
        kept = ordered[ends.trim_top:len(ordered) - ends.trim_bottom]
        out.missing = [f'T{i}' for i in range(1, ends.top + 1)] + [f'L{6 + i}' for i in range(ends.bottom, 0)]
        if ends.unexplained == 0:  # the count agrees with both ends: every kept vertebra's level is known
            first = LEVELS.index('T1') + max(0, ends.top)
            kept = [replace(v, label=LEVELS[first + j]) for j, v in enumerate(kept)]
        out.vertebrae = kept + [v for i, v in enumerate(vertebrae) if i not in order]
        return out


def _renormalise(p: np.ndarray) -> np.ndarray:
    return p / np.clip(p.sum(-1, keepdims=True), 1e-12, None)


AASCE_COLUMN = AASCE_LEVELS  # T1..L5, the learned chain's list
# scenario -> (the true levels the "detections" are, the (top, bottom) reading that is right)
SCENARIOS = {
    'clean T1-L5': (AASCE_COLUMN, (0, 0)),
    'extra above T1': (['above'] + AASCE_COLUMN, (-1, 0)),
    'extra below L5': (AASCE_COLUMN + ['below'], (0, 1)),
    'T1 missed': (AASCE_COLUMN[1:], (1, 0)),
    'L5 missed': (AASCE_COLUMN[:-1], (0, -1)),
    # the count right and both ends wrong: the commonest end failure of stage 1 on AASCE (docs/aasce.md)
    'shifted up (C7..L4)': (['above'] + AASCE_COLUMN[:-1], (-1, -1)),
    'shifted down (T2..S1)': (AASCE_COLUMN[1:] + ['below'], (1, 1)),
}


def check_on_annotations(end_levels: EndLevels, ann_file: str, images_dir: str, seed: int = 0,
                         progress: bool = True, end_priors: Sequence[float] = ()) -> dict:
    """How the classifier reads the ends of held-out films' *true* columns, with stage-1-like corner errors (the
    training simulation, fixed draws): per scenario (a clean T1-L5 column, one extra level above or below it,
    T1 or L5 missed) the share of films whose (top, bottom) reading is right; and the per-class accuracy of the
    eight classes on their own. No stage-1 run needed: a first check of a trained classifier on a judged fold.
    The level above T1 / below L5 is extrapolated as in training; a film where it falls off the film skips the
    scenarios that need it. ``end_priors``: also read the same probabilities with each of these ``end_prior``
    values (``by_end_prior``; ``balanced``: the clean column weighted 1/2, the others sharing the other half), to choose
    it on a fold that is not the one judged."""
    import os

    from tqdm import tqdm

    from spinekey.datasets.end_level_patches import labelled_columns, level_beyond, simulate_stage1
    from spinekey.io.coco_files import load_coco_gt
    from spinekey.io.images import read_gray
    from spinekey.models.end_levels import END_DETECTIONS, read_column_ends
    coco = load_coco_gt(ann_file)
    by_image = labelled_columns(coco, ann_file)
    read = []  # per film: (probabilities by level, which of the levels past the ends are on the film)
    confusion = np.zeros((len(END_LEVEL_CLASSES),) * 2, int)
    images = [im for im in coco['images'] if set(AASCE_COLUMN) <= set(by_image.get(im['id'], {}))]
    for im in tqdm(images, desc='end levels', unit='film', disable=not progress):
        col = dict(by_image[im['id']])
        col['above'], col['below'] = level_beyond(col, 'T1', 'T2'), level_beyond(col, 'L5', 'L4')
        film = read_gray(os.path.join(images_dir, im['file_name']))
        h, w = film.shape
        rng = np.random.default_rng([seed, im['id']])
        wanted = ['above', 'T1', 'T2', 'T3', 'T4', 'L2', 'L3', 'L4', 'L5', 'below']
        vertebrae = [VertebraInput(dict(zip(CORNERS, map(tuple, simulate_stage1(col[lv], rng))))) for lv in wanted]
        probs = dict(zip(wanted, end_levels.probabilities(vertebrae, film)))
        on_film = {lv: 0 <= col[lv].mean(0)[0] < w and 0 <= col[lv].mean(0)[1] < h for lv in ('above', 'below')}
        for lv in wanted:
            cls = {'above': 'above_T1', 'below': 'below_L5'}.get(lv, lv)
            if cls in END_LEVEL_CLASSES and on_film.get(lv, True):
                confusion[END_LEVEL_CLASSES.index(cls), int(np.argmax(probs[lv]))] += 1
        read.append((probs, on_film))

    def scenarios(end_prior: float) -> dict:
        right = {k: [0, 0] for k in SCENARIOS}
        for probs, on_film in read:
            for name, (levels, truth) in SCENARIOS.items():
                if any(not on_film.get(lv, True) for lv in levels):
                    continue
                top = np.stack([probs[lv][:4] for lv in levels[:END_DETECTIONS]])
                bottom = np.stack([probs[lv][4:] for lv in levels[::-1][:END_DETECTIONS]])
                ends = read_column_ends(_renormalise(top), _renormalise(bottom), len(levels),
                                        end_levels.count_penalty, end_levels.max_trim, end_prior)
                right[name][0] += int((ends.top, ends.bottom) == truth)
                right[name][1] += 1
        return {k: {'right': r, 'films': n, 'share': r / n if n else None} for k, (r, n) in right.items()}

    def balanced(shares: dict) -> Optional[float]:
        values = [s['share'] for s in shares.values()]
        return None if None in values else 0.5 * values[0] + 0.5 * sum(values[1:]) / (len(values) - 1)

    per_class = confusion.diagonal() / np.clip(confusion.sum(1), 1, None)
    by_prior = {float(p): scenarios(float(p)) for p in end_priors}
    return {'films': len(images), 'ann_file': ann_file, 'end_prior': end_levels.end_prior,
            'scenarios': scenarios(end_levels.end_prior),
            'by_end_prior': [{'end_prior': p, 'balanced': balanced(s), 'scenarios': s} for p, s in by_prior.items()],
            'class_accuracy': dict(zip(END_LEVEL_CLASSES, per_class.round(4).tolist())),
            'confusion': {'classes': list(END_LEVEL_CLASSES), 'rows_true_cols_predicted': confusion.tolist()}}
