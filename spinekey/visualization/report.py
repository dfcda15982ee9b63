"""report.html: one self-contained page per run folder (films, overlays, measurements, metrics).

Works from ``file://`` with no network: styles and script are inline, overlays are linked where the run
wrote them and thumbnails go to ``OUT/report_files/``. Every value that came from the data (file names,
levels, notes) travels as JSON inside the page and is put into the page with ``textContent``, never as HTML,
so a film named ``x<img src=q onerror=alert(1)>.png`` shows as that text. The film table is paged (100 rows)
and sorted/filtered in the page; ``report.html#sort=cobb_deg&desc=1`` opens it sorted.
"""
from __future__ import annotations

import csv
import html
import json
import math
import os
import time
from collections import defaultdict
from typing import Dict, List, Optional

from spinekey.io.atomic import atomic_write_bytes, atomic_write_text, json_safe
from spinekey.io.safe_paths import output_names, path_inside
from spinekey.measurement.qc import reason_words
from spinekey.utils.errors import SpineKeyError

THUMB_SIDE = 480
HEADLINE = ['recall', 'precision', 'EPE', 'MRE_mm', 'PCK@0.05', 'PCK@0.1', 'AUC', 'bbox_AP50', 'smape']
# (key, header); a column no film has a value in is not shown (no "EPE vs GT" without ground truth)
FILM_COLUMNS = [('file_name', 'film'), ('status', 'status'), ('n_vertebrae', 'vertebrae'),
                ('cobb_deg', 'Cobb (deg)'), ('cobb_pt_deg', 'PT Cobb (deg)'), ('cobb_mt_deg', 'MT Cobb (deg)'),
                ('cobb_tl_deg', 'TL Cobb (deg)'), ('lordosis_deg', 'lordosis (deg)'), ('worst_genant', 'worst Genant'),
                ('worst_meyerding', 'worst Meyerding'), ('EPE', 'EPE vs GT (px)'), ('PCK@0.1', 'PCK@0.1 vs GT'),
                ('qc_reasons', 'why to look'), ('note', 'notes')]
# images.csv's angles, shown with their range (or +- uncertainty); the AASCE ones only where measured (--aasce)
FILM_ANGLES = ('cobb_deg', 'cobb_pt_deg', 'cobb_mt_deg', 'cobb_tl_deg', 'lordosis_deg')
# measurements.csv columns as the detail table heads them (others keep their names; *_unc go into the value)
VERTEBRA_LABELS = {'level': 'level', 'order': '#', 'height_anterior_mm': 'anterior height (mm)',
                   'height_middle_mm': 'middle height (mm)', 'height_posterior_mm': 'posterior height (mm)',
                   'height_anterior_px': 'anterior height (px)', 'height_middle_px': 'middle height (px)',
                   'height_posterior_px': 'posterior height (px)', 'wedge_ratio': 'anterior / posterior',
                   'crush_ratio': 'middle / posterior', 'genant_grade': 'Genant grade',
                   'slip_percent': 'slip (%)', 'meyerding_grade': 'Meyerding grade', 'score': 'detection score',
                   'qc_status': 'QC', 'qc_reasons': 'why to look', 'note': 'notes'}


def _film_status(status: str, qc: Optional[str]) -> str:
    """One status a film: skipped / no detections as the run said, else the QC verdict when measured."""
    if status and status != 'ok':
        return status
    return {'review': 'review', 'ok': 'ok'}.get(qc or '', status or 'ok')


def _display_rows(rows: List[dict]) -> List[dict]:
    """Detail rows with each uncertain value and its ``*_unc`` merged into one rounded text."""
    from spinekey.visualization.numbers import with_range
    shown = []
    for row in rows:
        out = {}
        for key, value in row.items():
            if key.endswith(('_unc', '_lo', '_hi')):
                continue
            unc = row.get(f'{key}_unc')
            if isinstance(value, float) and isinstance(unc, float):
                value = with_range(value, unc, row.get(f'{key}_lo'), row.get(f'{key}_hi'))
            elif key == 'qc_reasons':
                value = reason_words(value)
            out[VERTEBRA_LABELS.get(key, key)] = value
        shown.append(out)
    return shown


