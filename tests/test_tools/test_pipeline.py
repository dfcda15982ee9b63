"""The walking skeleton through the real CLIs: train a few iterations, infer, evaluate; bad input."""
import csv
import json
import os
import shutil

import pytest

from tests.conftest import DEMO_CONFIG, FEW_ITERS, ROOT, run_tool


def test_training_writes_a_loadable_checkpoint_and_tensorboard_logs(trained):
    assert os.path.isfile(trained['ckpt']) and trained['ckpt'].endswith('epoch_1.pth')
    from spinekey.io.checkpoint import load_checkpoint_file
    ckpt = load_checkpoint_file(trained['ckpt'])  # safe loader: no getattr / code in the pickle
    assert ckpt['meta']['iter'] == 5
    assert ckpt['meta']['dataset_meta']['keypoint_names'] == ['top_left', 'top_right', 'bottom_right',
                                                              'bottom_left']
    events = [f for _, _, fs in os.walk(trained['work']) for f in fs if f.startswith('events.out.tfevents')]
    assert events


def test_infer_and_evaluate_cli(trained, tmp_path):
    out = tmp_path / 'results.json'
    gt = os.path.join(trained['data'], 'det_test.json')
    run_tool('tools/infer.py', '--config', DEMO_CONFIG, '--checkpoint', trained['ckpt'], '--ann-file', gt,
             '--img-prefix', trained['data'], '--out', str(out), '--score-thr', '0', '--batch-size', '2',
             '--cfg-options', 'model.test_cfg.rcnn.score_thr=0.0', check=True)
    results = json.loads(out.read_text())
    assert results, 'an untrained model with score_thr 0 still returns its top boxes'
    image_ids = {im['id'] for im in json.load(open(gt))['images']}
    for r in results:
        assert r['image_id'] in image_ids and len(r['keypoints']) == 3 * 4
        assert set(r) >= {'file_name', 'bbox', 'score', 'segmentation', 'category_id'}
    proc = run_tool('tools/evaluate_keypoints.py', '--gt_file', gt, '--result_file', str(out),
                    '--output', str(tmp_path / 'report.txt'), check=True)
    metrics = json.loads((tmp_path / 'metrics.json').read_text())
    for key in ('PCK@0.05', 'PCK@0.1', 'PCK@0.2', 'EPE', 'AUC', 'bbox_AP', 'bbox_AP50', 'bbox_AP75', 'kpt_AP'):
        assert key in metrics and key in proc.stdout


def test_gt_as_results_evaluates_perfect(synthetic_dir, tmp_path):
    gt_path = os.path.join(synthetic_dir, 'det_train.json')
    gt = json.load(open(gt_path))
    results = [{'image_id': a['image_id'], 'category_id': 1, 'bbox': a['bbox'], 'score': 1.0,
                'keypoints': a['keypoints']} for a in gt['annotations']]
    (tmp_path / 'res.json').write_text(json.dumps(results))
    run_tool('tools/evaluate_keypoints.py', '--gt_file', gt_path, '--result_file', str(tmp_path / 'res.json'),
             '--output', str(tmp_path / 'r.txt'), check=True)
    m = json.loads((tmp_path / 'metrics.json').read_text())
    assert m['PCK@0.05'] == 1.0 and m['EPE'] == 0.0 and m['bbox_AP50'] == pytest.approx(1.0)


