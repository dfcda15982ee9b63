"""QC thresholds learned from annotated anatomy: the statistics on a hand-built column, the quantile by hand."""
import numpy as np
import pytest

from spinekey.measurement.qc_fit import anatomy_stats, suggest_thresholds
from tests.conftest import run_tool
from tests.test_measurement.test_chain import column


def test_stats_of_a_column_with_one_tilted_vertebra():
    tilt = [0.0] * 17
    tilt[8] = 10.0
    stats = anatomy_stats([column(17, tilt_deg=tilt)])
    assert len(stats['slope_deg']) == 15  # the two ends have one neighbour
    assert stats['slope_deg'].max() == pytest.approx(10.0)
    assert sorted(stats['slope_deg'])[-2] == pytest.approx(0.0, abs=1e-9)  # its neighbours: one flat neighbour
    assert np.allclose(stats['size_ratio'], 1.0)  # equal heights (tilting keeps the edges' lengths)
    assert len(stats['gap_factor']) == 16
    assert stats['bottom_width_ratio'].tolist() == pytest.approx([1.0])  # one film, all 60 px wide


def test_thresholds_are_the_quantile_plus_a_margin():
    stats = {'size_ratio': np.array([1.0, 1.2, 1.4]), 'slope_deg': np.array([2.0, 4.0, 6.0]),
             'gap_factor': np.array([1.0, 1.1, 1.3])}
    out = suggest_thresholds(stats, quantile=0.5, margin=1.1)
    assert out['size_ratio'] == pytest.approx(1.22) and out['slope_deg'] == pytest.approx(4.4)
    assert out['gap_factor'] == pytest.approx(1.11) and out['n_vertebrae'] == 3
    assert 'min_bottom_width_ratio' not in out  # end_width stays off unless asked


def test_end_width_is_the_low_quantile_of_the_true_bottoms():
    stats = {'size_ratio': np.array([1.0]), 'slope_deg': np.array([1.0]), 'gap_factor': np.array([1.0]),
             'bottom_width_ratio': np.array([0.9, 1.0, 1.1, 1.2, 1.3])}
    # numpy's linear quantile at 0.25 of five sorted values: index 0.25 x 4 = 1 -> 1.0; at 0.1: 0.9 + 0.4 x 0.1
    assert suggest_thresholds(stats, end_share=0.25)['min_bottom_width_ratio'] == pytest.approx(1.0)
    assert suggest_thresholds(stats, end_share=0.1)['min_bottom_width_ratio'] == pytest.approx(0.94)


def test_fit_qc_prints_a_config_line(synthetic_dir, tmp_path):
    out = tmp_path / 'qc.json'
    proc = run_tool('tools/fit_qc.py', '--gt', f'{synthetic_dir}/det_train.json', '--out', str(out), '--end-share',
                    '0.05')
    assert proc.returncode == 0 and proc.stdout.startswith('qc = dict(min_score=')
    assert 'slope_deg=' in proc.stdout and out.exists()
    from spinekey.apis.qc_fitting import fit_qc  # the Python API gives what the tool wrote
    import json
    qc, counts = fit_qc(f'{synthetic_dir}/det_train.json', end_share=0.05)
    written = json.loads(out.read_text())
    assert written['qc'] == qc and written['n_films'] == counts['n_films'] > 0
    assert 0 < qc['min_bottom_width_ratio'] < 2 and 'min_bottom_width_ratio=' in proc.stdout
    bad = run_tool('tools/fit_qc.py', '--gt', f'{synthetic_dir}/det_train.json', '--quantile', '1.5')
    assert bad.returncode == 2 and '--quantile' in bad.stderr and 'Traceback' not in bad.stderr


