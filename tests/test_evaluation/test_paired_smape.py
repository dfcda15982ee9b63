"""The paired bootstrap of a SMAPE difference: worked by hand, its coverage on simulated runs, and
tools/compare_smape.py on a smape.json against an oracle_chain.json."""
import json

import numpy as np
import pytest

from spinekey.evaluation.paired_smape import paired_smape_difference
from spinekey.measurement.aasce import smape, smape_per_image
from tests.conftest import run_tool


def test_per_film_shares_by_hand_and_their_mean_is_the_smape():
    pred = np.array([[10.0, 20.0, 5.0], [0.0, 0.0, 0.0], [12.0, 30.0, 10.0]])
    true = np.array([[12.0, 18.0, 5.0], [0.0, 0.0, 0.0], [10.0, 30.0, 14.0]])
    # film 1: (2 + 2 + 0) / (22 + 38 + 10) = 4 / 70; film 2: nothing on either side, exact; film 3: 6 / 106
    np.testing.assert_allclose(smape_per_image(pred, true), [400 / 70, 0.0, 600 / 106])
    assert smape_per_image(pred, true).mean() == pytest.approx(smape(pred, true))


def test_difference_is_paired_by_file_name_and_a_constant_gain_has_no_spread():
    true = [[10.0, 20.0, 10.0]] * 4
    a = [[12.0, 20.0, 10.0]] * 4            # each film 2 / (22 + 40 + 20) -> 2.44%
    b = [[11.0, 20.0, 10.0]] * 4            # each film 1 / (21 + 40 + 20) -> 1.23%
    r = paired_smape_difference(['w', 'x', 'y', 'z'], a, true, ['z', 'y', 'x', 'w', 'v'], b + [[0, 0, 0]],
                                true + [[1, 1, 1]], draws=500)
    assert (r['n_films'], r['only_in_a'], r['only_in_b']) == (4, 0, 1)
    assert r['difference'] == pytest.approx(100 / 81 - 200 / 82)
    assert r['interval'] == pytest.approx([100 / 81 - 200 / 82] * 2)   # every film gains the same
    assert (r['b_better'], r['a_better'], r['p_b_not_better']) == (4, 0, 0.0)


def test_refuses_runs_without_common_films_or_with_other_truth():
    with pytest.raises(ValueError, match='no film in common'):
        paired_smape_difference(['a'], [[1, 2, 3]], [[1, 2, 3]], ['b'], [[1, 2, 3]], [[1, 2, 3]])
    with pytest.raises(ValueError, match='a: the two runs were scored against different true angles'):
        paired_smape_difference(['a'], [[1, 2, 3]], [[1, 2, 3]], ['a'], [[1, 2, 3]], [[1, 2, 4]])


def test_interval_covers_the_true_difference_about_as_often_as_promised():
    # runs whose per-film SMAPE differs by a known mean (B draws its errors 10% smaller on average): over many
    # simulated folds of 91 films the 90% interval should hold the population difference about 90% of the time
    rng = np.random.default_rng(1)
    n, folds, hits = 91, 300, 0
    true = rng.uniform(10, 40, size=(200_000, 3))
    err_a = rng.normal(0, 3, size=true.shape)
    err_b = 0.9 * err_a + rng.normal(0, 0.8, size=true.shape)
    population = (smape_per_image(true + err_b, true) - smape_per_image(true + err_a, true)).mean()
    for _ in range(folds):
        idx = rng.integers(0, len(true), n)
        names = [str(i) for i in range(n)]
        r = paired_smape_difference(names, true[idx] + err_a[idx], true[idx], names, true[idx] + err_b[idx],
                                    true[idx], draws=400, level=0.9, seed=int(rng.integers(1 << 30)))
        hits += r['interval'][0] <= population <= r['interval'][1]
    assert 0.84 <= hits / folds <= 0.95  # a percentile bootstrap on 91 films runs a little short of its level


def test_compare_tool_reads_smape_and_oracle_chain_files(tmp_path):
    names = [f'film {i}.jpg' for i in range(30)]
    rng = np.random.default_rng(0)
    true = rng.uniform(5, 40, size=(30, 3)).round(3)
    shipped = (true + rng.normal(0, 4, size=true.shape)).clip(0).round(3)
    oracle = (true + rng.normal(0, 1, size=true.shape)).clip(0).round(3)
    (tmp_path / 'smape.json').write_text(json.dumps({'smape': smape(shipped, true), 'images': [
        {'file_name': n, 'pred': p.tolist(), 'true': t.tolist()} for n, p, t in zip(names, shipped, true)]}))
    (tmp_path / 'oracle_chain.json').write_text(json.dumps({'smape_oracle_chain': smape(oracle, true), 'images': [
        {'file_name': n, 'pred': p.tolist(), 'pred_oracle_chain': o.tolist(), 'true': t.tolist()}
        for n, p, o, t in zip(names, shipped, oracle, true)]}))
    proc = run_tool('tools/compare_smape.py', str(tmp_path / 'smape.json'), str(tmp_path / 'oracle_chain.json'),
                    '--out', str(tmp_path / 'cmp.json'), check=True)
    r = json.loads((tmp_path / 'cmp.json').read_text())
    assert r['smape_a'] == pytest.approx(smape(shipped, true)) and r['smape_b'] == pytest.approx(smape(oracle, true))
    assert (r['kind_a'], r['kind_b']) == ('shipped column', 'oracle chain')
    assert r['interval'][1] < 0 and 'B is better' in proc.stdout
    bad = run_tool('tools/compare_smape.py', str(tmp_path / 'smape.json'), str(tmp_path / 'cmp.json'))
    assert bad.returncode == 2 and bad.stderr.strip().splitlines()[-1].startswith('error: ') \
        and 'not a smape.json or oracle_chain.json' in bad.stderr and 'Traceback' not in bad.stderr


def test_compare_tool_pools_folds_given_as_pairs(tmp_path):
    def write(name, films, pred, true):
        (tmp_path / name).write_text(json.dumps({'images': [
            {'file_name': f, 'pred': p, 'true': t} for f, p, t in zip(films, pred, true)]}))
    true = [[10.0, 20.0, 10.0]] * 2
    # fold 0: A 2 / 82 on both films, B 1 / 81; fold 1 (the same file names, other films): A and B equal
    write('a0.json', ['x', 'y'], [[12.0, 20.0, 10.0]] * 2, true)
    write('b0.json', ['x', 'y'], [[11.0, 20.0, 10.0]] * 2, true)
    write('a1.json', ['x', 'y'], [[13.0, 20.0, 10.0]] * 2, true)
    write('b1.json', ['x', 'y'], [[13.0, 20.0, 10.0]] * 2, true)
    files = [str(tmp_path / f) for f in ('a0.json', 'b0.json', 'a1.json', 'b1.json')]
    proc = run_tool('tools/compare_smape.py', *files, '--out', str(tmp_path / 'cmp.json'), check=True)
    r = json.loads((tmp_path / 'cmp.json').read_text())
    assert r['n_films'] == 4 and (r['b_better'], r['a_better']) == (2, 0)  # x and y of each fold kept apart
    assert r['difference'] == pytest.approx((100 / 81 - 200 / 82) / 2)
    assert 'over 2 pairs of files, pooled' in proc.stdout
    odd = run_tool('tools/compare_smape.py', *files[:3])
    assert odd.returncode == 2 and 'give the files in pairs' in odd.stderr
