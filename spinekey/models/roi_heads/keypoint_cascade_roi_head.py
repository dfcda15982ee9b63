"""Cascade RoI head with a keypoint branch on the final cascade stage."""
from __future__ import annotations

from typing import List, Optional, Tuple

import torch
from mmdet.models.roi_heads import CascadeRoIHead
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.structures.bbox import bbox2roi
from mmdet.utils import ConfigType, InstanceList
from mmengine.structures import InstanceData
from torch import Tensor

from spinekey.models.functional import enlarge_boxes


@MODELS.register_module()
class KeypointCascadeRoIHead(CascadeRoIHead):
    """mmdet ``CascadeRoIHead`` plus ``keypoint_roi_extractor`` and ``keypoint_head``.

    Training: the keypoint head sees the positive RoIs of the last stage, with targets from the GT
    instance each was assigned to. Inference: it sees the final detections. RoIs are enlarged by
    ``keypoint_roi_scale`` so that corners on a box edge stay inside the heatmap. Predictions gain
    ``keypoints`` (N, K, 2) and ``keypoint_scores`` (N, K) in the same frame as ``bboxes``.
    Without ``keypoint_head`` it is exactly a CascadeRoIHead (detection-only datasets).
    """

    def __init__(self, keypoint_roi_extractor: Optional[ConfigType] = None,
                 keypoint_head: Optional[ConfigType] = None, keypoint_roi_scale: float = 1.2,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.keypoint_roi_scale = keypoint_roi_scale
        self._last_stage_samples = None
        if keypoint_head is not None:
            self.keypoint_roi_extractor = MODELS.build(keypoint_roi_extractor)
            self.keypoint_head = MODELS.build(keypoint_head)

    @property
    def with_keypoint(self) -> bool:
        return getattr(self, 'keypoint_head', None) is not None

    def _keypoint_forward(self, x: Tuple[Tensor], boxes: List[Tensor]) -> Tuple[Tensor, Tensor]:
        boxes = [enlarge_boxes(b, self.keypoint_roi_scale) for b in boxes]
        rois = bbox2roi(boxes)
        feats = self.keypoint_roi_extractor(x[:self.keypoint_roi_extractor.num_inputs], rois)
        return self.keypoint_head(feats), rois[:, 1:]

    def bbox_loss(self, stage: int, x: Tuple[Tensor], sampling_results) -> dict:
        if stage == self.num_stages - 1:
            self._last_stage_samples = sampling_results
        return super().bbox_loss(stage, x, sampling_results)

    def loss(self, x: Tuple[Tensor], rpn_results_list: InstanceList, batch_data_samples: SampleList) -> dict:
        self._last_stage_samples = None
        losses = super().loss(x, rpn_results_list, batch_data_samples)
        if self.with_keypoint:
            losses.update(self.keypoint_loss(x, self._last_stage_samples, batch_data_samples))
        self._last_stage_samples = None
        return losses

    def keypoint_loss(self, x: Tuple[Tensor], sampling_results, batch_data_samples: SampleList) -> dict:
        """``loss_kpt`` on the last stage's positives; zero (graph kept) when there are none."""
        if not sampling_results or sum(len(r.pos_priors) for r in sampling_results) == 0:
            zero = sum(p.sum() for p in self.keypoint_head.parameters()) * 0
            tilt = getattr(self.keypoint_head, 'tilt_loss_weight', 0) > 0
            return {'loss_kpt': zero, 'loss_tilt': zero} if tilt else {'loss_kpt': zero}
        gt_kps, gt_vis = [], []
        for res, sample in zip(sampling_results, batch_data_samples):
            gts = sample.gt_instances
            gt_kps.append(gts.keypoints[res.pos_assigned_gt_inds])
            gt_vis.append(gts.keypoints_visible[res.pos_assigned_gt_inds])
        logits, boxes = self._keypoint_forward(x, [r.pos_priors for r in sampling_results])
        return self.keypoint_head.loss(logits, boxes, torch.cat(gt_kps).to(logits.device),
                                       torch.cat(gt_vis).to(logits.device))

    def predict(self, x: Tuple[Tensor], rpn_results_list: InstanceList, batch_data_samples: SampleList,
                rescale: bool = False) -> InstanceList:
        batch_img_metas = [s.metainfo for s in batch_data_samples]
        # with a mask branch, boxes stay in network-input scale until the mask head rescales them
        bbox_rescale = rescale if not self.with_mask else False
        results_list = self.predict_bbox(x, batch_img_metas, rpn_results_list,
                                         rcnn_test_cfg=self.test_cfg, rescale=bbox_rescale)
        if self.with_keypoint:
            keypoint_results = self.predict_keypoints(x, batch_img_metas, results_list,
                                                      boxes_in_original=bbox_rescale, rescale=rescale)
        if self.with_mask:
            results_list = self.predict_mask(x, batch_img_metas, results_list, rescale=rescale)
        if self.with_keypoint:
            for results, kpts in zip(results_list, keypoint_results):
                results.keypoints = kpts.keypoints
                results.keypoint_scores = kpts.keypoint_scores
                results.keypoint_unc = kpts.keypoint_unc
        return results_list

    def predict_keypoints(self, x: Tuple[Tensor], batch_img_metas: List[dict], results_list: InstanceList,
                          boxes_in_original: bool, rescale: bool) -> list:
        """Keypoints of each image's detections, in original pixels when ``rescale``."""
        scales = [x[0].new_tensor(m.get('scale_factor', (1.0, 1.0))) for m in batch_img_metas]
        boxes = [r.bboxes * s.repeat(2) if boxes_in_original else r.bboxes
                 for r, s in zip(results_list, scales)]
        k = self.keypoint_head.num_keypoints
        if sum(len(b) for b in boxes) == 0:
            return [InstanceData(keypoints=x[0].new_zeros((0, k, 2)), keypoint_scores=x[0].new_zeros((0, k)),
                                 keypoint_unc=x[0].new_zeros((0, k))) for _ in boxes]
        logits, rois = self._keypoint_forward(x, boxes)
        pred = self.keypoint_head.predict(logits, rois)
        per_image = []
        sizes = [len(b) for b in boxes]
        for kpts, kp_scores, unc, s in zip(pred.keypoints.split(sizes), pred.keypoint_scores.split(sizes),
                                           pred.keypoint_unc.split(sizes), scales):
            per_image.append(InstanceData(keypoints=kpts / s if rescale else kpts, keypoint_scores=kp_scores,
                                          keypoint_unc=unc / s.mean() if rescale else unc))
        return per_image