def _read_csv(path: str) -> List[dict]:
    if not os.path.isfile(path):
        return []
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def _number(text):
    try:
        value = float(text)
    except (TypeError, ValueError):
        return text if text not in ('', None) else None
    return value if math.isfinite(value) else None


def _load(path: str, what: str):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError) as err:
        raise SpineKeyError(f'{path}: cannot read the {what} ({type(err).__name__}: {err})') from None


def collect_run(out_dir: str, score_thr: float = 0.3) -> dict:
    """Everything the page shows, read from an inference.sh output folder.

    Raises:
        SpineKeyError: the folder has no results.json (one line naming what is missing).
    """
    results_path = os.path.join(out_dir, 'results.json')
    if not os.path.isfile(results_path):
        raise SpineKeyError(f'{out_dir}: no results.json (not an inference.sh output folder, or the run did not '
                            'finish)')
    results = _load(results_path, 'results')
    run = _load(os.path.join(out_dir, 'run.json'), 'run record') if os.path.isfile(
        os.path.join(out_dir, 'run.json')) else {}
    metrics = _load(os.path.join(out_dir, 'metrics.json'), 'metrics') if os.path.isfile(
        os.path.join(out_dir, 'metrics.json')) else {}
    smape_path = os.path.join(out_dir, 'measurements', 'smape.json')
    if os.path.isfile(smape_path):
        metrics['smape'] = _load(smape_path, 'SMAPE record').get('smape')
    summary = _read_csv(os.path.join(out_dir, 'summary.csv'))
    films: Dict[object, dict] = {}
    for row in summary:  # every film of the run, also those without detections or skipped
        films[str(row['image_id'])] = {'image_id': row['image_id'], 'file_name': row['file_name'],
                                       'status': row['status'], 'n_vertebrae': 0}
    for r in results:
        film = films.setdefault(str(r['image_id']), {'image_id': r['image_id'], 'file_name': r.get('file_name', ''),
                                                     'status': 'ok', 'n_vertebrae': 0})
        film['n_vertebrae'] += int(r['score'] >= score_thr)
    per_vertebra = defaultdict(list)
    for row in _read_csv(os.path.join(out_dir, 'measurements', 'measurements.csv')):
        per_vertebra[str(row['image_id'])].append({k: _number(v) if k != 'level' else v for k, v in row.items()
                                                   if k not in ('image_id', 'file_name')})
    for row in _read_csv(os.path.join(out_dir, 'measurements', 'images.csv')):
        film = films.get(str(row['image_id']))
        if film is not None:
            from spinekey.visualization.numbers import with_range
            shown = {k: with_range(_number(row.get(k)), _number(row.get(f'{k}_unc')), _number(row.get(f'{k}_lo')),
                                   _number(row.get(f'{k}_hi'))) for k in FILM_ANGLES}
            film.update({k: _number(row.get(k)) for k in FILM_ANGLES})
            film.update(note=row.get('note') or '', status=_film_status(film['status'], row.get('qc_status')),
                        qc_reasons=reason_words(row.get('qc_reasons')), display=shown)
    for key, film in films.items():
        rows = per_vertebra.get(key, [])
        film['vertebrae'] = _display_rows(rows)
        film['worst_genant'] = max((r['genant_grade'] for r in rows if isinstance(r.get('genant_grade'), float)),
                                   default=None)
        film['worst_meyerding'] = max((r['meyerding_grade'] for r in rows
                                       if isinstance(r.get('meyerding_grade'), float)), default=None)
    for row in metrics.get('per_image', []):
        film = films.get(str(row['image_id']))
        if film is not None:
            film.update(EPE=json_safe(row.get('EPE')), **{'PCK@0.1': json_safe(row.get('PCK@0.1'))})
    skipped_path = os.path.join(out_dir, 'skipped.txt')
    skipped = open(skipped_path).read().splitlines() if os.path.isfile(skipped_path) else []
    return {'run': run, 'metrics': {k: json_safe(metrics.get(k)) for k in HEADLINE if k in metrics},
            'films': list(films.values()), 'skipped': skipped}