def test_images_dir_with_bad_and_non_image_files(trained, tmp_path):
    images = tmp_path / 'imgs'
    images.mkdir()
    shutil.copy(os.path.join(trained['data'], 'images', 'synth_000000.png'), images / 'a.png')
    (images / 'b broken.png').write_bytes(b'\x89PNG\r\n\x1a\n garbage')
    (images / 'notes.txt').write_text('not an image')
    import cv2
    small = cv2.resize(cv2.imread(str(images / 'a.png')), (300, 420))
    cv2.imwrite(str(images / 'c.jpg'), small)  # another size and format in the same batch
    (images / 'later').mkdir()
    shutil.copy(images / 'a.png', images / 'later' / 'd.png')  # beside the top level: run only with --recursive
    args = ['tools/infer.py', '--config', DEMO_CONFIG, '--checkpoint', trained['ckpt'], '--batch-size', '2',
            '--images-dir', str(images), '--out', str(tmp_path / 'out' / 'results.json'),
            '--cfg-options', 'model.test_cfg.rcnn.score_thr=0.0', '--score-thr', '0']
    proc = run_tool(*args)
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr
    assert 'b broken.png: not a readable image' in proc.stderr
    assert not (tmp_path / 'out' / 'results.json').exists()  # nothing half-written
    proc = run_tool(*args, '--skip-bad-images', check=True)
    assert 'skipping 1 non-image file' in proc.stderr
    assert '1 more sit in its sub-folders and are not run (pass --recursive' in proc.stderr
    assert 'b broken.png' in (tmp_path / 'out' / 'skipped.txt').read_text()
    results = json.loads((tmp_path / 'out' / 'results.json').read_text())
    assert {r['file_name'] for r in results} == {'a.png', 'c.jpg'}  # ids 0 and 2 in sorted file order
    assert {r['image_id'] for r in results} == {0, 2}
    # boxes of the smaller image are in its own pixels
    assert max(r['bbox'][0] + r['bbox'][2] for r in results if r['image_id'] == 2) <= 300 + 1


def test_a_nested_export_runs_with_recursive_and_never_reads_its_own_outputs(trained, tmp_path):
    """Films in patient sub-folders, with outputs (an earlier run's and this run's) inside the same folder."""
    films = tmp_path / 'films'
    source = os.path.join(trained['data'], 'images', 'synth_000000.png')
    for rel in ('PAT1/IM0001.png', 'PAT 2 (\u00fc)/IM0001.png', 'old run/vis/IM0001.png', 'new/vis/stray.png'):
        (films / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, films / rel)
    (films / 'old run' / 'results.json').write_text('[]')  # an earlier run's output folder
    args = ['tools/infer.py', '--config', DEMO_CONFIG, '--checkpoint', trained['ckpt'], '--images-dir', str(films),
            '--out', str(films / 'new' / 'results.json'), '--save-vis', str(films / 'new' / 'vis')]
    proc = run_tool(*args)
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr
    assert 'no images in the folder itself, 2 in its sub-folders (pass --recursive' in proc.stderr
    run_tool(*args, '--recursive', check=True)
    results = json.loads((films / 'new' / 'results.json').read_text())
    assert sorted({(r['image_id'], r['file_name']) for r in results}) == [(0, 'PAT 2 (\u00fc)/IM0001.png'),
                                                                            (1, 'PAT1/IM0001.png')]
    assert sorted(os.listdir(films / 'new' / 'vis')) == ['PAT 2 (\u00fc)', 'PAT1', 'stray.png']


@pytest.mark.parametrize('tool, args, message', [
    ('tools/train.py', ['configs/nope.py'], 'configs/nope.py: config file not found'),
    ('tools/infer.py', ['--config', DEMO_CONFIG, '--checkpoint', 'missing.pth', '--images-dir', 'tests',
                        '--out', '/tmp/x.json'], 'tests: no images to run on'),
    ('tools/evaluate_keypoints.py', ['--gt_file', 'nope.json', '--result_file', 'r.json', '--output', 'o.txt'],
     'nope.json: ground-truth file not found'),
])
def test_bad_input_is_one_clear_line(tool, args, message):
    proc = run_tool(tool, *args)
    assert proc.returncode == 2
    assert 'Traceback' not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == f'error: {message}'


def test_training_on_wrong_keypoint_count_is_one_line(synthetic_dir, tmp_path):
    coco = json.load(open(os.path.join(synthetic_dir, 'det_train.json')))
    coco['annotations'][0]['keypoints'] = coco['annotations'][0]['keypoints'][:6]
    for im in coco['images']:
        im['file_name'] = os.path.join(synthetic_dir, im['file_name'])
    (tmp_path / 'bad.json').write_text(json.dumps(coco))
    proc = run_tool('tools/train.py', DEMO_CONFIG, '--work-dir', str(tmp_path / 'w'), '--cfg-options',
                    'train_dataloader.dataset.data_root=', f'train_dataloader.dataset.ann_file={tmp_path}/bad.json',
                    *FEW_ITERS)
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith('error: ') and 'bad.json: annotation 1 has 6 keypoint values, expected 12' in last


