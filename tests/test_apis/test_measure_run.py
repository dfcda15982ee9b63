"""Measuring a run from Python (spinekey.apis.measure_run) writes what tools/measure.py writes, and scores SMAPE
as worked by hand."""
import json
import os

import pytest

from spinekey.apis.measure_run import (measure_films, measure_run, options_from_files, parse_custom_measures,
                                       write_measurements, write_smape)
from spinekey.measurement.inputs import read_measure_input
from spinekey.measurement.options import MeasureOptions
from spinekey.utils.errors import SpineKeyError
from tests.conftest import run_tool


def test_the_api_writes_the_tools_files(synthetic_dir, tmp_path):
    gt = os.path.join(synthetic_dir, 'det_train.json')
    tool_out, api_out, run_out = tmp_path / 'tool', tmp_path / 'api', tmp_path / 'run'
    proc = run_tool('tools/measure.py', '--input', gt, '--out', str(tool_out), '--anterior', 'left',
                    '--unc-samples', '0', '--bottom-level', 'L5', '--cohort',
                    '--define', 'w=distance:top_left,top_right', check=True)
    options = MeasureOptions(anterior='left', unc_samples=0, bottom_level='L5',
                             custom=parse_custom_measures(['w=distance:top_left,top_right']))
    kind, images = read_measure_input(gt)
    rows, image_rows, pairs = measure_films(images, options, synthetic_dir, str(api_out))
    assert write_measurements(str(api_out), rows, image_rows, options.custom, input_path=gt, input_kind=kind) == [
        'measurements.csv', 'images.csv', 'measurements.json']
    assert kind == 'gt' and len(image_rows) == len(images) > 5 and pairs == []  # no AASCE angles asked for
    run = measure_run(gt, str(run_out), options, cohort=True)
    assert (run.kind, run.n_vertebrae, run.n_images) == ('gt', len(rows), len(image_rows))
    assert run.smape is None and run.uncertainty is None and run.cohort_rows > 0
    assert f'measured {len(rows)} vertebrae on {len(image_rows)} images (gt)' in proc.stdout
    for name in ('measurements.csv', 'images.csv', 'measurements.json'):
        assert (api_out / name).read_text() == (tool_out / name).read_text() == (run_out / name).read_text(), name
    assert (run_out / 'cohort.csv').read_text() == (tool_out / 'cohort.csv').read_text()
    assert 'w_px' in (run_out / 'measurements.csv').read_text().splitlines()[0].split(',')
    assert any(r['cobb_deg'] is not None for r in json.loads((api_out / 'measurements.json').read_text())['images'])


def test_the_aasce_angles_need_no_image_size_in_the_input(synthetic_dir):
    """A results.json carries no film size: the AASCE angles (which read the film's height) and the film_shrunk
    check take it from the image file's header, and give what the GT file's sizes give."""
    from dataclasses import replace

    from spinekey.apis.measuring import measure_film
    _, images = read_measure_input(os.path.join(synthetic_dir, 'det_train.json'))
    options = MeasureOptions(anterior='left', aasce=True, unc_samples=0)
    for im in images[:3]:
        path = os.path.join(synthetic_dir, im.file_name)
        assert os.path.isfile(path) and im.height
        sized = measure_film(im, options, path).image
        unsized = replace(im, width=None, height=None)
        assert measure_film(unsized, options, path).image == sized and sized['cobb_mt_deg'] is not None
        blind = measure_film(unsized, options).image  # no file either: said, not guessed
        assert blind.get('cobb_mt_deg') is None and 'AASCE angles need the image height' in blind['note']


def test_options_from_files(tmp_path):
    base = MeasureOptions(aasce=True)
    assert options_from_files(base) == base  # no files: nothing changes
    with pytest.raises(SpineKeyError, match='^--level-chain-config and --level-chain-checkpoint go together$'):
        options_from_files(base, level_chain_config='chain.py')
    with pytest.raises(SpineKeyError, match='^--end-levels-config and --end-levels-checkpoint go together$'):
        options_from_files(base, end_levels_checkpoint='ends.pth')
    with pytest.raises(SpineKeyError, match='give one'):
        options_from_files(base, level_chain_config='chain.py', level_chain_checkpoint='c.pth',
                           end_levels_config='ends.py', end_levels_checkpoint='ends.pth')
    cfg = tmp_path / 'model.py'
    cfg.write_text("qc = dict(min_score=0.4)\n"
                   "test_pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(1024, 512), "
                   "keep_ratio=True)]\n")
    got = options_from_files(base, qc_config=str(cfg))
    assert got.qc.min_score == 0.4 and got.input_scale == (1024, 512) and got.calibration is None
    assert got.aasce and base.qc is None  # the rest kept; the options given are not changed
    cfg.write_text("qc = dict(min_scroe=0.4)\n")
    with pytest.raises(SpineKeyError, match=f'^{cfg}: unknown QC threshold.s. min_scroe'):
        options_from_files(base, qc_config=str(cfg))
    with pytest.raises(SpineKeyError, match='^--define: '):
        parse_custom_measures(['no equals sign'])


@pytest.mark.parametrize('name', ['spinekey_aasce_cpu.py', 'spinekey_aasce_gpu.py', 'spinekey_aasce_lite0_14e_cpu.py'])
def test_the_aasce_configs_measure_ap_films_with_the_aasce_angles(name):
    """What make aasce scored is what an AASCE model's user gets: AP view and the AASCE angles from the config,
    unless the options already say."""
    cfg = os.path.join(os.path.dirname(__file__), '..', '..', 'configs', 'spinekey', name)
    got = options_from_files(MeasureOptions(), qc_config=cfg)
    assert (got.view, got.aasce, got.film_view) == ('ap', True, 'ap')
    told = options_from_files(MeasureOptions(aasce=False, view='lateral'), qc_config=cfg)
    assert (told.view, told.aasce) == ('lateral', False)


def test_smape_by_hand(tmp_path):
    # film a: |12-10| / (12+20+30 + 10+20+30) = 2/122; film b exact: mean 1/122 -> 0.8197%
    pairs = [('a.png', [12, 20, 30], [10, 20, 30], {'unc': None, 'qc_status': 'ok'}),
             ('b.png', [5, 5, 5], [5, 5, 5], {'unc': None, 'qc_status': 'ok'})]
    summary = write_smape(str(tmp_path), pairs)
    assert summary['smape'] == pytest.approx(100 / 122) and summary['n_images'] == 2
    assert summary['mean_abs_error_deg'] == {'pt': 1.0, 'mt': 0.0, 'tl': 0.0}
    written = json.loads((tmp_path / 'smape.json').read_text())
    assert written['images'][0] == {'file_name': 'a.png', 'pred': [12, 20, 30], 'true': [10, 20, 30], 'unc': None,
                                    'qc_status': 'ok'}
    from spinekey.utils.errors import SpineKeyError
    with pytest.raises(SpineKeyError, match='^gt.json: --aasce-smape needs images with cobb_angles'):
        write_smape(str(tmp_path), [], source='gt.json')
