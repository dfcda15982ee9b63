"""report.html from real tool outputs: escaping and bad input here; loading, one row per film, sorting by
Cobb angle and a screenshot in headless Chromium (skipped where Chromium is not installed: make browser-test)."""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.conftest import DEMO_CONFIG, ROOT, run_tool

HOSTILE = 'x<img src=q onerror=alert(1)>.png'
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')


@pytest.fixture(scope='module')
def run_folder(synthetic_dir, tmp_path_factory):
    """An inference.sh-like folder: GT keypoints as results for every film of det_train.json (one film renamed
    to a hostile name), measured with overlays, and a skipped file."""
    out = tmp_path_factory.mktemp('run')
    films = out / 'films'
    gt = json.load(open(os.path.join(synthetic_dir, 'det_train.json')))
    results, first = [], gt['images'][0]['id']
    for im in gt['images']:
        name = HOSTILE if im['id'] == first else os.path.basename(im['file_name'])
        os.makedirs(films, exist_ok=True)
        shutil.copy(os.path.join(synthetic_dir, im['file_name']), films / name)
        im['file_name'] = name
    names = {im['id']: im['file_name'] for im in gt['images']}
    for a in gt['annotations']:
        results.append({'image_id': a['image_id'], 'file_name': names[a['image_id']], 'category_id': 1,
                        'bbox': a['bbox'], 'score': 0.9, 'keypoints': [v if i % 3 != 2 else 0.9
                                                                       for i, v in enumerate(a['keypoints'])]})
    (out / 'results.json').write_text(json.dumps(results))
    (out / 'skipped.txt').write_text('broken.png: not a readable image\n')
    run_tool('tools/measure.py', '--input', str(out / 'results.json'), '--images-dir', str(films), '--out',
             str(out / 'measurements'), '--bottom-level', 'L5', '--save_vis', '--anterior', 'left', check=True)
    run_tool('tools/report.py', str(out), check=True)
    return {'out': out, 'n_films': len(gt['images'])}


def test_report_escapes_data_and_links_its_files(run_folder):
    page = (run_folder['out'] / 'report.html').read_text()
    assert HOSTILE not in page and '<img src=q' not in page  # only inside JSON, with < and > escaped
    assert 'x\\u003cimg src=q onerror=alert(1)\\u003e.png' in page
    assert 'http://' not in page and 'https://' not in page  # nothing to fetch: works offline
    thumbs = os.listdir(run_folder['out'] / 'report_files' / 'thumbs')
    assert len(thumbs) == run_folder['n_films']


def test_report_speaks_in_sentences_with_one_status_a_film(run_folder, tmp_path):
    from spinekey.measurement.qc import reason_words
    from spinekey.visualization.report import collect_run
    assert reason_words('uncertain_angle: Cobb angle uncertain (+-14.6 deg); gap: a vertebra may be missing') == \
        'Cobb angle uncertain (+-14.6 deg). A vertebra may be missing.'
    data = collect_run(str(run_folder['out']))
    films = data['films']
    assert all(f['status'] in ('ok', 'review', 'skipped') and 'qc_status' not in f for f in films)
    assert not any('_' in f['qc_reasons'].split(' ')[0] for f in films if f['qc_reasons'])  # no codes shown
    row = films[0]['vertebrae'][0]
    assert 'anterior height (px)' in row and 'height_anterior_px' not in row  # words, not CSV column names
    # a read-only run folder: --out puts the page elsewhere, its links still reach the run's overlays
    proc = run_tool('tools/report.py', str(run_folder['out']), '--out', str(tmp_path / 'page'))
    assert proc.returncode == 0, proc.stderr
    page = (tmp_path / 'page' / 'report.html').read_text()
    full = re.findall(r'"full": *"([^"]+)"', page)
    assert full and all(os.path.isfile(tmp_path / 'page' / json.loads(f'"{f}"')) for f in full)
    assert len(os.listdir(tmp_path / 'page' / 'report_files' / 'thumbs')) == run_folder['n_films']


