"""COCO vertebra dataset with named keypoints (any K), pixel spacing and vertebra levels."""
from __future__ import annotations

import logging
import os.path as osp
from typing import List, Union

import numpy as np
from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS
from mmengine.logging import print_log

from spinekey.structures.keypoint_names import outline
from spinekey.utils.errors import SpineKeyError


@DATASETS.register_module()
class SpineCocoDataset(CocoDataset):
    """mmdet's CocoDataset plus per-instance keypoints.

    Each instance gains ``keypoints`` (np.ndarray[K, 3]: x, y, v) and ``level`` (str or None); each image
    gains ``keypoint_names`` (the category's list, used by name-based flips) and ``pixel_spacing``. An annotation
    without a mask (a keypoint-only COCO file) gets the polygon through its visible corners, as the converters
    draw it, or its box where fewer than three are visible, with one warning for the file.
    ``metainfo['keypoint_names']`` holds the names; K = 0 (no ``keypoints`` in the category) gives a
    plain detection dataset.

    Raises:
        SpineKeyError: the file is missing, categories disagree on their keypoint names, an annotation's
            keypoint list does not have 3*K numbers, or image files are unusable (missing, empty, not an
            image, truncated, too large or small): all are named; ``skip_bad_images`` leaves them out instead.
    """

    METAINFO = {'classes': ('vertebra',), 'palette': [(220, 20, 60)]}

    def __init__(self, *args, skip_bad_images: bool = False, strict: bool = False, pipeline=(), **kwargs) -> None:
        self.skip_bad_images = skip_bad_images
        self.strict = strict
        super().__init__(*args, pipeline=_dicom_aware(pipeline), **kwargs)

    def load_data_list(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise SpineKeyError(f'{self.ann_file}: annotation file not found')
        self._names = None  # read from the categories while mmdet's COCO object exists
        self._masks_drawn = 0
        from spinekey.io.coco_files import read_json, report_coco_problems
        report_coco_problems(read_json(self.ann_file, 'annotation file'), self.ann_file, self.strict)
        try:
            data_list = super().load_data_list()
        except (KeyError, ValueError, TypeError) as err:
            raise SpineKeyError(f'{self.ann_file}: malformed COCO file ({type(err).__name__}: {err})')
        self._metainfo['keypoint_names'] = self._names or []
        if self._masks_drawn:
            print_log(f'{self.ann_file}: {self._masks_drawn} annotation(s) without a mask (segmentation): each '
                      'gets the polygon through its corners, or its box where fewer than three are visible',
                      logger='current', level=logging.WARNING)
        return self._check_images(data_list)

    def _read_keypoint_names(self) -> List[str]:
        cats = [self.coco.cats[c] for c in self.cat_ids]
        names = [tuple(c.get('keypoints') or ()) for c in cats]
        if len(set(names)) > 1:
            raise SpineKeyError(f'{self.ann_file}: categories declare different keypoint lists {set(names)}; '
                                'SpineKey needs one keypoint set per dataset')
        return list(names[0]) if names else []

    def _check_images(self, data_list: List[dict]) -> List[dict]:
        """Refuse the dataset naming every unusable image, or (skip_bad_images) leave those images out."""
        from spinekey.io.image_checks import bad_images
        bad = bad_images(d['img_path'] for d in data_list)
        if not bad:
            return data_list
        listing = '; '.join(f'{path}: {reason}' for path, reason in bad)
        if not self.skip_bad_images:
            raise SpineKeyError(f'{self.ann_file}: {len(bad)} unusable image(s): {listing} '
                                '(fix them, or pass --skip-bad-images to train without them)')
        print_log(f'{self.ann_file}: skipping {len(bad)} unusable image(s): {listing}', logger='current',
                  level=logging.WARNING)
        bad_paths = {path for path, _ in bad}
        return [d for d in data_list if d['img_path'] not in bad_paths]

    def parse_data_info(self, raw_data_info: dict) -> Union[dict, List[dict]]:
        data_info = super().parse_data_info(raw_data_info)
        img_info = raw_data_info['raw_img_info']
        data_info['img_path'] = self._resolve_image_path(data_info['img_path'], img_info['file_name'])
        if self._names is None:
            self._names = self._read_keypoint_names()
        names = self._names
        data_info['keypoint_names'] = names
        data_info['pixel_spacing'] = img_info.get('pixel_spacing')
        kept = iter(data_info['instances'])
        instance = next(kept, None)
        # super() drops some annotations (crowd-ignored, empty boxes); walk both lists in order
        for ann in raw_data_info['raw_ann_info']:
            if instance is None:
                break
            x, y, w, h = ann['bbox']
            if instance['bbox'] != [x, y, x + w, y + h]:
                continue
            instance['keypoints'] = self._parse_keypoints(ann, len(names))
            instance['level'] = ann.get('label')
            if 'mask' not in instance:  # mmdet sets it only from a non-empty segmentation
                instance['mask'] = [mask_polygon(names, instance['keypoints'], instance['bbox'])]
                self._masks_drawn += 1
            instance = next(kept, None)
        return data_info

    def _resolve_image_path(self, prefixed: str, file_name: str) -> str:
        """``data_prefix.img`` + ``file_name``, unless that file is missing and ``file_name`` already holds the
        prefix folder (``images/x.png`` under ``data_prefix.img='images/'``): then ``data_root/file_name``.

        Why: COCO files written beside their images often name ``images/x.png``; a doubled
        ``images/images/`` must not make a user edit two config keys.
        """
        if osp.exists(prefixed) or osp.isabs(file_name):
            return prefixed
        direct = osp.join(self.data_root or '', file_name)
        return direct if osp.exists(direct) else prefixed

    def _parse_keypoints(self, ann: dict, k: int) -> np.ndarray:
        flat = ann.get('keypoints') or [0.0] * (3 * k)
        if len(flat) != 3 * k:
            raise SpineKeyError(f'{self.ann_file}: annotation {ann.get("id")} has {len(flat)} keypoint '
                                f'values, expected {3 * k} (K={k} from the category)')
        kps = np.asarray(flat, dtype=np.float32).reshape(k, 3)
        if not np.isfinite(kps).all():
            raise SpineKeyError(f'{self.ann_file}: annotation {ann.get("id")} has NaN/inf keypoints')
        return kps


def mask_polygon(names, keypoints: np.ndarray, box) -> List[float]:
    """[x0, y0, x1, y1, ...]: the polygon through the visible outline keypoints, else the box [x0, y0, x1, y1]."""
    points = outline(dict(zip(names, keypoints.tolist())))
    if len(points) < 3:
        x0, y0, x1, y1 = box
        points = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    return [float(c) for xy in points for c in xy]


def _dicom_aware(pipeline):
    """The pipeline with mmcv's ``LoadImageFromFile`` read by ``LoadSpineImage`` (same arguments, plus DICOM).

    Why: test pipelines name ``LoadImageFromFile`` because mmdet's ``DetInferencer`` looks for that name;
    a dataset of DICOM films must still load through it. Importing spinekey already makes mmdet's registry
    answer that name with a DICOM-reading loader (``LoadImageFromFileOrDicom``); the rewrite keeps it so
    whichever registry scope builds the pipeline, ``mmcv.LoadImageFromFile`` included.
    """
    steps = []
    for step in pipeline:
        if isinstance(step, dict) and step.get('type') in ('LoadImageFromFile', 'mmcv.LoadImageFromFile'):
            step = dict(step, type='LoadSpineImage')
        steps.append(step)
    return steps
