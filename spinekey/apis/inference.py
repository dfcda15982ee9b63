"""Model construction from config + checkpoint, and batched inference over image files."""
from __future__ import annotations

import copy
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope

from spinekey.io.checkpoint import checkpoint_dataset_meta, load_model_weights
from spinekey.io.images import read_image, to_bgr8
from spinekey.utils.cli import load_config
from spinekey.utils.errors import SpineKeyError
from spinekey.apis.training import fit_heads

_ANNOTATION_LOADERS = ('LoadAnnotations', 'LoadSpineAnnotations', 'mmdet.LoadAnnotations')


def init_model(config: str, checkpoint: Optional[str] = None, device: str = 'cpu', cfg_options=None):
    """Build the detector of ``config``; K, classes and keypoint names come from the checkpoint's meta.

    Returns the model in eval mode with ``model.cfg`` and ``model.dataset_meta`` set.
    """
    cfg = load_config(config, cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    import spinekey  # noqa: F401  (registers modules)
    from mmdet.registry import MODELS
    meta = {}
    if checkpoint:
        meta = checkpoint_dataset_meta(checkpoint)
        names = meta.get('keypoint_names')
        fit_heads(cfg.model, None if names is None else len(names), len(meta.get('classes') or ()))
    model = MODELS.build(cfg.model)
    if checkpoint:
        load_model_weights(model, checkpoint)
    model.cfg = cfg
    model.dataset_meta = meta
    return model.to(device).eval()


_IMAGE_LOADERS = ('LoadImageFromFile', 'LoadSpineImage')


def build_test_pipeline(cfg) -> Compose:
    """The config's test pipeline for in-memory images: no annotation loading, ndarray input."""
    steps = copy.deepcopy(cfg.test_dataloader.dataset.pipeline)
    steps = [s for s in steps if s['type'] not in _ANNOTATION_LOADERS]
    if steps and steps[0]['type'].split('.')[-1] in _IMAGE_LOADERS:
        steps[0] = dict(type='mmdet.LoadImageFromNDArray')
    return Compose(steps)


class ImageListDataset(torch.utils.data.Dataset):
    """Reads and transforms one film per item (a path, DICOM included, or an ndarray); a bad film yields
    ``{'error': message}``, not a crash. Items carry ``path`` (None for arrays) and ``ori_shape``."""

    def __init__(self, paths: Sequence, pipeline: Compose, image_ids: Optional[Sequence[int]] = None,
                 mirrored: bool = False, rotations: Sequence[float] = ()):
        self.paths = list(paths)
        self.pipeline = pipeline
        self.mirrored = mirrored  # items also carry 'mirror': the film flipped left-right, transformed
        self.rotations = tuple(rotations)  # items also carry 'rotated': the film turned by each angle, transformed
        self.image_ids = list(image_ids) if image_ids is not None else list(range(len(self.paths)))

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> dict:
        item = self.paths[i]
        path = None if isinstance(item, np.ndarray) else str(item)
        try:
            img = read_image(path) if path is not None else to_bgr8(item, f'array {i}')
        except SpineKeyError as err:
            return {'error': str(err), 'path': path, 'image_id': self.image_ids[i]}
        data = self.pipeline({'img': img, 'img_id': self.image_ids[i], 'img_path': path})
        data.update(path=path, image_id=self.image_ids[i], ori_shape=img.shape[:2])
        if self.mirrored:
            data['mirror'] = self.pipeline({'img': np.ascontiguousarray(img[:, ::-1]), 'img_id': self.image_ids[i],
                                            'img_path': path})
        if self.rotations:
            from spinekey.apis.rotate_tta import rotate_film
            data['rotated'] = [self.pipeline({'img': rotate_film(img, a), 'img_id': self.image_ids[i],
                                              'img_path': path}) for a in self.rotations]
        return data


def iter_predictions(model, paths: Sequence[str], image_ids: Optional[Sequence[int]] = None,
                     batch_size: int = 1, num_workers: int = 0,
                     flip_perm: Optional[Sequence[int]] = None, fp16: bool = False,
                     rotations: Sequence[float] = ()) -> Iterator[Tuple[dict, object]]:
    """Yield ``(item, data_sample)`` per image in order; ``data_sample`` is None for unreadable images.

    Images are read and transformed by ``num_workers`` background workers while the model runs.
    ``flip_perm`` (keypoint order after a left-right flip) turns on flip test-time augmentation
    (spinekey.apis.flip_tta): each film also runs mirrored, at twice the cost. ``rotations`` (degrees): each
    film also runs turned by each angle (spinekey.apis.rotate_tta), one more pass per angle; all passes'
    keypoints are averaged (spinekey.apis.twins). ``fp16``: the backbone and neck in half precision, the heads
    in float32 (spinekey.apis.precision).
    """
    dataset = ImageListDataset(paths, build_test_pipeline(model.cfg), image_ids, mirrored=flip_perm is not None,
                               rotations=rotations)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, num_workers=num_workers,
                                         collate_fn=list, shuffle=False)
    for items in loader:
        good = [it for it in items if 'error' not in it]
        outputs = _predict(model, good, fp16) if good else []
        if good and (flip_perm is not None or rotations):
            others = _other_views(model, good, fp16, flip_perm, rotations)
            outputs = [_merge_views(out, views) for out, views in zip(outputs, others)]
        outputs = iter(outputs)
        for it in items:
            it.pop('mirror', None)
            it.pop('rotated', None)
            yield it, (None if 'error' in it else next(outputs))


def _other_views(model, good: List[dict], fp16: bool, flip_perm, rotations: Sequence[float]) -> List[list]:
    """Per film, the mirrored and turned passes' instances brought back into the film's frame."""
    from spinekey.apis.flip_tta import unflip_instances
    from spinekey.apis.rotate_tta import unrotate_instances
    views = [[] for _ in good]
    if flip_perm is not None:
        for film, it, m in zip(views, good, _predict(model, [it['mirror'] for it in good], fp16)):
            if 'keypoints' in m.pred_instances:
                film.append(unflip_instances(m.pred_instances, it['ori_shape'][1], flip_perm))
    for k, angle in enumerate(rotations):
        for film, it, r in zip(views, good, _predict(model, [it['rotated'][k] for it in good], fp16)):
            if 'keypoints' in r.pred_instances:
                height, width = it['ori_shape']
                film.append(unrotate_instances(r.pred_instances, angle, width, height))
    return views


def _merge_views(sample, views: list):
    from spinekey.apis.twins import merge_twins
    if 'keypoints' in sample.pred_instances and views:
        sample.pred_instances = merge_twins(sample.pred_instances, views)
    return sample


@torch.no_grad()
def _predict(model, items: List[dict], fp16: bool = False):
    from spinekey.apis.precision import half_precision_features
    batch = pseudo_collate([{'inputs': it['inputs'], 'data_samples': it['data_samples']} for it in items])
    with half_precision_features(model, fp16):
        return model.test_step(batch)
