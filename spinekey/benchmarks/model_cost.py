"""What one model costs: inference latency, throughput, training step time and peak memory.

Each measurement runs in its own process (:mod:`spinekey.benchmarks.worker`) so that its peak memory is its
own: ``ru_maxrss`` on CPU, ``torch.cuda.max_memory_allocated`` on GPU. Timings are medians after warm-up.
"""
from __future__ import annotations

import copy
import resource
import statistics
import time
from typing import Callable, Dict, List, Optional, Sequence

import torch

VARIANTS = ('spinekey', 'no_keypoints')


def timed(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        _sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _sync() -> None:
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def peak_memory_mb(device: str) -> float:
    """Peak memory of this process so far: GPU allocations on CUDA, resident set size on CPU."""
    if device.startswith('cuda'):
        return torch.cuda.max_memory_allocated() / 2 ** 20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def without_keypoint_branch(model_cfg) -> None:
    """Turn the SpineKey model config into mmdet's plain Cascade Mask R-CNN (in place)."""
    roi = model_cfg.roi_head
    for key in ('keypoint_roi_extractor', 'keypoint_head', 'keypoint_roi_scale'):
        roi.pop(key, None)
    roi.type = 'mmdet.CascadeRoIHead'


def set_test_scale(cfg, scale: Optional[int]) -> None:
    """Resize test images so that the long side is ``scale`` (keeps the aspect ratio)."""
    if not scale:
        return
    for step in cfg.test_dataloader.dataset.pipeline:
        if step['type'].split('.')[-1] in ('KeypointResize', 'Resize'):
            step['scale'] = (scale, scale)
            step['keep_ratio'] = True


def build_model(config: str, checkpoint: Optional[str], variant: str, device: str, scale: Optional[int] = None,
                detections: Optional[int] = None):
    """The config's model with ``checkpoint``'s weights (random init without one), in eval mode.

    ``no_keypoints`` drops the keypoint branch and loads the same weights minus the branch's.
    ``detections`` fixes the number of final detections per image (score threshold 0, top N), so that the
    per-vertebra heads see exactly N boxes whatever the weights.
    """
    from mmdet.registry import MODELS

    from spinekey.apis import init_model
    torch.manual_seed(0)  # without a checkpoint, both variants get the same random weights
    model = init_model(config, checkpoint, device='cpu')  # K, classes and names from the checkpoint
    if variant == 'no_keypoints':
        plain_cfg = copy.deepcopy(model.cfg.model)
        without_keypoint_branch(plain_cfg)
        plain = MODELS.build(plain_cfg)
        plain.load_state_dict({k: v for k, v in model.state_dict().items()
                               if not k.startswith('roi_head.keypoint_')}, strict=True)
        plain.cfg, plain.dataset_meta = model.cfg, model.dataset_meta
        model = plain
    set_test_scale(model.cfg, scale)
    if detections:
        model.roi_head.test_cfg.score_thr = 0.0
        model.roi_head.test_cfg.max_per_img = int(detections)
    return model.to(device).eval()


def load_items(model, paths: Sequence[str]) -> List[dict]:
    """Images read and run through the model's test pipeline, kept in memory (no I/O in the timings)."""
    from spinekey.apis.inference import ImageListDataset, build_test_pipeline
    dataset = ImageListDataset(paths, build_test_pipeline(model.cfg))
    return [dataset[i] for i in range(len(dataset))]


def infer_latency(model, items: List[dict], repeats: int, autocast: bool = False) -> Dict:
    """Median per-image latency of ``model.test_step`` (batch 1) over the images, and detections per image."""
    from mmengine.dataset import pseudo_collate

    from spinekey.apis.precision import half_precision_features
    batches = [pseudo_collate([{'inputs': it['inputs'], 'data_samples': it['data_samples']}]) for it in items]
    detections = []

    @torch.no_grad()
    def run(batch):
        with half_precision_features(model, autocast):  # what --fp16 runs: backbone and neck only
            out = model.test_step(batch)
        return len(out[0].pred_instances)

    run(batches[0])  # warm-up
    times = []
    for _ in range(repeats):
        for batch in batches:
            start = time.perf_counter()
            detections.append(run(batch))
            _sync()
            times.append(time.perf_counter() - start)
    return {'latency_s': statistics.median(times), 'detections_per_image': statistics.mean(detections)}


def infer_throughput(model, paths: Sequence[str], batch_size: int, num_workers: int, repeats: int) -> Dict:
    """Images/s of the inference loop of tools/infer.py (reading, decoding, model) over ``paths``."""
    from spinekey.apis import iter_predictions

    def run():
        for _ in iter_predictions(model, paths, batch_size=batch_size, num_workers=num_workers):
            pass

    seconds = timed(run, repeats=repeats, warmup=1)
    return {'images_per_s': len(paths) / seconds, 'seconds': seconds}


def train_step_time(config: str, data_root: str, ann_file: str, variant: str, device: str, repeats: int,
                    warmup: int = 2, amp: bool = False) -> Dict:
    """Median time of one optimizer step (forward, losses, backward, update) on a fixed training batch."""
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmdet.registry import DATASETS, MODELS

    import spinekey  # noqa: F401  (registers modules)
    from spinekey.utils.cli import load_config
    from spinekey.apis.training import prepare_training_config
    cfg = load_config(config)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg.update(data_root=data_root, ann_file=ann_file, data_prefix=dict(img=''))
    cfg.train_dataloader.dataset = ds_cfg
    prepare_training_config(cfg, amp=amp)  # K and classes from the data, AMP wrapper: as tools/train.py does
    if variant == 'no_keypoints':
        without_keypoint_branch(cfg.model)
    dataset = DATASETS.build(ds_cfg)
    batch = pseudo_collate([dataset[i] for i in range(cfg.train_dataloader.batch_size)])
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).to(device)
    model.init_weights()
    model.train()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    seconds = timed(lambda: model.train_step(batch, wrapper), repeats=repeats, warmup=warmup)
    return {'step_s': seconds, 'batch_size': cfg.train_dataloader.batch_size}


