"""tools/measure.py end to end: GT and results input, mm, overlays, cohort, AASCE SMAPE, bad input."""
import csv
import json
import os

import numpy as np
import pytest

from tests.conftest import run_tool


def _read(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def test_gt_input_reproduces_truth_where_the_side_is_read_right(synthetic_dir, tmp_path):
    out = tmp_path / 'm'
    ann = os.path.join(synthetic_dir, 'det_train.json')
    proc = run_tool('tools/measure.py', '--input', ann, '--out', str(out), '--save_vis', '--cohort')
    assert proc.returncode == 0, proc.stderr
    truth = json.load(open(os.path.join(synthetic_dir, 'truth.json')))['images']
    rows, images = _read(out / 'measurements.csv'), _read(out / 'images.csv')
    gt = json.load(open(ann))
    assert len(rows) == len(gt['annotations']) and len(images) == len(gt['images'])
    right_side = [im['file_name'] for im in images if im['anterior'] == truth[im['file_name']]['anterior']]
    assert len(right_side) >= 0.75 * len(images)  # 234 of 250 on the demo set
    for row in rows:
        if row['file_name'] not in right_side:
            continue
        t = {v['level']: v for v in truth[row['file_name']]['vertebrae']}[row['level']]['landmark']
        assert float(row['height_anterior_px']) == pytest.approx(t['height_anterior_px'], abs=0.02)
        assert float(row['height_anterior_mm']) == pytest.approx(0.3 * t['height_anterior_px'], abs=0.01)
    for im in images:
        assert float(im['cobb_deg']) == pytest.approx(truth[im['file_name']]['cobb_deg'], abs=0.1)
    assert len(os.listdir(out / 'vis')) == len(gt['images'])
    cohort = _read(out / 'cohort.csv')
    ref = cohort[0]['normalised_by']
    ref_rows = [r for r in cohort if r['level'] == ref and r['normalised_by'] == ref]
    assert ref_rows and all(float(r['mean']) == pytest.approx(1.0) for r in ref_rows)  # a level over itself
    assert os.path.getsize(out / 'cohort.png') > 1000
    saved = json.load(open(out / 'measurements.json'))
    assert saved['input_kind'] == 'gt' and len(saved['vertebrae']) == len(rows)


def _results_from_gt(gt, score=0.9):
    return [{'image_id': a['image_id'], 'category_id': 1, 'bbox': a['bbox'], 'score': score,
             'keypoints': a['keypoints'], 'file_name': next(im['file_name'] for im in gt['images']
                                                            if im['id'] == a['image_id']).split('/')[-1]}
            for a in gt['annotations']]


def test_results_input_with_threshold_spacing_and_notes(synthetic_dir, tmp_path):
    gt_path = os.path.join(synthetic_dir, 'det_train.json')
    gt = json.load(open(gt_path))
    results = _results_from_gt(gt)
    first = gt['images'][0]['id']
    low = [r for r in results if r['image_id'] == first][1:]
    for r in low:
        r['score'] = 0.1  # leaves one vertebra on the first image: no angles, a note
    path = tmp_path / 'results.json'
    path.write_text(json.dumps(results))
    out = tmp_path / 'm'
    proc = run_tool('tools/measure.py', '--input', str(path), '--out', str(out), '--gt', gt_path,
                    '--anterior', 'right', '--bottom-level', 'L5', '--score-thr', '0.5')
    assert proc.returncode == 0, proc.stderr
    rows, images = _read(out / 'measurements.csv'), _read(out / 'images.csv')
    assert len(rows) == len(results) - len(low)
    assert all(r['height_posterior_mm'] for r in rows)  # spacing from --gt, paired by base name
    img0 = next(im for im in images if int(im['image_id']) == first)
    assert img0['cobb_deg'] == '' and 'no Cobb' in img0['note']
    last_levels = [r['level'] for r in rows if int(r['image_id']) == gt['images'][1]['id']]
    assert last_levels[-1] == 'L5' and all(last_levels)


def test_aasce_smape_against_the_stored_angles(tmp_path):
    from spinekey.measurement.aasce import aasce_cobb_angles, smape
    from tests.test_converters.test_aasce_convert import write_sample
    write_sample(str(tmp_path))
    gt_path = str(tmp_path / 'gt.json')
    assert run_tool('tools/convert_dataset.py', '--from', 'aasce', '--src', str(tmp_path), '--out',
                    gt_path).returncode == 0
    gt = json.load(open(gt_path))
    results = _results_from_gt(gt)
    res_path = tmp_path / 'results.json'
    res_path.write_text(json.dumps(results))
    out = tmp_path / 'm'
    proc = run_tool('tools/measure.py', '--input', str(res_path), '--out', str(out), '--gt', gt_path,
                    '--aasce-smape', '--anterior', 'left')
    assert proc.returncode == 0, proc.stderr
    expected_pred = []
    for im in gt['images']:
        kps = [np.array(a['keypoints']).reshape(4, 3)[:, :2] for a in gt['annotations'] if a['image_id'] == im['id']]
        (mt, pt, tl), _ = aasce_cobb_angles(np.array(kps), im['height'])
        expected_pred.append([pt, mt, tl])
    expected = smape(expected_pred, [im['cobb_angles'] for im in gt['images']])
    got = json.load(open(out / 'smape.json'))
    assert got['smape'] == pytest.approx(expected, abs=0.01) and got['n_images'] == 3
    images = _read(out / 'images.csv')
    assert float(images[0]['cobb_mt_deg']) == pytest.approx(expected_pred[0][1], abs=1e-3)

    # --ensemble: a second model whose corners sit lower the further down the film (films taller by 10%)
    other = [dict(r, keypoints=[v * 1.1 if i % 3 == 1 else v for i, v in enumerate(r['keypoints'])])
             for r in results]
    (tmp_path / 'other.json').write_text(json.dumps(other))
    proc = run_tool('tools/measure.py', '--input', str(res_path), '--ensemble', str(tmp_path / 'other.json'),
                    '--out', str(tmp_path / 'e'), '--gt', gt_path, '--aasce-smape', '--anterior', 'left',
                    '--plots', str(tmp_path / 'e_plots'))
    assert proc.returncode == 0, proc.stderr
    check = json.load(open(tmp_path / 'e' / 'uncertainty.json'))
    oracle90 = next(r['smape'] for r in check['oracle_retention'] if r['kept'] == 0.9)
    assert f'the best any ranking could keep {oracle90:.2f}%' in proc.stdout  # the bound the 90% row is read against
    ens = _read(tmp_path / 'e' / 'images.csv')
    for im, row, first in zip(gt['images'], ens, expected_pred):
        kps = [np.array(a['keypoints']).reshape(4, 3)[:, :2] for a in other if a['image_id'] == im['id']]
        (mt, pt, tl), _ = aasce_cobb_angles(np.array(kps), im['height'])
        for name, a, b in zip(('pt', 'mt', 'tl'), first, (pt, mt, tl)):
            # no keypoint_unc in these results: the uncertainty is the two models' spread, |a - b| / sqrt(2)
            assert float(row[f'cobb_{name}_deg']) == pytest.approx((a + b) / 2, abs=2e-3)
            assert float(row[f'cobb_{name}_deg_unc']) == pytest.approx(abs(a - b) / 2 ** 0.5, abs=2e-3)
        assert 'angles: mean of 2 of 2 models' in row['note']
    assert len(_read(tmp_path / 'e' / 'measurements.csv')) == len(results)  # the vertebrae are --input's
    proc = run_tool('tools/measure.py', '--input', str(res_path), '--ensemble', gt_path, '--out', str(tmp_path / 'g'))
    assert proc.returncode != 0 and 'not ground truth' in proc.stderr and 'Traceback' not in proc.stderr


@pytest.mark.parametrize('content, message', [
    ('[{"image_id": 1, "bbox": [0, 0, 1, 1], "score": 0.9, "keypoints": [NaN, 1, 1]}]', 'NaN/inf'),
    ('[{"image_id": 1, "bbox": [0, 0, 1, 1], "score": 0.9}]', 'no keypoints'),
    ('[{"image_id": 1, "bbox": [0, 0, 1, 1], "score": 0.9, "keypoints": [1, 1, 1, 2, 2, 1, 3, 3, 1]}]', 'K=3'),
    ('{"images": []}', 'neither a results list'),
    ('', 'not valid JSON'),
])
def test_bad_input_is_one_clear_line(tmp_path, content, message):
    path = tmp_path / 'bad.json'
    path.write_text(content)
    proc = run_tool('tools/measure.py', '--input', str(path), '--out', str(tmp_path / 'm'))
    assert proc.returncode == 2
    assert message in proc.stderr and 'Traceback' not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / 'm' / 'measurements.csv').exists()


