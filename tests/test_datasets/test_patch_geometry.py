"""The refiner's patch frame: film <-> patch is exact both ways at any rotation, the frame levels the
endplates, and the crop puts a film pixel where the matrix says."""
import numpy as np
import pytest

from spinekey.datasets.patch_geometry import cut_patch, endplate_angle_deg, invert_affine, vertebra_frame

NAMES = ['top_left', 'top_right', 'bottom_right', 'bottom_left']


def _vertebra(angle_deg, centre=(400.0, 900.0), w=90.0, h=60.0):
    a = np.radians(angle_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    half = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    return half @ rot.T + centre


@pytest.mark.parametrize('angle', [-170.0, -47.3, -3.0, 0.0, 12.5, 89.0, 135.0])
def test_round_trip_is_exact_and_the_endplates_come_out_level(angle):
    kps = _vertebra(angle)
    frame = vertebra_frame(kps, NAMES, size=128, context=1.8)
    assert frame.angle_deg == pytest.approx(angle if angle > -180 else angle + 360, abs=1e-9)
    in_patch = frame.to_patch(kps)
    assert np.abs(frame.to_film(in_patch) - kps).max() < 1e-4
    # level endplates: top corners share a row, bottom corners too; the vertebra is centred
    assert in_patch[0, 1] == pytest.approx(in_patch[1, 1], abs=1e-6)
    assert in_patch[3, 1] == pytest.approx(in_patch[2, 1], abs=1e-6)
    assert in_patch.mean(0) == pytest.approx([63.5, 63.5], abs=1e-6)
    # the larger side (90 px) spans 128 / 1.8 patch pixels
    assert in_patch[1, 0] - in_patch[0, 0] == pytest.approx(128 / 1.8, rel=1e-9)
    random = np.random.default_rng(0).uniform(0, 2000, (50, 2))
    assert np.abs(frame.to_film(frame.to_patch(random)) - random).max() < 1e-4


def test_axis_aligned_frame_and_a_tiny_box():
    kps = _vertebra(20.0)
    assert vertebra_frame(kps, NAMES, 128, 1.8, oriented=False).angle_deg == 0.0
    tiny = _vertebra(0.0, w=3.0, h=2.0)
    frame = vertebra_frame(tiny, NAMES, 128, 1.8)  # a box under 8 px: the patch still spans 8 film pixels
    assert frame.scale == pytest.approx(128 / 8.0)
    assert endplate_angle_deg({'a': (0, 0)}) == 0.0  # other keypoint names: axis-aligned
    with pytest.raises(ValueError):
        vertebra_frame(np.full((4, 2), np.nan), NAMES, 128, 1.8)


def test_the_crop_puts_a_film_pixel_where_the_matrix_maps_it():
    film = np.zeros((1200, 800), np.uint8)
    film[880:883, 420:423] = 255  # a bright 3 x 3 dot centred on (421, 881)
    frame = vertebra_frame(_vertebra(31.0), NAMES, size=128, context=1.8)
    patch = cut_patch(film, frame)
    ys, xs = np.nonzero(patch > 0)
    w = patch[ys, xs].astype(float)
    found = np.array([(xs * w).sum() / w.sum(), (ys * w).sum() / w.sum()])
    assert found == pytest.approx(frame.to_patch(np.array([421.0, 881.0])), abs=0.15)
    np.testing.assert_allclose(invert_affine(invert_affine(frame.matrix)), frame.matrix, atol=1e-12)


def test_a_vertebra_at_the_film_edge_gets_a_full_patch():
    film = np.full((300, 300), 77, np.uint8)
    frame = vertebra_frame(_vertebra(0.0, centre=(5.0, 5.0)), NAMES, 64, 1.8)
    patch = cut_patch(film, frame)
    assert patch.shape == (64, 64) and (patch == 77).all()  # border repeated, no black wedge


def test_a_mirrored_frame_cuts_the_patch_with_its_columns_reversed_and_maps_back_through_them():
    from spinekey.datasets.patch_geometry import mirror_frame
    film = np.random.default_rng(0).integers(0, 255, (1200, 800)).astype(np.uint8)
    frame = vertebra_frame(_vertebra(17.0), NAMES, size=64, context=1.8)
    mirrored = mirror_frame(frame)
    # cv2's fixed-point interpolation weights differ by a 1/32 step between the two sampling grids
    assert np.abs(cut_patch(film, mirrored).astype(int) - cut_patch(film, frame)[:, ::-1]).max() <= 1
    points = np.array([[3.0, 5.5], [40.25, 60.0]])
    np.testing.assert_allclose(mirrored.to_film(points), frame.to_film(np.c_[63.0 - points[:, 0], points[:, 1]]),
                               atol=1e-9)
