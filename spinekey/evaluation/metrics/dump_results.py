"""``DumpSpineResults``: an mmengine metric that writes the test predictions as SpineKey's results.json.

Why a metric: mmengine's ``Runner.test()`` (tools/test.py) hands every prediction to the evaluators, as
mmdet's own ``DumpDetResults`` (pickle) relies on; this one writes the COCO results format that
tools/evaluate_keypoints.py, tools/measure.py and the report read.
"""
from __future__ import annotations

import os.path as osp
from typing import Dict, Sequence

from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.structures import InstanceData

from spinekey.structures.results import instances_to_coco
from spinekey.io.atomic import atomic_write_json


@METRICS.register_module()
class DumpSpineResults(BaseMetric):
    """Collect ``pred_instances`` and write them to ``out_file`` (atomically) in results.json format.

    Args:
        out_file: the results.json to write.
        image_root: folder that ``file_name`` entries are made relative to (the dataset's image folder).
        score_thr: detections below it are left out.
    """

    def __init__(self, out_file: str, image_root: str = '', score_thr: float = 0.05, **kwargs) -> None:
        super().__init__(**kwargs)
        if not out_file.endswith('.json'):
            raise ValueError(f'out_file must end with .json, got {out_file!r}')
        self.out_file = out_file
        self.image_root = image_root
        self.score_thr = score_thr

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            path = sample.get('img_path') or ''
            name = osp.relpath(path, self.image_root) if self.image_root and path else osp.basename(path)
            pred = sample['pred_instances']  # the Runner hands samples over as dicts of tensors
            pred = pred if isinstance(pred, InstanceData) else InstanceData(**pred)
            self.results.extend(instances_to_coco(pred, int(sample['img_id']), name, self.score_thr))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        atomic_write_json(self.out_file, results)
        return {}