def test_report_shows_the_aasce_angles_where_they_were_measured(run_folder, tmp_path):
    """The AASCE angles (PT, MT, TL) get columns of their own, filled from images.csv with their range or
    uncertainty; a run measured without them shows none (an empty column is not drawn)."""
    import csv

    from spinekey.visualization.report import FILM_COLUMNS, collect_run
    plain = collect_run(str(run_folder['out']))['films']
    assert all(f.get('cobb_mt_deg') is None for f in plain)
    out = tmp_path / 'run'
    shutil.copytree(run_folder['out'], out, ignore=shutil.ignore_patterns('measurements', 'report*'))
    run_tool('tools/measure.py', '--input', str(out / 'results.json'), '--images-dir', str(out / 'films'), '--out',
             str(out / 'measurements'), '--bottom-level', 'L5', '--anterior', 'left', '--aasce', check=True)
    rows = {r['file_name']: r for r in csv.DictReader(open(out / 'measurements' / 'images.csv'))}
    films = collect_run(str(out))['films']
    assert len(films) == len(rows) == run_folder['n_films']
    for f in films:
        row = rows[f['file_name']]
        for key in ('cobb_pt_deg', 'cobb_mt_deg', 'cobb_tl_deg'):
            assert f[key] == pytest.approx(float(row[key]))
            shown = re.match(r'-?[0-9.]+', f['display'][key])  # the value rounded to its uncertainty, then +- or range
            assert shown and float(shown.group()) == pytest.approx(float(row[key]), abs=0.51)
    assert ('cobb_mt_deg', 'MT Cobb (deg)') in FILM_COLUMNS


def test_report_bad_input_is_one_line(tmp_path):
    proc = run_tool('tools/report.py', str(tmp_path))
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr
    assert proc.stderr.strip() == f'error: {tmp_path}: no results.json (not an inference.sh output folder, or the ' \
                                  'run did not finish)'


def _chromium(url, tmp_path, *extra):
    args = [CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
            '--disable-background-networking', '--disable-component-update', '--disable-sync',
            '--allow-file-access-from-files', '--enable-logging=stderr', '--v=0', '--virtual-time-budget=5000',
            f'--user-data-dir={tmp_path / "profile"}', *extra, url]
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def _cells(dom, key):
    return [m for m in re.findall(rf'<td data-key="{re.escape(key)}">([^<]*)</td>', dom)]


@pytest.mark.skipif(CHROMIUM is None, reason='Chromium is not installed (make browser-test installs it)')
def test_report_in_a_real_browser(run_folder, tmp_path):
    url = 'file://' + str(run_folder['out'] / 'report.html')
    plain = _chromium(url, tmp_path, '--dump-dom')
    assert 'data-ready="ok"' in plain.stdout, plain.stderr[-2000:]
    assert '<pre id="errors"></pre>' in plain.stdout and 'Uncaught' not in plain.stderr
    assert len(re.findall(r'<tr data-film=', plain.stdout)) == run_folder['n_films']  # one row per film
    assert 'x&lt;img src=q onerror=alert(1)&gt;.png' in plain.stdout and '<img src="q"' not in plain.stdout
    by_cobb = _chromium(url + '#sort=cobb_deg&desc=1', tmp_path, '--dump-dom').stdout
    cobb = [float(v.split()[0]) for v in _cells(by_cobb, 'cobb_deg') if v]  # "44 +-3" or "44.0"
    assert len(cobb) >= 3 and cobb == sorted(cobb, reverse=True)
    assert [float(v.split()[0]) for v in _cells(plain.stdout, 'cobb_deg') if v] != cobb  # sorting reordered rows
    assert '<th data-key="EPE"' not in plain.stdout and 'data-key="qc_status"' not in plain.stdout  # no GT, one status
    assert set(_cells(plain.stdout, 'status')) <= {'ok', 'review'}
    shot = tmp_path / 'report.png'
    _chromium(url, tmp_path, f'--screenshot={shot}', '--window-size=1400,1000', '--hide-scrollbars')
    assert shot.is_file() and shot.stat().st_size > 10_000


@pytest.mark.skipif(CHROMIUM is None, reason='Chromium is not installed (make browser-test installs it)')
def test_inference_sh_report_loads_in_the_browser(trained, tmp_path):
    images = tmp_path / 'images'
    shutil.copytree(os.path.join(trained['data'], 'images'), images)
    out = tmp_path / 'out'
    proc = subprocess.run(['bash', 'inference.sh', '--images_dir', str(images), '--ckpt', trained['ckpt'],
                           '--cfg_det_path', DEMO_CONFIG, '--output_dir', str(out), '--cpu', '--save_vis',
                           '--measure', '--bottom_level', 'L5', '--report', '--anns_path',
                           os.path.join(trained['data'], 'det_val.json')],
                          cwd=ROOT, capture_output=True, text=True, env=dict(os.environ, PYTHON=sys.executable))
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = _chromium('file://' + str(out / 'report.html'), tmp_path, '--dump-dom').stdout
    assert 'data-ready="ok"' in dom and len(re.findall(r'<tr data-film=', dom)) == 1
    assert 'recall' in dom and json.loads((out / 'run.json').read_text())['checkpoint'] == trained['ckpt']
