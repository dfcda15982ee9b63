"""Images/s of a config's training data pipeline: per loader worker count, and with each transform left out.

Why: on a GPU a third of a training step waited for data (shared/device/README.md); whether loading,
decoding, augmentation or target packing costs most can be measured on any machine, without the model.
"""
from __future__ import annotations

import copy
import time
from typing import Dict, List

from spinekey.utils.errors import SpineKeyError


def _dataset(cfg, data_root: str, pipeline: List[dict]):
    from mmdet.registry import DATASETS
    from mmengine.registry import init_default_scope

    import spinekey  # noqa: F401  (registers the transforms)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    ds_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    ds_cfg.update(data_root=data_root, ann_file='det_train.json', data_prefix=dict(img=''), pipeline=pipeline)
    ds_cfg.pop('filter_cfg', None)
    return DATASETS.build(ds_cfg)


def images_per_second(dataset, n: int, workers: int) -> float:
    """Items/s through a DataLoader with ``workers`` processes (first batch excluded: start-up)."""
    import torch
    loader = torch.utils.data.DataLoader(dataset, batch_size=1, num_workers=workers, collate_fn=list,
                                         sampler=[i % len(dataset) for i in range(n + 1)],
                                         persistent_workers=False)
    it = iter(loader)
    next(it)
    start = time.perf_counter()
    count = sum(1 for _ in it)
    return count / (time.perf_counter() - start)


def bench_data_pipeline(config: str, data_root: str, n: int = 40, workers=(0, 1, 2)) -> Dict:
    """Rows: images/s of the full pipeline per worker count; images/s in the main process without each
    transform (loading and packing are kept, they are needed to get a sample at all)."""
    from spinekey.utils.cli import load_config
    cfg = load_config(config)
    pipeline = list(cfg.train_dataloader.dataset.pipeline)
    if not pipeline:
        raise SpineKeyError(f'{config}: train_dataloader.dataset.pipeline is empty')
    full = _dataset(cfg, data_root, pipeline)
    by_workers = [{'workers': w, 'images_per_s': round(images_per_second(full, n, w), 2)} for w in workers]
    base = by_workers[0]['images_per_s']
    without = []
    for i, step in enumerate(pipeline):
        kind = step['type']
        if i == 0 or kind.endswith(('PackSpineInputs', 'PackDetInputs')) or 'Load' in kind:
            continue
        rate = images_per_second(_dataset(cfg, data_root, pipeline[:i] + pipeline[i + 1:]), n, 0)
        without.append({'without': kind, 'images_per_s': round(rate, 2),
                        'share_of_time': round(max(0.0, 1 - base / rate), 3)})
    return {'config': config, 'images': n, 'by_workers': by_workers, 'without_transform': without}
