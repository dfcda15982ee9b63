"""AUROC, retention and calibration of angle uncertainties, on hand-worked examples."""
import pytest

from spinekey.evaluation.uncertainty_validation import auroc, validate


def test_auroc_of_the_classic_four_point_example_and_its_edges():
    assert auroc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == 0.75  # sklearn's roc_auc_score example
    assert auroc([1, 2, 3], [False, True, True]) == 1.0
    assert auroc([1, 1], [False, True]) == 0.5  # a tie counts half
    assert auroc([1, 2], [True, True]) is None


def test_validate_ranks_retains_and_covers_by_hand():
    # three films, one angle each: errors 1, 2 and 10 deg; uncertainties 0.5, 3 and 8
    pred, true, unc = [[11.0], [22.0], [40.0]], [[10.0], [20.0], [30.0]], [[0.5], [3.0], [8.0]]
    r = validate(pred, true, unc, ['ok', 'ok', 'review'], bad_deg=5)
    assert r['n_bad'] == 1 and r['auroc'] == 1.0
    per_film = [1 / 21, 2 / 42, 10 / 70]
    assert r['smape'] == pytest.approx(100 * sum(per_film) / 3)
    kept = {row['kept']: row for row in r['retention']}
    assert kept[0.7]['n_films'] == 2 and kept[0.7]['smape'] == pytest.approx(100 * (per_film[0] + per_film[1]) / 2)
    assert r['coverage_1sd'] == pytest.approx(1 / 3) and r['coverage_2sd'] == 1.0  # 2 <= 3; 1 <= 1, 10 <= 16
    assert r['qc']['n_review'] == 1 and r['qc']['smape_review'] == pytest.approx(100 * per_film[2])
    with pytest.raises(ValueError, match='same'):
        validate(pred, true, [[1.0]])


def test_each_angle_is_ranked_by_its_own_uncertainty():
    # four films, two angles. Angle 0: errors 6, 1, 0, 7 with uncertainties 4, 1, 2, 3: the bad films (0, 3)
    # rank above the good ones (1, 2) in all 4 pairs -> 1.0. Angle 1: errors 0, 9, 0, 0 with uncertainties
    # 5, 1, 1, 1: the one bad film loses to one good film and ties two -> (0 + 0.5 + 0.5) / 3. The film-level
    # ranking (largest uncertainty 5, 1, 2, 3; any angle off: films 0, 1, 3, against film 2): 5 > 2, 1 < 2,
    # 3 > 2 -> 2 of 3.
    pred = [[16.0, 30.0], [11.0, 49.0], [10.0, 40.0], [17.0, 40.0]]
    true = [[10.0, 30.0], [10.0, 40.0], [10.0, 40.0], [10.0, 40.0]]
    unc = [[4.0, 5.0], [1.0, 1.0], [2.0, 1.0], [3.0, 1.0]]
    r = validate(pred, true, unc, bad_deg=5)
    assert r['n_bad_by_angle'] == [2, 1]
    assert r['auroc_by_angle'] == [1.0, pytest.approx(1 / 3)]
    assert r['auroc'] == pytest.approx(2 / 3)
