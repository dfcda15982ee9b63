import numpy as np
import pytest
from mmdet.structures.bbox import HorizontalBoxes

import spinekey  # noqa: F401
from spinekey.structures.keypoint_names import flip_permutation
from spinekey.datasets.transforms import KeypointRandomFlip, KeypointResize, PackSpineInputs, flip_keypoints
from spinekey.utils.errors import SpineKeyError

NAMES = ['top_left', 'top_right', 'bottom_right', 'bottom_left', 'top_middle', 'bottom_middle']


def _sample(h=60, w=80):
    rng = np.random.default_rng(0)
    kps = np.concatenate([rng.uniform(0, w, (3, 6, 1)), rng.uniform(0, h, (3, 6, 1)),
                          np.full((3, 6, 1), 2.0)], axis=2).astype(np.float32)
    boxes = np.concatenate([kps[..., :2].min(1), kps[..., :2].max(1)], axis=1)
    return {'img': rng.integers(0, 255, (h, w, 3), dtype=np.uint8), 'img_shape': (h, w),
            'gt_bboxes': HorizontalBoxes(boxes), 'gt_bboxes_labels': np.zeros(3, np.int64),
            'gt_ignore_flags': np.zeros(3, bool), 'gt_keypoints': kps, 'keypoint_names': NAMES}


def test_flip_permutation_by_name():
    assert flip_permutation(NAMES, 'horizontal') == [1, 0, 3, 2, 4, 5]
    assert flip_permutation(NAMES, 'vertical') == [3, 2, 1, 0, 5, 4]
    with pytest.raises(ValueError, match='not in'):
        flip_permutation(['left_eye'], 'horizontal')


def test_flip_twice_is_identity_and_swaps_names():
    s = _sample()
    once = flip_keypoints(s['gt_keypoints'], (60, 80), 'horizontal', NAMES)
    # the point called top_left after the flip is the mirror of the old top_right
    assert np.allclose(once[:, 0, 0], 80 - s['gt_keypoints'][:, 1, 0])
    assert np.allclose(once[:, 0, 1], s['gt_keypoints'][:, 1, 1])
    twice = flip_keypoints(once, (60, 80), 'horizontal', NAMES)
    assert np.allclose(twice, s['gt_keypoints'], atol=1e-4)  # float32 rounding only


def test_random_flip_moves_keypoints_with_the_image():
    s = _sample()
    # mark the pixel under keypoint 0 of instance 0 and check it lands under the flipped keypoint
    x, y = s['gt_keypoints'][0, 0, :2].astype(int)
    s['img'][:] = 0
    s['img'][y, x] = 255
    s['gt_keypoints'][0, 0, :2] = [x + 0.5, y + 0.5]  # pixel centre
    out = KeypointRandomFlip(prob=1.0, direction='horizontal').transform(s)
    new_x, new_y = out['gt_keypoints'][0, 1, :2]  # top_left became top_right
    assert out['img'][int(new_y), int(new_x)].max() == 255


def test_resize_scales_keypoints():
    s = _sample()
    before = s['gt_keypoints'].copy()
    out = KeypointResize(scale=(160, 90), keep_ratio=False).transform(s)
    assert out['img'].shape[:2] == (90, 160)
    assert np.allclose(out['gt_keypoints'][..., 0], before[..., 0] * 2)
    assert np.allclose(out['gt_keypoints'][..., 1], before[..., 1] * 1.5)
    assert np.array_equal(out['gt_keypoints'][..., 2], before[..., 2])


def test_pack_puts_keypoints_in_gt_instances():
    s = _sample()
    s['gt_keypoints'][1, 2, 2] = 0  # one invisible keypoint
    packed = PackSpineInputs().transform(s)
    gt = packed['data_samples'].gt_instances
    assert tuple(gt.keypoints.shape) == (3, 6, 2)
    assert gt.keypoints_visible.sum().item() == 17
    assert not gt.keypoints_visible[1, 2]


def test_pack_refuses_instances_lost_by_other_transforms():
    s = _sample()
    s['gt_keypoints'] = s['gt_keypoints'][:2]
    with pytest.raises(SpineKeyError, match='keypoint-aware'):
        PackSpineInputs().transform(s)


