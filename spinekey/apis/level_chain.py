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
from spinekey.structures.vertebra import VertebraInput, order_vertebrae
from spinekey.apis.model_configs import build_model, model_config

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
        self.model = build_model(model_config(config, 'LevelChainModel', 'a level-chain'))
        load_model_weights(self.model, checkpoint)
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
    simulation, other draws): accuracy over detections (a level, or "not a vertebra"), and the share of films
    whose T1 and L5 are the detections truly at T1 and L5."""
    from spinekey.models.level_chain import SimulatedChainDataset, detection_features
    ds = SimulatedChainDataset(ann_file, data_root=data_root, repeats=draws, seed=seed)
    right = total = ends_right = 0
    for index in range(len(ds)):
        ordered, truth, height = ds.simulate(index, np.random.default_rng([seed, index]))
        names, _ = chain.model.name_levels(detection_features(ordered, height))
        right += sum(a == b for a, b in zip(names, truth))
        total += len(truth)
        ends_right += all((names[i] == lv) == (truth[i] == lv) for lv in ('T1', 'L5') for i in range(len(truth)))
    return {'films': len(ds), 'detections': total, 'level_accuracy': right / max(total, 1),
            'end_levels_right': ends_right / max(len(ds), 1)}