def test_score_and_uncertainty_thresholds_from_predictions_by_hand(synthetic_dir, tmp_path):
    import json
    kps = lambda s: [0, 0, s, 1, 0, 0.9, 1, 1, 0.9, 0, 1, 0.9]  # noqa: E731
    results = [{'image_id': 1, 'bbox': [0, 0, 1, 1], 'score': s, 'keypoints': kps(k)}
               for s, k in ((0.2, 0.1), (0.6, 0.4), (0.9, 0.5), (1.0, 0.8))]  # the first is below --score-thr
    (tmp_path / 'results.json').write_text(json.dumps(results))
    (tmp_path / 'images.csv').write_text('image_id,cobb_deg,cobb_deg_unc,lordosis_deg_unc\n'
                                         '1,10,1,0.5\n2,10,2,\n3,10,3,\n4,10,4,\n5,10,5,\n6,10,,\n')
    out = tmp_path / 'qc.json'
    run_tool('tools/fit_qc.py', '--gt', f'{synthetic_dir}/det_train.json', '--results', str(tmp_path / 'results.json'),
             '--images-csv', str(tmp_path / 'images.csv'), '--vertebra-share', '0.5', '--out', str(out), check=True)
    qc = json.loads(out.read_text())['qc']
    # kept scores 0.6, 0.9, 1.0: median 0.9; their lowest keypoint scores 0.4, 0.5, 0.8: median 0.5;
    # films' largest angle uncertainty 1..5 (the sixth has none): the 80th percentile, 4.2
    assert (qc['min_score'], qc['min_keypoint_score'], qc['max_angle_unc_deg']) == (0.9, 0.5, 4.2)


def test_film_flagged_min_separates_the_bad_films_by_hand():
    from spinekey.measurement.qc_fit import fit_film_flagged_min
    # bad rates: k=1 -> 3/5 vs 1/3, k=2 -> 3/3 vs 1/5 (the widest gap), k=3 -> 2/2 vs 2/6, k=5 leaves none
    flagged = [0, 0, 0, 1, 1, 2, 3, 4]
    bad = [False, False, True, False, False, True, True, True]
    assert fit_film_flagged_min(flagged, bad) == 2
    assert fit_film_flagged_min([0, 0, 0], [True, False, True]) is None


def test_fit_qc_reads_the_film_rule_from_a_measure_folder(synthetic_dir, tmp_path):
    import json
    d = tmp_path / 'measure'
    d.mkdir()
    # film a: 0 flagged, good; b: 1 flagged, good; c: 2 flagged, bad; d: 3 flagged, bad -> k = 2
    rows = ['image_id,file_name,qc_status'] + [f'{i},{f},{s}' for i, (f, s) in enumerate(
        [('a', 'ok'), ('b', 'review'), ('c', 'review'), ('c', 'review'), ('d', 'review'), ('d', 'review'),
         ('d', 'review'), ('a', 'ok')])]
    (d / 'measurements.csv').write_text('\n'.join(rows) + '\n')
    (d / 'images.csv').write_text('image_id,cobb_deg,cobb_deg_unc\n1,10,1\n2,10,2\n')
    films = [{'file_name': f, 'pred': [10, 20, 5], 'true': [10 + e, 20, 5]} for f, e in
             (('a', 1), ('b', -2), ('c', 6), ('d', -9))]
    (d / 'smape.json').write_text(json.dumps({'images': films}))
    out = tmp_path / 'qc.json'
    run_tool('tools/fit_qc.py', '--gt', f'{synthetic_dir}/det_train.json', '--measure-dir', str(d),
             '--out', str(out), check=True)
    assert json.loads(out.read_text())['qc']['film_flagged_min'] == 2
    (d / 'smape.json').unlink()
    proc = run_tool('tools/fit_qc.py', '--gt', f'{synthetic_dir}/det_train.json', '--measure-dir', str(d))
    assert proc.returncode == 2 and 'smape.json: not found' in proc.stderr and 'Traceback' not in proc.stderr
    absent = tmp_path / "no such folder's"
    proc = run_tool('tools/fit_qc.py', '--gt', f'{synthetic_dir}/det_train.json', '--measure-dir', str(absent))
    assert proc.returncode == 2 and 'images.csv: not found' in proc.stderr and 'Traceback' not in proc.stderr