def test_evaluate_refuses_unknown_image_and_nan(synthetic_dir, tmp_path):
    gt = os.path.join(synthetic_dir, 'det_val.json')
    for entry, message in [({'image_id': 999, 'bbox': [0, 0, 1, 1], 'score': 0.5, 'keypoints': [0] * 12},
                            'image_id 999 is not in the ground truth'),
                           ({'image_id': 1, 'bbox': [0, 0, 1, 1], 'score': float('nan')}, 'NaN/inf')]:
        (tmp_path / 'r.json').write_text(json.dumps([entry]))
        proc = run_tool('tools/evaluate_keypoints.py', '--gt_file', gt, '--result_file', str(tmp_path / 'r.json'),
                        '--output', str(tmp_path / 'o.txt'))
        assert proc.returncode == 2 and message in proc.stderr and 'Traceback' not in proc.stderr


def test_inference_sh_runs_the_whole_chain(trained, tmp_path):
    import subprocess
    import sys
    images = tmp_path / 'images'
    images.mkdir()
    gt = json.load(open(os.path.join(trained['data'], 'det_train.json')))
    for im in gt['images'][:2]:
        shutil.copy(os.path.join(trained['data'], im['file_name']), images)
    out = tmp_path / 'run out'
    env = dict(os.environ, PYTHON=sys.executable, PYTHONWARNINGS='ignore')
    # run from the data's folder, as a user calls the launcher from their project: relative paths are theirs,
    # the config's is the repository's (only it holds configs/...)
    proc = subprocess.run(['bash', os.path.join(ROOT, 'inference.sh'), '--images_dir', 'images',
                           '--ckpt', trained['ckpt'], '--cfg_det_path', os.path.relpath(DEMO_CONFIG, ROOT),
                           '--anns_path', os.path.join(trained['data'], 'det_train.json'), '--output_dir', 'run out',
                           '--device', 'cpu', '--score_thr', '0.0', '--measure', '--anterior', 'left',
                           '--flip_test', '--rotate_test', '3'],
                          cwd=tmp_path, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert not os.path.exists(os.path.join(ROOT, 'run out'))  # nothing written into the repository
    results = json.loads((out / 'results.json').read_text())
    rows = (out / 'measurements' / 'measurements.csv').read_text().splitlines()
    assert len(rows) == 1 + len(results) and rows[0].startswith('image_id,file_name,level,order,')
    measured = list(csv.DictReader(open(out / 'measurements' / 'measurements.csv')))
    assert any(r['height_anterior_mm'] for r in measured)  # spacing came from gts.json
    # flip and rotation test on: every detection has its keypoints' uncertainty and its QC; measurements their *_unc
    assert all(len(r['keypoint_unc']) == 4 and r['qc_status'] in ('ok', 'review') for r in results)
    assert all(r['height_anterior_px_unc'] != '' for r in measured if r['height_anterior_px'])
    assert any(float(r['height_anterior_px_unc']) > 0 for r in measured if r['height_anterior_px_unc'])
    images_csv = (out / 'measurements' / 'images.csv').read_text().splitlines()
    assert len(images_csv) == 3 and all(',left,' in line for line in images_csv[1:])
    gts = json.loads((out / 'gts.json').read_text())
    # --anns_path runs the annotated films with their own ids (the other 8 of det_train.json are missing here)
    first_two = sorted(im['id'] for im in gt['images'][:2])
    assert sorted(im['id'] for im in gts['images']) == first_two
    assert {im['file_name'] for im in gts['images']} == {im['file_name'] for im in gt['images'][:2]}
    iou = json.loads((out / 'iou_results.json').read_text())
    assert iou['iou_type'] == 'segm' and {im['image_id'] for im in iou['images']} == set(first_two)
    assert set(iou['images'][0]) == {'image_id', 'matches', 'missed_gt_ids', 'false_positive_indices'}
    metrics = json.loads((out / 'metrics.json').read_text())
    assert metrics['num_images'] == 2 and 'PCK@0.1' in metrics
    assert (out / 'evaluation_indicators.txt').read_text().startswith('SpineKey keypoint evaluation')
    assert (out / 'summary.csv').read_text().splitlines()[0].startswith('image_id,file_name,status')


def _inference_sh(trained, images, out, *extra):
    import subprocess
    import sys
    env = dict(os.environ, PYTHON=sys.executable, PYTHONWARNINGS='ignore')
    return subprocess.run(['bash', 'inference.sh', '--images_dir', str(images), '--ckpt', trained['ckpt'],
                           '--cfg_det_path', DEMO_CONFIG, '--output_dir', str(out), '--score_thr', '0.0',
                           '--batch_size', '1', *extra],
                          cwd=os.path.dirname(DEMO_CONFIG) + '/../..', capture_output=True, text=True, env=env)


def _same_detections(a, b, tol=0.05):
    """Each image's detections in ``a`` and ``b`` pair one-to-one with boxes and keypoints equal up to float
    rounding (thread counts differ). Paired by box, not by position: at --score_thr 0 near-tied low scores may
    swap places between the two runs."""
    for image_id in sorted({r['image_id'] for r in a}):
        left = [r for r in a if r['image_id'] == image_id]
        right = [r for r in b if r['image_id'] == image_id]
        assert len(left) == len(right), f'image {image_id}: {len(left)} vs {len(right)} detections'
        for ra in left:
            rb = min(right, key=lambda r: max(abs(x - y) for x, y in zip(ra['bbox'], r['bbox'])))
            right.remove(rb)
            assert ra['file_name'] == rb['file_name']
            assert ra['bbox'] == pytest.approx(rb['bbox'], abs=tol)
            assert ra['keypoints'] == pytest.approx(rb['keypoints'], abs=tol)
            assert ra['score'] == pytest.approx(rb['score'], abs=1e-3)


def test_inference_sh_writes_faint_detections_for_end_completion_and_measures_with_it(trained, tmp_path):
    """--complete_ends F: inference keeps detections down to F, matching and measuring still use --score_thr;
    --aasce reaches tools/measure.py."""
    images = tmp_path / 'images'
    images.mkdir()
    shutil.copy(os.path.join(trained['data'], 'images', 'synth_000000.png'), images)
    proc = _inference_sh(trained, images, tmp_path / 'out', '--score_thr', '0.3', '--complete_ends', '0.01',
                         '--measure', '--anterior', 'left', '--aasce')
    assert proc.returncode == 0, proc.stderr
    commands = [line for line in proc.stdout.splitlines() if line.startswith('+ ')]
    infer = next(c for c in commands if 'tools/infer.py' in c)
    measure = next(c for c in commands if 'tools/measure.py' in c)
    assert '--score-thr 0.01' in infer and '--score-thr 0.3' in measure and '--complete-ends 0.01' in measure
    results = json.loads((tmp_path / 'out' / 'results.json').read_text())
    assert results and min(r['score'] for r in results) >= 0.01
    rows = list(csv.DictReader(open(tmp_path / 'out' / 'measurements' / 'images.csv')))
    assert ' --aasce' in measure and rows and all(r['cobb_mt_deg'] != '' for r in rows)


def test_sharded_inference_equals_single_process(trained, tmp_path):
    images = os.path.join(trained['data'], 'images')
    single = _inference_sh(trained, images, tmp_path / 'one', '--device', 'cpu')
    assert single.returncode == 0, single.stderr
    sharded = _inference_sh(trained, images, tmp_path / 'two', '--cpu', '--nproc', '2', '--save_vis')
    assert sharded.returncode == 0, sharded.stderr
    assert 'torch.distributed.run' in sharded.stdout and '(2 processes)' in sharded.stdout
    a = json.loads((tmp_path / 'one' / 'results.json').read_text())
    b = json.loads((tmp_path / 'two' / 'results.json').read_text())
    assert [r['image_id'] for r in a] == [r['image_id'] for r in b] and len(a) > 0
    _same_detections(a, b)
    vis = sorted(os.listdir(tmp_path / 'two' / 'vis'))
    assert vis == sorted(os.listdir(images))  # one overlay per image
    # two machines (here two launchers on localhost): node 1 infers its share, node 0 merges and writes
    import subprocess
    import sys
    port = _free_port()
    nodes = ['--cpu', '--nnodes', '2', '--master-addr', '127.0.0.1', '--port', str(port)]
    worker = subprocess.Popen(['bash', 'inference.sh', '--images_dir', str(images), '--ckpt', trained['ckpt'],
                               '--cfg_det_path', DEMO_CONFIG, '--output_dir', str(tmp_path / 'nodes'),
                               '--score_thr', '0.0', '--batch_size', '1', *nodes, '--node-rank', '1'],
                              cwd=os.path.dirname(DEMO_CONFIG) + '/../..', stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env=dict(os.environ, PYTHON=sys.executable))
    main = _inference_sh(trained, images, tmp_path / 'nodes', *nodes, '--node-rank', '0')
    worker_out = worker.communicate(timeout=300)[0]
    assert main.returncode == 0 and worker.returncode == 0, main.stderr + worker_out
    assert 'node 1 done' in worker_out and '(2 processes)' in main.stdout
    c = json.loads((tmp_path / 'nodes' / 'results.json').read_text())
    assert [r['image_id'] for r in c] == [r['image_id'] for r in a]
    _same_detections(a, c)


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_generate_indicators_reruns_evaluation_only(trained, tmp_path):
    import subprocess
    import sys
    out = tmp_path / 'out'
    out.mkdir()
    gt = json.load(open(os.path.join(trained['data'], 'det_val.json')))
    res = [{'image_id': a['image_id'], 'category_id': 1, 'bbox': a['bbox'], 'score': 1.0,
            'keypoints': a['keypoints']} for a in gt['annotations']]
    (out / 'results.json').write_text(json.dumps(res))
    (out / 'gts.json').write_text(json.dumps(gt))
    proc = subprocess.run(['bash', 'tools/generate_indicators.sh', str(out), '--iou_type', 'bbox'],
                          cwd=os.path.dirname(DEMO_CONFIG) + '/../..', capture_output=True, text=True,
                          env=dict(os.environ, PYTHON=sys.executable))
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((out / 'metrics.json').read_text())
    assert metrics['PCK@0.05'] == 1.0 and metrics['EPE'] == 0.0
    assert json.loads((out / 'iou_results.json').read_text())['iou_type'] == 'bbox'


def test_evaluate_writes_plots_and_per_image_csv(synthetic_dir, tmp_path):
    gt_path = os.path.join(synthetic_dir, 'det_train.json')
    gt = json.load(open(gt_path))
    results = []
    for a in gt['annotations']:
        kps = list(a['keypoints'])
        kps[0] += 2.0  # 2 px error on the first keypoint of every vertebra
        results.append({'image_id': a['image_id'], 'category_id': 1, 'bbox': a['bbox'], 'score': 0.9,
                        'keypoints': kps})
    (tmp_path / 'res.json').write_text(json.dumps(results))
    run_tool('tools/evaluate_keypoints.py', '--gt_file', gt_path, '--result_file', str(tmp_path / 'res.json'),
             '--output', str(tmp_path / 'r.txt'), '--plots', str(tmp_path / 'plots'), '--img-prefix', synthetic_dir,
             check=True)
    plots = sorted(os.listdir(tmp_path / 'plots'))
    assert 'pck_curve.png' in plots and 'error_histograms.png' in plots
    assert len([p for p in plots if p.startswith('worst_')]) == len(gt['images'])  # 10 images <= 10 worst
    rows = (tmp_path / 'per_image.csv').read_text().splitlines()
    assert rows[0].startswith('image_id,file_name,num_gt') and len(rows) == len(gt['images']) + 1
    m = json.loads((tmp_path / 'metrics.json').read_text())
    assert m['per_keypoint']['top_left']['EPE'] == pytest.approx(2.0, abs=0.01)
    assert m['per_keypoint']['top_right']['EPE'] == 0.0
    assert m['MRE_mm'] == pytest.approx(2.0 * 0.3 / 4, abs=0.01)  # spacing 0.3 mm, one of four keypoints
