"""Hand-worked examples; MMPose's formulas re-derived where they coincide (all keypoints visible)."""
import numpy as np
import pytest

from spinekey.evaluation.functional import auc, epe, keypoint_errors, pck, sdr

ERR = np.array([[1.0, 2.0], [3.0, 4.0]])
VIS = np.array([[True, True], [True, False]])  # the 4 px error is on an invisible keypoint
NORM = np.array([10.0, 20.0])  # normalised errors 0.1, 0.2, 0.15


def test_keypoint_errors_are_euclidean():
    pred = np.array([[[3.0, 4.0], [0.0, 0.0]]])
    gt = np.zeros((1, 2, 2))
    assert keypoint_errors(pred, gt).tolist() == [[5.0, 0.0]]
    with pytest.raises(ValueError):
        keypoint_errors(pred, gt[:, :1])


def test_epe_ignores_invisible():
    assert epe(ERR, VIS) == pytest.approx(2.0)


def test_pck_by_hand():
    assert pck(ERR, VIS, NORM, 0.15) == pytest.approx(1 / 3)  # only 0.1 < 0.15 (0.15 is not < 0.15)
    assert pck(ERR, VIS, NORM, 0.2001) == pytest.approx(1.0)
    assert pck(ERR, VIS, NORM, 0.05) == 0.0


def test_auc_by_hand():
    # thresholds 0, 0.025, ..., 0.475: 0.1 passes 15 of them, 0.15 passes 13, 0.2 passes 11
    assert auc(ERR, VIS, NORM) == pytest.approx((15 + 13 + 11) / 3 / 20)


def test_sdr_by_hand():
    assert sdr(ERR, VIS, 2.5) == pytest.approx(2 / 3)


def test_no_visible_keypoint_is_nan_not_zero():
    assert np.isnan(epe(ERR, np.zeros_like(VIS)))
    assert np.isnan(pck(ERR, np.zeros_like(VIS), NORM, 0.1))


def test_pck_matches_mmpose_formula_when_all_visible():
    rng = np.random.default_rng(0)
    pred, gt = rng.uniform(0, 100, (30, 4, 2)), rng.uniform(0, 100, (30, 4, 2))
    norm = rng.uniform(50, 150, 30)
    vis = np.ones((30, 4), bool)
    # MMPose keypoint_pck_accuracy: per-keypoint accuracy of ||p - g|| / norm < thr, then the mean
    dist = np.linalg.norm((pred - gt) / norm[:, None, None], axis=-1)
    mmpose = np.mean([(dist[:, j] < 0.5).mean() for j in range(4)])
    assert pck(keypoint_errors(pred, gt), vis, norm, 0.5) == pytest.approx(mmpose)


def test_bad_norm_is_refused():
    with pytest.raises(ValueError, match='norm'):
        pck(ERR, VIS, np.array([0.0, 1.0]), 0.1)


def test_line_tilt_errors_by_hand():
    import numpy as np

    from spinekey.evaluation.functional import line_tilt_errors
    gt = np.array([[[0, 0], [10, 0], [10, 10], [0, 10]]], float)
    pred = gt.copy()
    pred[0, 1] = [10, 10 * np.tan(np.radians(5))]   # top endplate turned by 5 deg
    pred[0, 2] = [10, 10 - 10 * np.tan(np.radians(3))]  # bottom endplate (3 -> 2) turned the other way by 3 deg
    vis = np.ones((1, 4), bool)
    tilt = line_tilt_errors(pred, gt, [(0, 1), (3, 2)], vis)
    np.testing.assert_allclose(tilt, [5.0, 3.0], atol=1e-9)
    flipped = gt[:, [1, 0, 3, 2]]  # a line drawn the other way round is the same line: no tilt error
    np.testing.assert_allclose(line_tilt_errors(flipped, gt, [(0, 1)], vis), [0.0], atol=1e-9)
    vis[0, 3] = False
    assert len(line_tilt_errors(pred, gt, [(0, 1), (3, 2)], vis)) == 1