def _overlay_for(out_dir: str, film: dict, infer_names: Dict[str, str], measure_names: Dict[str, str]):
    """The overlay file of a film: the measurement overlay if the run drew one, else the detection overlay."""
    for folder, names in ((os.path.join(out_dir, 'measurements', 'vis'), measure_names),
                          (os.path.join(out_dir, 'vis'), infer_names)):
        name = names.get(film['file_name'])
        if name and os.path.isfile(os.path.join(folder, name)):
            return os.path.join(folder, name)
    return None


def add_overlays(out_dir: str, data: dict, page_dir: Optional[str] = None) -> None:
    """Give each film ``full`` (its overlay, relative to the page in ``page_dir``, default ``out_dir``) and
    ``thumb`` (a small JPEG written to PAGE_DIR/report_files/thumbs/); films without an overlay get neither."""
    page_dir = page_dir or out_dir
    import cv2
    names = [f['file_name'] for f in data['films']]
    infer_names = dict(zip(names, output_names(names, '.png')))  # as tools/infer.py --save-vis names them
    measure_names = dict(zip(names, output_names(names, '.jpg', flat=True)))  # as tools/measure.py does
    thumbs = dict(zip(names, output_names(names, '.jpg', flat=True)))
    thumb_dir = os.path.join(page_dir, 'report_files', 'thumbs')
    for film in data['films']:
        overlay = _overlay_for(out_dir, film, infer_names, measure_names)
        if overlay is None:
            continue
        image = cv2.imread(overlay)
        if image is None:
            continue
        scale = THUMB_SIDE / max(image.shape[:2])
        small = cv2.resize(image, (max(1, int(image.shape[1] * scale)), max(1, int(image.shape[0] * scale))),
                           interpolation=cv2.INTER_AREA)
        thumb = path_inside(thumb_dir, thumbs[film['file_name']])
        atomic_write_bytes(thumb, cv2.imencode('.jpg', small, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes())
        film['full'] = os.path.relpath(overlay, page_dir)
        film['thumb'] = os.path.relpath(thumb, page_dir)


def _figures(out_dir: str, page_dir: Optional[str] = None) -> List[str]:
    """Evaluation and cohort figures the run wrote, relative to the page."""
    found = []
    for rel in ('plots/pck_curve.png', 'plots/error_histograms.png', 'measurements/cohort.png'):
        if os.path.isfile(os.path.join(out_dir, rel)):
            found.append(os.path.relpath(os.path.join(out_dir, rel), page_dir or out_dir))
    return found


def render(data: dict, figures: List[str], title: str) -> str:
    run = data['run']
    facts = [('model config', run.get('config')), ('checkpoint', run.get('checkpoint')),
             ('images', run.get('images_dir')), ('annotations', run.get('anns')), ('run date', run.get('date')),
             ('report date', time.strftime('%Y-%m-%d %H:%M')), ('films', str(len(data['films']))),
             ('skipped files', str(len(data['skipped'])))]
    header = ''.join(f'<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>' for k, v in facts if v)
    figs = ''.join(f'<figure><a href="{html.escape(f)}"><img src="{html.escape(f)}" alt="{html.escape(f)}"></a>'
                   f'<figcaption>{html.escape(f)}</figcaption></figure>' for f in figures)
    payload = json.dumps(json_safe({'films': data['films'], 'metrics': data['metrics'], 'skipped': data['skipped'],
                                     'columns': FILM_COLUMNS}))
    payload = payload.replace('<', '\\u003c').replace('>', '\\u003e').replace('&', '\\u0026')
    page = open(os.path.join(os.path.dirname(__file__), 'report_page.html'), encoding='utf-8').read()
    return page.format(title=html.escape(title), header=header, figures=figs, payload=payload)


def write_report(out_dir: str, score_thr: float = 0.3, title: Optional[str] = None,
                 page_dir: Optional[str] = None) -> str:
    """Write ``report.html`` (atomically) and its thumbnails into ``page_dir`` (default: the run folder
    ``out_dir`` itself; another folder when the run's is read-only); returns the page's path."""
    page_dir = page_dir or out_dir
    data = collect_run(out_dir, score_thr)
    add_overlays(out_dir, data, page_dir)
    page = render(data, _figures(out_dir, page_dir),
                  title or f'SpineKey run: {os.path.basename(os.path.abspath(out_dir))}')
    path = os.path.join(page_dir, 'report.html')
    atomic_write_text(path, page)
    return path
