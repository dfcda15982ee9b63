"""mmdet's test workflow with stage 2: ``tools/test.py CONFIG CKPT --refine-config R --refine-checkpoint C``.

``RefinedTestLoop`` is mmengine's ``TestLoop`` with the refiner (spinekey.apis.refine) between the model's
predictions and the evaluator: every detection's keypoints are re-placed on its own patch of the film at native
resolution (read again from the sample's ``img_path``, since the test pipeline resized it), so the test
evaluator's keypoint metrics, ``--out`` results.json and ``--show-dir`` overlays are those of both stages, the same
corners ``tools/refine.py`` gives on the saved stage-1 results (tested). Stage 1's keypoints stay beside them as
``keypoints_stage1``, the refiner's uncertainty replaces stage 1's ``keypoint_unc``; the refiner config's blend
applies; placing missed levels does not (a test split is scored on the detections the model made).

``spinekey.apis.runner.runner_test(..., refine_config=..., refine_checkpoint=...)`` installs it as the Runner's test
loop. It is not in mmdet's LOOPS registry: registering it would make ``import spinekey`` (which registers the model
parts, a floor below this one) import the refiner's whole stack.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.model import is_model_wrapper
from mmengine.runner import TestLoop, autocast
from mmengine.runner.loops import _update_losses

from spinekey.apis.refine import Refiner
from spinekey.structures.results import resolve_keypoint_names
from spinekey.utils.errors import SpineKeyError


class RefinedTestLoop(TestLoop):
    """TestLoop whose predictions are refined (stage 2) before the evaluator sees them.

    Every detection is refined, as tools/refine.py does by default.

    Args:
        refine_config / refine_checkpoint: the refiner.
        refine_passes: how many times (None: the refiner config's).
    """

    def __init__(self, runner, dataloader, evaluator, *, refine_config: str, refine_checkpoint: str,
                 fp16: bool = False, refine_passes: Optional[int] = None) -> None:
        super().__init__(runner, dataloader, evaluator, fp16)
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        device = next(model.parameters()).device
        self.refiner = Refiner(refine_config, refine_checkpoint, device=str(device), passes=refine_passes,
                               fill_missed=False)
        head = getattr(getattr(model, 'roi_head', None), 'keypoint_head', None)
        if head is None:
            raise SpineKeyError(f'{refine_config}: the model under test has no keypoint head to refine')
        try:
            self.keypoint_names = resolve_keypoint_names(
                head.num_keypoints, (getattr(self.dataloader.dataset, 'metainfo', None) or {}).get('keypoint_names'))
        except ValueError as err:
            raise SpineKeyError(f'the test split: {err}') from None
        self.refiner.order_for(self.keypoint_names)  # another keypoint set: one line before any film runs

    @torch.no_grad()
    def run_iter(self, idx, data_batch: Sequence[dict]) -> None:
        """TestLoop.run_iter with the refiner between ``test_step`` and the evaluator (and the hooks after it)."""
        self.runner.call_hook('before_test_iter', batch_idx=idx, data_batch=data_batch)
        with autocast(enabled=self.fp16):
            outputs = self.runner.model.test_step(data_batch)
        for sample in outputs:
            self.refine_sample(sample)
        outputs, self.test_loss = _update_losses(outputs, self.test_loss)
        self.evaluator.process(data_samples=outputs, data_batch=data_batch)
        self.runner.call_hook('after_test_iter', batch_idx=idx, data_batch=data_batch, outputs=outputs)

    def refine_sample(self, sample) -> None:
        """Refine one DetDataSample's ``pred_instances`` in place (keypoints in film pixels, as mmdet rescales them)."""
        from spinekey.io.images import read_gray
        pred = sample.pred_instances
        if 'keypoints' not in pred or len(pred) == 0:
            return
        film = read_gray(sample.img_path)  # an unreadable film: SpineKeyError, one line
        stage1 = pred.keypoints.detach().cpu().double().numpy()
        unc = pred.keypoint_unc.detach().cpu().double().numpy() if 'keypoint_unc' in pred else None
        refined, refined_unc = self.refiner.refine_keypoints(film, stage1, unc, self.keypoint_names)
        pred.keypoints_stage1 = pred.keypoints
        pred.keypoints = pred.keypoints.new_tensor(np.asarray(refined))
        if unc is not None:
            pred.keypoint_unc = pred.keypoint_unc.new_tensor(np.asarray(refined_unc))
