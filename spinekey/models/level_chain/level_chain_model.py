"""The level-chain model: a bidirectional GRU over a film's detections in spine order that names each one's
level (C7, T1..L5, S1) or "not a vertebra", decoded so levels only go down the column.

In: features (1, n, F) from spinekey.models.level_chain.features. Out: log-probabilities (n, C) over
``CHAIN_CLASSES``. ``decode_levels`` picks, by dynamic programming, the assignment with the highest total
log-probability in which every named level lies below the one named before it (two detections never share a
level; gaps are allowed and filled later, never invented without the ``filled`` mark).
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np
import torch
from mmdet.registry import MODELS
from mmengine.model import BaseModel
from torch import nn

from spinekey.models.level_chain.features import NUM_FEATURES

CHAIN_LEVELS = ['C7'] + [f'T{i}' for i in range(1, 13)] + [f'L{i}' for i in range(1, 6)] + ['S1']
NONE = 'none'
CHAIN_CLASSES = CHAIN_LEVELS + [NONE]


def decode_levels(log_probs: np.ndarray) -> List[Optional[int]]:
    """Level index (into CHAIN_LEVELS) of each detection, or None, with strictly increasing levels down the
    column, maximising the summed log-probability (O(n L^2))."""
    n, c = log_probs.shape
    levels = c - 1
    none = log_probs[:, -1]
    # best[i][l]: best total of detections 0..i with the last named level <= l ... kept simple: last named == l,
    # plus a state levels for "nothing named yet"
    neg = -1e18
    best = np.full((n + 1, levels + 1), neg)
    back = np.zeros((n + 1, levels + 1, 2), int)
    best[0, levels] = 0.0  # nothing named yet
    for i in range(n):
        for last in range(levels + 1):
            if best[i, last] <= neg / 2:
                continue
            # detection i is "none"
            if best[i, last] + none[i] > best[i + 1, last]:
                best[i + 1, last] = best[i, last] + none[i]
                back[i + 1, last] = (last, -1)
            start = 0 if last == levels else last + 1
            for lv in range(start, levels):
                value = best[i, last] + log_probs[i, lv]
                if value > best[i + 1, lv]:
                    best[i + 1, lv] = value
                    back[i + 1, lv] = (last, lv)
    out: List[Optional[int]] = [None] * n
    state = int(np.argmax(best[n]))
    for i in range(n, 0, -1):
        prev, named = back[i, state]
        out[i - 1] = None if named < 0 else int(named)
        state = int(prev)
    return out


@MODELS.register_module()
class LevelChainModel(BaseModel):
    """Args: hidden: GRU width; num_features: input size (features.NUM_FEATURES)."""

    def __init__(self, hidden: int = 64, num_features: int = NUM_FEATURES, data_preprocessor=None,
                 init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.embed = nn.Sequential(nn.Linear(num_features, hidden), nn.ReLU())
        self.gru = nn.GRU(hidden, hidden, batch_first=True, bidirectional=True)
        self.classify = nn.Linear(2 * hidden, len(CHAIN_CLASSES))

    def log_probs(self, features: torch.Tensor) -> torch.Tensor:
        """(N, n, C) log-probabilities from features (N, n, F)."""
        out, _ = self.gru(self.embed(features))
        return torch.log_softmax(self.classify(out), -1)

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            total, count = 0.0, 0
            labels = data_samples['labels'] if isinstance(data_samples, dict) else [d['labels'] for d in data_samples]
            for feats, target in zip(inputs, labels):
                lp = self.log_probs(feats[None].float())[0]
                total = total + nn.functional.nll_loss(lp, target.long(), reduction='sum')
                count += len(target)
            return {'loss_level': total / max(count, 1)}
        return [self.log_probs(f[None].float())[0] for f in inputs]

    @torch.no_grad()
    def name_levels(self, features: np.ndarray):
        """(level names or None per detection, max probability per detection) for one film."""
        if len(features) == 0:
            return [], np.zeros(0)
        lp = self.log_probs(torch.from_numpy(np.asarray(features, np.float32))[None])[0].numpy()
        picks = decode_levels(lp)
        probs = np.exp(lp)
        conf = np.array([probs[i, p if p is not None else -1] for i, p in enumerate(picks)])
        return [None if p is None else CHAIN_LEVELS[p] for p in picks], conf


def classes_of(labels: Sequence[Optional[str]]) -> List[int]:
    """Class indices of level names (None or an unknown name: "none")."""
    return [CHAIN_CLASSES.index(lv) if lv in CHAIN_LEVELS else len(CHAIN_CLASSES) - 1 for lv in labels]
