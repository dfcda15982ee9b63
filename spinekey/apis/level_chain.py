"""One vertebra per level, learned: name each detection's level with the level-chain model, drop what is not a
vertebra, fill a level missed between two found ones (marked ``filled``; found corners never move).

``LevelChain(config, checkpoint).apply(vertebrae, film_height)`` returns the chain the measurements use:
vertebrae labelled with their level (so levels, lordosis and the AASCE angles read them), the filled ones, the
dropped ones with why, and a chain confidence (the lowest probability of a kept level) that QC reads.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Sequence

import numpy as np

from spinekey.io.checkpoint import load_model_weights
from spinekey.measurement.chain import interpolate_vertebra
from spinekey.structures.vertebra import (ImageInput, VertebraInput, film_named, films_by_name, order_vertebrae,
                                          pair_vertebrae, vertebra_box)
from spinekey.apis.model_configs import build_model, model_config
from spinekey.utils.errors import SpineKeyError

AASCE_LEVELS = [f'T{i}' for i in range(1, 13)] + [f'L{i}' for i in range(1, 6)]


@dataclass
class LevelChainResult:
    vertebrae: List[VertebraInput] = field(default_factory=list)  # spine order, labelled, filled ones included
    filled: List[int] = field(default_factory=list)                # indices into ``vertebrae``
    dropped: Dict[int, str] = field(default_factory=dict)          # input index -> why
    confidence: Optional[float] = None


class LevelChain:
    """The level-chain model of ``config`` with the weights of ``checkpoint`` (safe loader).

    ``levels``: the levels a chain keeps (None: every level the model names; the AASCE procedure passes T1..L5).
    """

    def __init__(self, config: str, checkpoint: str, levels: Optional[Sequence[str]] = None):
        cfg = model_config(config, 'LevelChainModel', 'a level-chain')
        self.model = build_model(cfg)
        load_model_weights(self.model, checkpoint)
        # the detector errors it was trained on (accuracy_on_simulated draws others of the same kind)
        train_set = (cfg.get('train_dataloader') or {}).get('dataset') or {}
        self.simulation = {k: v for k, v in train_set.items() if k.startswith('p_')}
        self.model.eval()
        self.levels = list(levels) if levels else None

    def apply(self, vertebrae: Sequence[VertebraInput], film_height: Optional[float] = None) -> LevelChainResult:
        from spinekey.models.level_chain import CHAIN_LEVELS, detection_features
        usable = [i for i, v in enumerate(vertebrae) if v.has_corners()]
        out = LevelChainResult(dropped={i: 'no corners' for i in range(len(vertebrae)) if i not in usable})
        if not usable:
            return out
        order = [usable[i] for i in order_vertebrae([vertebrae[i] for i in usable])]
        ordered = [vertebrae[i] for i in order]
        names, conf = self.model.name_levels(detection_features(ordered, film_height))
        kept = []
        for src, v, name, p in zip(order, ordered, names, conf):
            if name is None:
                out.dropped[src] = 'not a vertebra (level chain)'
            elif self.levels is not None and name not in self.levels:
                out.dropped[src] = f'{name}: outside the levels measured'
            else:
                kept.append((CHAIN_LEVELS.index(name), replace(v, label=name), float(p)))
        out.confidence = min((p for _, _, p in kept), default=None)
        for k, (lv, v, _) in enumerate(kept):
            if k:
                prev_lv, prev_v, _ = kept[k - 1]
                gap = lv - prev_lv
                for j in range(1, gap):  # levels missed between two found vertebrae
                    out.filled.append(len(out.vertebrae))
                    out.vertebrae.append(interpolate_vertebra(prev_v, v, j / gap, CHAIN_LEVELS[prev_lv + j]))
            out.vertebrae.append(v)
        return out


def accuracy_on_simulated(chain: LevelChain, ann_file: str, data_root: str = '', draws: int = 3,
                          seed: int = 1) -> Dict[str, float]:
    """How the chain names levels on a fold's true columns with simulated detector errors (the training
    simulation's rates, other draws): accuracy over detections (a level, or "not a vertebra"), and the share of
    films whose T1 and L5 are the detections truly at T1 and L5."""
    from spinekey.models.level_chain import SimulatedChainDataset, detection_features
    ds = SimulatedChainDataset(ann_file, data_root=data_root, repeats=draws, seed=seed, **chain.simulation)
    right = total = ends_right = 0
    for index in range(len(ds)):
        ordered, truth, height = ds.simulate(index, np.random.default_rng([seed, index]))
        names, _ = chain.model.name_levels(detection_features(ordered, height))
        right += sum(a == b for a, b in zip(names, truth))
        total += len(truth)
        ends_right += all((names[i] == lv) == (truth[i] == lv) for lv in ('T1', 'L5') for i in range(len(truth)))
    return {'films': len(ds), 'detections': total, 'level_accuracy': right / max(total, 1),
            'end_levels_right': ends_right / max(len(ds), 1)}


def check_on_detections(chain: LevelChain, gt_images: Sequence[ImageInput], pred_images: Sequence[ImageInput],
                        iou_thr: float = 0.5) -> dict:
    """How the chain names the levels of a detector's output on annotated films (levels in the annotations'
    ``label``): each detection the chain keeps is paired one-to-one with a true vertebra (box IoU >= iou_thr)
    and is right when that vertebra's label is the level it was named; a kept detection with no true vertebra
    is wrong. Also: true vertebrae detected but dropped, filled levels (right when a true vertebra of that level
    lies within half the film's median spacing of it), films with every kept level right."""
    preds = films_by_name(pred_images)
    films, totals = [], {'kept': 0, 'kept_right': 0, 'true_dropped': 0, 'filled': 0, 'filled_right': 0}
    paired = [film_named(preds, gt.file_name) for gt in gt_images]
    if pred_images and not any(paired):
        raise SpineKeyError('the results name none of the annotated films (paired by file name, else base name): '
                            'give the results.json of the same films')
    for gt, pred in zip(gt_images, paired):
        truth = [v for v in gt.vertebrae if v.label and vertebra_box(v) is not None]
        if not truth:
            continue
        found = [v for v in (pred.vertebrae if pred else []) if v.has_corners()]
        result = chain.apply(found, gt.height)
        kept = [v for i, v in enumerate(result.vertebrae) if i not in result.filled]
        pairs = pair_vertebrae(truth, kept, iou_thr)
        right = int(sum(i in pairs and truth[pairs[i]].label == v.label for i, v in enumerate(kept)))
        true_dropped = len(set(pair_vertebrae(truth, found, iou_thr)) & set(result.dropped))
        spacing = float(np.median(np.linalg.norm(np.diff([v.centre() for v in truth], axis=0), axis=1))) \
            if len(truth) > 1 else np.inf
        by_level = {v.label: v.centre() for v in truth}
        filled = [result.vertebrae[i] for i in result.filled]
        filled_right = int(sum(v.label in by_level and np.linalg.norm(v.centre() - by_level[v.label]) < spacing / 2
                               for v in filled))
        films.append({'file_name': gt.file_name, 'true': len(truth), 'detected': len(found), 'kept': len(kept),
                      'kept_right': right, 'true_dropped': true_dropped, 'filled': len(filled),
                      'filled_right': filled_right, 'levels': [v.label for v in result.vertebrae],
                      'chain_confidence': result.confidence})
        for key in totals:
            totals[key] += films[-1][key]
    summary = dict(totals, films=len(films),
                   level_accuracy=totals['kept_right'] / max(totals['kept'], 1),
                   films_all_right=sum(f['kept_right'] == f['kept'] for f in films) / max(len(films), 1))
    return {'summary': summary, 'films': films}