def _dot_sample(x, y, h=200, w=300):
    """An image with one bright dot at (x, y), a keypoint on it and a square mask/box around it."""
    from mmdet.structures.mask import BitmapMasks
    img = np.zeros((h, w, 3), np.uint8)
    img[int(y), int(x)] = 255
    mask = np.zeros((1, h, w), np.uint8)
    mask[0, int(y) - 10:int(y) + 11, int(x) - 20:int(x) + 21] = 1
    return dict(img=img, gt_keypoints=np.array([[[x, y, 2]]], np.float32), gt_masks=BitmapMasks(mask, h, w),
                gt_bboxes=HorizontalBoxes(np.array([[x - 20, y - 10, x + 21, y + 11]], np.float32)),
                gt_bboxes_labels=np.array([0]), gt_ignore_flags=np.array([False]))


@pytest.mark.parametrize('angle, scale', [(5.0, 1.0), (-5.0, 0.95), (20.0, 1.1), (0.0, 1.05)])
def test_affine_keeps_keypoints_on_the_rendered_dot(angle, scale):
    from spinekey.datasets.transforms import KeypointRandomAffine
    out = KeypointRandomAffine().apply(_dot_sample(220, 50), angle, scale)
    gray = out['img'][..., 0].astype(float)
    ys, xs = np.nonzero(gray > 0)
    centroid = np.average(np.stack([xs, ys], 1), axis=0, weights=gray[ys, xs])
    assert np.linalg.norm(centroid - out['gt_keypoints'][0, 0, :2]) < 0.75
    m = out['gt_masks'].masks[0]
    my, mx = np.nonzero(m)
    assert out['gt_bboxes'].tensor[0].tolist() == [mx.min(), my.min(), mx.max() + 1, my.max() + 1]


def test_affine_drops_instances_moved_out_of_the_image():
    from spinekey.datasets.transforms import KeypointRandomAffine
    out = KeypointRandomAffine().apply(_dot_sample(285, 15), 0.0, 1.5)  # scaled about the centre: leaves
    assert len(out['gt_bboxes']) == 0 and out['gt_keypoints'].shape[0] == 0 and len(out['gt_masks']) == 0


def _dot_centroid(img):
    gray = img[..., 0].astype(float)
    ys, xs = np.nonzero(gray > 0)
    return np.average(np.stack([xs, ys], 1), axis=0, weights=gray[ys, xs])


def test_crop_keeps_keypoints_on_the_rendered_dot_and_drops_what_it_cuts():
    from spinekey.datasets.transforms import KeypointRandomCrop
    out = KeypointRandomCrop.apply(_dot_sample(220, 50), 15, 20, 270, 180)
    assert out['img'].shape[:2] == (180, 270) and out['img_shape'] == (180, 270)
    assert np.linalg.norm(_dot_centroid(out['img']) - out['gt_keypoints'][0, 0, :2]) < 0.5
    assert out['gt_bboxes'].tensor[0].tolist() == [185.0, 20.0, 226.0, 41.0]  # the mask box moved by (-15, -20)
    gone = KeypointRandomCrop.apply(_dot_sample(220, 50), 0, 100, 300, 100)  # window below the vertebra
    assert len(gone['gt_bboxes']) == 0 and len(gone['gt_keypoints']) == 0


def test_resize_and_flip_keep_keypoints_on_the_rendered_dot():
    from mmdet.datasets.transforms import Resize  # noqa: F401  (registers mmdet transforms)
    sample = _dot_sample(220, 50)
    resized = KeypointResize(scale=(150, 100), keep_ratio=False).transform(sample)
    assert np.linalg.norm(_dot_centroid(resized['img']) - resized['gt_keypoints'][0, 0, :2]) < 1.0
    flip = KeypointRandomFlip(prob=1.0, direction='horizontal')
    sample = _dot_sample(220, 50)
    sample['gt_keypoints'][..., :2] += 0.5  # the landmark at the dot pixel's centre, in continuous coordinates
    flipped = flip.transform(dict(sample, keypoint_names=['centre']))
    # pixel index i spans [i, i + 1): its centre in continuous coordinates is i + 0.5, and x -> w - x maps it
    # onto the flipped pixel's centre exactly
    assert np.linalg.norm(_dot_centroid(flipped['img']) + 0.5 - flipped['gt_keypoints'][0, 0, :2]) < 1e-6


