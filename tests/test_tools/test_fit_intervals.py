"""tools/fit_intervals.py: fits on one fold's smape.json, judges on another's, refuses a fold too small to
promise anything, and the config block it prints is what measuring reads back."""
import json

import numpy as np

from tests.conftest import run_tool


def _smape_json(path, n, seed):
    rng = np.random.default_rng(seed)
    films = []
    for i in range(n):
        true = rng.uniform(5, 50, 3)
        sd = rng.uniform(1, 6, 3)
        films.append({'file_name': f'{i}.jpg', 'true': true.tolist(), 'pred': (true + rng.normal(0, sd)).tolist(),
                      'unc': sd.tolist(), 'qc_status': 'ok'})
    path.write_text(json.dumps({'smape': 10.0, 'images': films}))
    return path


def test_fit_on_one_fold_judge_on_another_and_refuse_a_small_one(tmp_path):
    cal, judge = _smape_json(tmp_path / 'a.json', 400, 0), _smape_json(tmp_path / 'b.json', 400, 1)
    proc = run_tool('tools/fit_intervals.py', '--calibrate', str(cal), '--judge', str(judge), '--out',
                    str(tmp_path / 'fit.json'))
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith('conformal = dict('))
    from mmengine.config import Config
    (tmp_path / 'cfg.py').write_text(line + '\n')
    from spinekey.measurement.conformal import Calibration
    parsed = Calibration.from_config(Config.fromfile(str(tmp_path / 'cfg.py')).conformal)
    assert parsed.mode == 'normalised' and set(parsed.factors) == {'cobb_pt_deg', 'cobb_mt_deg', 'cobb_tl_deg'}
    judged = json.loads((tmp_path / 'fit.json').read_text())['judged']
    assert 0.86 <= judged['pooled_normalised'] <= 0.94
    small = _smape_json(tmp_path / 'small.json', 15, 2)
    proc = run_tool('tools/fit_intervals.py', '--calibrate', str(small))
    assert proc.returncode == 2 and proc.stderr.count('\n') == 1 and 'at least 20' in proc.stderr


def test_several_folds_are_fitted_on_their_films_together(tmp_path):
    """--calibrate A B fits on A's and B's films as one set: the same factors as one file holding both."""
    a, b = _smape_json(tmp_path / 'a.json', 60, 3), _smape_json(tmp_path / 'b.json', 50, 4)
    both = json.loads(a.read_text())
    both['images'] += json.loads(b.read_text())['images']
    (tmp_path / 'ab.json').write_text(json.dumps(both))
    outputs = []
    for files in ([str(a), str(b)], [str(tmp_path / 'ab.json')]):
        proc = run_tool('tools/fit_intervals.py', '--calibrate', *files)
        assert proc.returncode == 0, proc.stderr
        outputs.append(proc.stdout)
    assert outputs[0] == outputs[1] and '110 films' in outputs[0]
    alone = run_tool('tools/fit_intervals.py', '--calibrate', str(a)).stdout
    assert alone != outputs[0] and '60 films' in alone