def test_films_without_detections_get_a_review_row(synthetic_dir, tmp_path):
    """--films summary.csv (what inference.sh passes): a film the model found nothing on is measured as
    'no vertebrae' with QC review, not left out; a run with no detections at all still writes its files."""
    gt = json.load(open(os.path.join(synthetic_dir, 'det_train.json')))
    first = gt['images'][0]
    results = [{'image_id': first['id'], 'file_name': first['file_name'], 'category_id': 1, 'bbox': a['bbox'],
                'score': 0.9, 'keypoints': a['keypoints']} for a in gt['annotations'] if a['image_id'] == first['id']]
    summary = tmp_path / 'summary.csv'
    summary.write_text('image_id,file_name,status,num_vertebrae,boxes_xywh,keypoints\n'
                       f'{first["id"]},{first["file_name"]},ok,{len(results)},[],[]\n'
                       '77,empty.png,ok,0,[],[]\n78,broken.png,skipped,0,[],[]\n')
    for name, res in (('some', results), ('none', [])):
        (tmp_path / f'{name}.json').write_text(json.dumps(res))
        run_tool('tools/measure.py', '--input', str(tmp_path / f'{name}.json'), '--films', str(summary),
                 '--images-dir', synthetic_dir, '--out', str(tmp_path / name), '--anterior', 'left', check=True)
    rows = list(csv.DictReader(open(tmp_path / 'some' / 'images.csv')))
    assert [r['file_name'] for r in rows] == [first['file_name'], 'empty.png']  # skipped films have no row
    assert rows[0]['qc_status'] in ('ok', 'review') and rows[1]['qc_status'] == 'review'
    assert rows[1]['note'].startswith('no vertebrae') and 'no_vertebrae' in rows[1]['qc_reasons']
    none = list(csv.DictReader(open(tmp_path / 'none' / 'images.csv')))
    assert [r['file_name'] for r in none] == [first['file_name'], 'empty.png']  # by image id
    assert all(r['qc_status'] == 'review' for r in none)