def keypoint_epe(model, ann_file: str, img_prefix: str, autocast: bool = False, score_thr: float = 0.3) -> Dict:
    """Keypoint EPE (px) of ``model`` on a COCO split, optionally under fp16 autocast (GPU check)."""
    import os.path as osp

    from spinekey.apis import instances_to_coco, iter_predictions
    from spinekey.evaluation.evaluate import evaluate
    from spinekey.io.coco_files import load_coco_gt
    gt = load_coco_gt(ann_file)
    images = sorted(gt['images'], key=lambda im: im['id'])
    paths = [osp.join(img_prefix, im['file_name']) for im in images]
    results = []
    for item, sample in iter_predictions(model, paths, [im['id'] for im in images], fp16=autocast):
        results += instances_to_coco(sample.pred_instances, item['image_id'], '', score_thr)
    metrics = evaluate(gt, results, score_thr=score_thr, coco=False)
    return {'EPE_px': metrics['EPE'], 'detections': len(results)}


def film_latency(config: str, checkpoint: Optional[str], paths: Sequence[str], device: str,
                 refine_config: Optional[str] = None, refine_checkpoint: Optional[str] = None,
                 repeats: int = 1, detections: Optional[int] = None) -> Dict:
    """Median seconds per film of SpineKeyInferencer (reading, stage 1 with the config's test passes, and the
    refiner when given; no measurement), and detections per film: what a user waits for, per film.
    ``detections``: exactly N kept per film (score threshold 0), so that the refiner's work does not hang on
    what untrained weights happen to score."""
    from spinekey.apis import SpineKeyInferencer
    inferencer = SpineKeyInferencer(config, checkpoint, device=device, measure=False,
                                    refine_config=refine_config, refine_checkpoint=refine_checkpoint)
    if detections:
        inferencer.model.roi_head.test_cfg.score_thr = 0.0
        inferencer.model.roi_head.test_cfg.max_per_img = int(detections)
        inferencer.score_thr = 0.0
    next(inferencer.iter(list(paths[:1])))  # warm-up
    times, counts = [], []
    for _ in range(repeats):
        for path in paths:
            start = time.perf_counter()
            film = next(inferencer.iter([path]))
            _sync()
            times.append(time.perf_counter() - start)
            counts.append(len(film.detections))
    return {'film_s': statistics.median(times), 'detections_per_film': statistics.mean(counts),
            'rotate_test': inferencer.rotate_test, 'flip_test': inferencer.flip_test}
