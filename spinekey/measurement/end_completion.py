"""Complete a short column at its ends with a faint detection: the end vertebra the detector saw but scored
under the threshold.

Why: on AASCE the commonest wrong column is one that stops a level short, L5 (or T1) missed, and most of those
misses are not absent but faint: of the true L5s with no detection scoring 0.3, most have one scoring 0.05-0.3
at the right place (docs/aasce.md, "Splitting the error"). Lowering the threshold for the whole film would let
strays and duplicates in; taking a faint detection only where a short column's next level should be does not.
Measured on both held-out folds (docs/aasce.md): fewer films measured on a wrong end, no change in Cobb SMAPE.

A completed vertebra keeps its own corners and score (never moved, never invented); the measurement rows say
which vertebra was completed and from what score.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np

from spinekey.measurement.chain import levels_missed
from spinekey.structures.vertebra import VertebraInput, centre_steps, order_vertebrae, vertebra_box
from spinekey.utils.errors import SpineKeyError


@dataclass(frozen=True)
class EndCompletion:
    """Where a faint detection may complete a column. ``faint_thr``: the lowest score taken (the results must
    have been written down to it, ``tools/infer.py --score-thr``); ``spacing``: how far beyond the end, in
    median centre-to-centre spacings of the column; ``max_offset``: how far off the column's line, in median
    vertebra widths; ``min_column``: shorter columns are left alone (too few to say where the next level is);
    ``gap_factor``: a step between neighbours longer than this many median spacings is a level missed inside
    the column (as the rule-based chain reads it), which counts as spanned: that column is not short at its ends."""
    faint_thr: float = 0.05
    n_levels: int = 17
    spacing: Tuple[float, float] = (0.6, 1.6)
    max_offset: float = 0.75
    min_column: int = 5
    gap_factor: float = 1.6


def complete_ends(column: Sequence[VertebraInput], faint: Sequence[VertebraInput],
                  rule: EndCompletion = EndCompletion()) -> Tuple[List[VertebraInput], List[VertebraInput]]:
    """(the column with at most one faint vertebra added below its bottom and one above its top, the added
    ones). Nothing is added to a column that spans ``rule.n_levels`` levels or more (its vertebrae plus the
    levels its gaps miss), or of fewer than ``rule.min_column`` placed vertebrae; of several candidates at an
    end the highest-scored one is taken; the bottom is completed first (a missed L5 is the commoner miss on
    AASCE)."""
    column = list(column)
    order = order_vertebrae(column)
    placed = [column[i] for i in order]
    steps = centre_steps(placed)
    if len(placed) < rule.min_column or steps is None:
        return column, []
    spacing = float(np.median(steps))
    spanned = len(placed) + sum(levels_missed(s, spacing, rule.gap_factor) for s in steps)
    if spanned >= rule.n_levels:
        return column, []
    width = float(np.median([vertebra_box(v)[2] - vertebra_box(v)[0] for v in placed]))
    centres = np.array([v.centre() for v in placed], float)
    candidates = [v for v in faint if v.centre() is not None]
    added: List[VertebraInput] = []
    for end, inner in ((centres[-1], centres[-2]), (centres[0], centres[1])):
        if spanned + len(added) >= rule.n_levels:
            break
        direction = (end - inner) / max(float(np.linalg.norm(end - inner)), 1e-9)
        best = None
        for v in candidates:
            offset = v.centre() - end
            along = float(offset @ direction)
            across = abs(float(direction[0] * offset[1] - direction[1] * offset[0]))
            fits = rule.spacing[0] * spacing <= along <= rule.spacing[1] * spacing and across <= rule.max_offset * width
            if fits and v not in added and (best is None or (v.score or 0.0) > (best.score or 0.0)):
                best = v
        if best is not None:
            added.append(best)
    return column + added, added


def check_end_completion(options, score_thr: float) -> None:
    """Refuse end completion where it cannot work, for ``tools/measure.py`` and ``SpineKeyInferencer`` alike:
    beside the level chain or the end-level classifier (they decide the ends themselves), or with a faint
    threshold not under the score threshold (nothing could be faint). ``options``: a MeasureOptions.

    Raises:
        SpineKeyError: one line saying which.
    """
    rule = options.end_completion
    if rule is None:
        return
    if options.level_chain is not None or options.end_levels is not None:
        raise SpineKeyError('--complete-ends completes the 17 best-scored or the rule-based --chain; the level chain '
                            'and the end-level classifier decide the ends themselves: give one of them')
    if rule.faint_thr >= score_thr:
        raise SpineKeyError(f'end completion takes detections scoring under the score threshold ({score_thr:g}); '
                            f'its faint threshold {rule.faint_thr:g} is not under it')