def test_the_films_view_comes_from_the_model_config_unless_the_flag_says(synthetic_dir, tmp_path):
    """An AP model's config (``view = 'ap'``, as the AASCE configs) leaves the lateral-film measures out of
    measurements.csv and images.csv; ``--view lateral`` puts them back; a bad view is one line naming the config."""
    ann = os.path.join(synthetic_dir, 'det_train.json')
    (tmp_path / 'ap.py').write_text("view = 'ap'\n")
    (tmp_path / 'bad.py').write_text("view = 'sideways'\n")
    runs = {}
    for name, flags in {'plain': ['--anterior', 'left'], 'ap': ['--qc-config', str(tmp_path / 'ap.py')],
                        'lateral': ['--qc-config', str(tmp_path / 'ap.py'), '--view', 'lateral']}.items():
        proc = run_tool('tools/measure.py', '--input', ann, '--out', str(tmp_path / name), '--bottom-level', 'L5',
                        '--unc-samples', '0', *flags)
        assert proc.returncode == 0, proc.stderr
        runs[name] = _read(tmp_path / name / 'measurements.csv'), _read(tmp_path / name / 'images.csv')
    for name in ('plain', 'lateral'):
        rows, images = runs[name]
        assert all(r['genant_grade'] != '' for r in rows) and any(im['lordosis_deg'] for im in images)
    rows, images = runs['ap']
    assert all(r['genant_grade'] == r['meyerding_grade'] == r['slip_percent'] == '' for r in rows)
    assert all(im['lordosis_deg'] == '' and 'AP view' in im['note'] for im in images)
    # the side heights are still measured; on an AP film 'anterior' is the film's left side
    assert [r['wedge_ratio'] for r in rows] == [r['wedge_ratio'] for r in runs['plain'][0]]
    proc = run_tool('tools/measure.py', '--input', ann, '--out', str(tmp_path / 'x'), '--qc-config',
                    str(tmp_path / 'bad.py'))
    assert proc.returncode == 2 and proc.stderr.count('\n') == 1 and "bad.py: unknown film view 'sideways'" \
        in proc.stderr


def test_the_aasce_angles_come_from_the_model_config_unless_the_flag_says(synthetic_dir, tmp_path):
    """``aasce_angles = True`` (the AASCE configs) adds the AASCE angles and the 17-level QC count without
    --aasce, as make aasce scores them; --no-aasce leaves them out; a bad value is one line naming the config."""
    ann = os.path.join(synthetic_dir, 'det_train.json')
    (tmp_path / 'aasce.py').write_text("aasce_angles = True\n")
    (tmp_path / 'bad.py').write_text("aasce_angles = 'yes'\n")
    runs = {}
    for name, flags in {'plain': [], 'config': ['--qc-config', str(tmp_path / 'aasce.py')],
                        'flag': ['--aasce'], 'off': ['--qc-config', str(tmp_path / 'aasce.py'), '--no-aasce']}.items():
        proc = run_tool('tools/measure.py', '--input', ann, '--out', str(tmp_path / name), '--bottom-level', 'L5',
                        '--anterior', 'left', '--unc-samples', '0', *flags)
        assert proc.returncode == 0, proc.stderr
        runs[name] = _read(tmp_path / name / 'images.csv')
    for name in ('plain', 'off'):
        assert all(im['cobb_mt_deg'] == '' for im in runs[name])
        assert all('AP view' not in im['note'] for im in runs[name])  # no AASCE: measured as lateral
    for name in ('config', 'flag'):
        assert all(im['cobb_mt_deg'] != '' for im in runs[name]), name
        assert all('AP view' in im['note'] for im in runs[name])
    assert [im['cobb_mt_deg'] for im in runs['config']] == [im['cobb_mt_deg'] for im in runs['flag']]
    proc = run_tool('tools/measure.py', '--input', ann, '--out', str(tmp_path / 'x'), '--qc-config',
                    str(tmp_path / 'bad.py'))
    assert proc.returncode == 2 and proc.stderr.count('\n') == 1 and \
        "bad.py: aasce_angles must be True or False, got 'yes'" in proc.stderr
