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