def test_photometric_changes_pixels_not_geometry():
    from spinekey.datasets.transforms import RadiographPhotometric
    np.random.seed(1)
    sample = _dot_sample(220, 50)
    sample['img'] = np.random.randint(0, 255, sample['img'].shape, np.uint8)
    before = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in sample.items()}
    out = RadiographPhotometric(prob=1.0).transform(sample)
    assert out['img'].dtype == np.uint8 and out['img'].shape == before['img'].shape
    assert not np.array_equal(out['img'], before['img'])
    assert np.array_equal(out['gt_keypoints'], before['gt_keypoints'])


def _faint_band_film(h=256, w=128):
    """A film whose upper half spans the full grey range and whose lower half is a texture of +-6 grey levels
    about 128: the washed-out band over the pelvis that CLAHE is for."""
    rng = np.random.default_rng(3)
    img = np.empty((h, w), np.uint8)
    img[:h // 2] = np.tile(np.linspace(0, 255, w).astype(np.uint8), (h // 2, 1))
    img[h // 2:] = np.clip(128 + rng.normal(0, 3, (h - h // 2, w)), 122, 134).astype(np.uint8)
    return img


def test_clahe_lifts_a_faint_band_and_leaves_geometry():
    from spinekey.datasets.transforms import RadiographCLAHE
    sample = _sample(256, 128)
    sample['img'] = np.repeat(_faint_band_film()[:, :, None], 3, 2)
    before = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in sample.items()}
    out = RadiographCLAHE(clip_limit=2.0, tile_grid=8).transform(sample)['img']
    assert out.dtype == np.uint8 and out.shape == before['img'].shape
    band_before, band_after = before['img'][128:, :, 0].std(), out[128:, :, 0].std()
    assert band_after > 2.5 * band_before  # the faint texture now spans several times the grey levels
    assert np.array_equal(sample['gt_keypoints'], before['gt_keypoints'])
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 0], out[..., 2])


def test_clahe_reads_the_grey_of_colour_and_float_films():
    from spinekey.datasets.transforms import RadiographCLAHE
    grey = _faint_band_film()
    clahe = RadiographCLAHE()
    on_grey = clahe.transform({'img': grey.copy()})['img']
    assert on_grey.shape == grey.shape and not np.array_equal(on_grey, grey)
    # a colour film whose channels average to the grey one is equalised as that grey film
    colour = np.stack([grey, grey, grey], 2).astype(np.int16)
    colour[..., 0] -= 1
    colour[..., 2] += 1
    colour = np.clip(colour, 0, 255).astype(np.uint8)
    inside = (grey > 0) & (grey < 255)
    on_colour = clahe.transform({'img': colour})['img'][..., 1]
    assert np.array_equal(on_colour[inside], on_grey[inside])
    on_float = clahe.transform({'img': grey.astype(np.float32) + 0.3})['img']  # rounds to the same film
    assert on_float.dtype == np.float32 and np.array_equal(on_float, on_grey.astype(np.float32))


@pytest.mark.parametrize('clip_limit, tile_grid', [(0.0, 8), (2.0, 0)])
def test_clahe_refuses_settings_that_mean_nothing(clip_limit, tile_grid):
    from spinekey.datasets.transforms import RadiographCLAHE
    with pytest.raises(ValueError, match='clip_limit'):
        RadiographCLAHE(clip_limit=clip_limit, tile_grid=tile_grid)


def test_the_clahe_recipe_equalises_at_inference_as_in_training():
    """The CLAHE config puts the step after the resize in both pipelines, and the inference pipeline built
    from it (SpineKeyInferencer's) hands the model the equalised film."""
    import os

    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from spinekey.apis import build_test_pipeline
    from spinekey.datasets.transforms import RadiographCLAHE
    from tests.conftest import ROOT
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'spinekey', 'spinekey_aasce_lite0_clahe_cpu.py'))
    train = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    test = [t['type'] for t in cfg.test_dataloader.dataset.pipeline]
    assert train[train.index('RandomResize') + 1] == 'RadiographCLAHE'
    assert test[test.index('KeypointResize') + 1] == 'RadiographCLAHE'
    film = np.repeat(_faint_band_film(1024, 512)[:, :, None], 3, 2)
    with DefaultScope.overwrite_default_scope('mmdet'):
        packed = build_test_pipeline(cfg)({'img': film.copy(), 'img_id': 0, 'img_path': 'film.png'})
    seen = packed['inputs'].numpy().transpose(1, 2, 0)
    expected = RadiographCLAHE(**{k: v for k, v in cfg.clahe.items() if k != 'type'}).transform({'img': film})['img']
    assert seen.shape == expected.shape and np.array_equal(seen, expected)
