"""Annotation loading that keeps keypoints beside mmdet's boxes and masks."""
from __future__ import annotations

import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmdet.datasets.transforms import LoadAnnotations
from mmdet.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadSpineAnnotations(LoadAnnotations):
    """mmdet ``LoadAnnotations`` plus ``gt_keypoints`` (np.ndarray[N, K, 3], float32: x, y, visibility).

    Instances are in the same order as ``gt_bboxes`` (ignored ones included), so every later transform can
    index them together. Images whose dataset has no keypoints get an (N, 0, 3) array. Without
    ``instances`` (a bare film at inference: mmdet's ``inference_detector``, ``DetInferencer``) there is
    nothing to load and the results pass through unchanged, as they do in mmdet's test pipelines.
    """

    def __init__(self, with_keypoints: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.with_keypoints = with_keypoints

    def transform(self, results: dict) -> dict:
        if 'instances' not in results:
            return results
        results = super().transform(results)
        if self.with_keypoints:
            k = len(results.get('keypoint_names', []))
            kps = [inst.get('keypoints', np.zeros((k, 3), np.float32)) for inst in results['instances']]
            results['gt_keypoints'] = (np.stack(kps).astype(np.float32) if kps
                                       else np.zeros((0, k, 3), np.float32))
        return results


@TRANSFORMS.register_module()
class LoadSpineImage(LoadImageFromFile):
    """mmcv ``LoadImageFromFile`` that also reads DICOM (windowed to 8 bit, see spinekey.io.dicom), so a
    training set can point straight at .dcm files."""

    def transform(self, results: dict) -> dict:
        from spinekey.io.dicom import is_dicom
        path = results['img_path']
        if not is_dicom(path):
            return super().transform(results)
        from spinekey.io.images import read_image
        img = read_image(path)
        results['img'] = img.astype(np.float32) if self.to_float32 else img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results


@TRANSFORMS.register_module(name='LoadImageFromFile')
class LoadImageFromFileOrDicom(LoadSpineImage):
    """``LoadImageFromFile`` as mmdet's own inference APIs build it (``inference_detector`` from a config's
    test pipeline, ``DetInferencer`` inside its ``InferencerLoader``), registered under that name in mmdet's
    registry: with SpineKey imported a DICOM film (``.dcm`` or a PACS export's ``IM0001``) reads there too,
    where mmcv's loader stops with ``failed to load image``. Every other file goes to mmcv's loader unchanged."""
