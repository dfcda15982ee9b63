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


def test_thresholds_are_the_quantile_plus_a_margin():
    stats = {'size_ratio': np.array([1.0, 1.2, 1.4]), 'slope_deg': np.array([2.0, 4.0, 6.0]),
             'gap_factor': np.array([1.0, 1.1, 1.3])}
    out = suggest_thresholds(stats, quantile=0.5, margin=1.1)
    assert out['size_ratio'] == pytest.approx(1.22) and out['slope_deg'] == pytest.approx(4.4)
    assert out['gap_factor'] == pytest.approx(1.11) and out['n_vertebrae'] == 3


def test_fit_qc_prints_a_config_line(synthetic_dir, tmp_path):
    out = tmp_path / 'qc.json'
    proc = run_tool('tools/fit_qc.py', '--gt', f'{synthetic_dir}/det_train.json', '--out', str(out))
    assert proc.returncode == 0 and proc.stdout.startswith('qc = dict(min_score=')
    assert 'slope_deg=' in proc.stdout and out.exists()
    bad = run_tool('tools/fit_qc.py', '--gt', f'{synthetic_dir}/det_train.json', '--quantile', '1.5')
    assert bad.returncode == 2 and '--quantile' in bad.stderr and 'Traceback' not in bad.stderr
