"""The original SpineKey's data layout: every image in one folder, the test subset in a COCO file."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import DEMO_CONFIG, ROOT


@pytest.fixture
def seed_layout(trained, tmp_path):
    """full/images holds all 12 films (train, val and test); det_test.json lists 3 of them plus one film that
    is not in the folder."""
    data = trained['data']
    images = tmp_path / 'full' / 'images'
    images.mkdir(parents=True)
    for name in os.listdir(os.path.join(data, 'images')):
        shutil.copy(os.path.join(data, 'images', name), images / name)
    coco = json.load(open(os.path.join(data, 'det_train.json')))
    keep = [im for im in coco['images']][:3]
    for im in keep:
        im['file_name'] = os.path.basename(im['file_name'])  # the seed's files name the film only
    gone = dict(keep[0], id=999, file_name='gone.png')
    coco['images'] = keep + [gone]
    ids = {im['id'] for im in keep}
    coco['annotations'] = [a for a in coco['annotations'] if a['image_id'] in ids]
    (tmp_path / 'full' / 'det_test.json').write_text(json.dumps(coco))
    return {'images': images, 'ann': tmp_path / 'full' / 'det_test.json', 'ids': ids, 'ckpt': trained['ckpt']}


def _inference_sh(*args, env=None):
    return subprocess.run(['bash', 'inference.sh', '--cfg_det_path', DEMO_CONFIG, '--cpu', *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, PYTHON=sys.executable, **(env or {})))


def test_seed_layout_runs_exactly_the_annotated_films_and_evaluates_them(seed_layout, tmp_path):
    out = tmp_path / 'out'
    proc = _inference_sh('--images_dir', seed_layout['images'], '--anns_path', seed_layout['ann'],
                         '--ckpt', seed_layout['ckpt'], '--output_dir', out, '--score_thr', '0.0', '--measure')
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'left out 9 image(s)' in proc.stderr and 'running on the 3 it lists' in proc.stderr
    assert '1 image(s) listed in' in proc.stderr
    assert 'gone.png: listed in' in (out / 'skipped.txt').read_text()
    results = json.loads((out / 'results.json').read_text())
    assert results and {r['image_id'] for r in results} <= seed_layout['ids']
    gts = json.loads((out / 'gts.json').read_text())
    assert {im['id'] for im in gts['images']} == {r['image_id'] for r in results}
    metrics = json.loads((out / 'metrics.json').read_text())
    assert metrics['num_images'] == len(gts['images'])
    assert (out / 'evaluation_indicators.txt').is_file() and (out / 'measurements' / 'images.csv').is_file()


def test_a_coco_file_whose_films_are_elsewhere_is_one_line(seed_layout, tmp_path):
    empty = tmp_path / 'empty'
    empty.mkdir()
    proc = _inference_sh('--images_dir', empty, '--anns_path', seed_layout['ann'], '--ckpt', seed_layout['ckpt'],
                         '--output_dir', tmp_path / 'out')
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr
    assert f'error: {seed_layout["ann"]}: none of its 4 images is in {empty}' in proc.stderr


def test_tools_one_by_one_name_both_counts_and_the_flag(seed_layout, tmp_path):
    """Results of the whole folder against the 3-film GT: match_iou names the counts and --common-images."""
    from tests.conftest import run_tool
    out = tmp_path / 'out'
    run_tool('tools/infer.py', '--config', DEMO_CONFIG, '--checkpoint', seed_layout['ckpt'], '--images-dir',
             str(seed_layout['images']), '--out', str(out / 'results.json'), '--score-thr', '0',
             '--cfg-options', 'model.test_cfg.rcnn.score_thr=0.0', check=True)
    proc = run_tool('tools/convert_gt.py', '--anns', str(seed_layout['ann']), '--results', str(out / 'results.json'),
                    '--out', str(out / 'gts.json'), check=True)
    assert '9 of the 12 result images have no ground truth' in proc.stderr and '--common-images' in proc.stderr
    args = ['--gt_file', str(out / 'gts.json'), '--result_file', str(out / 'results.json')]
    proc = run_tool('tools/match_iou.py', *args, '--out', str(out / 'iou.json'))
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr
    assert 'the results cover 12 images, the ground truth 3, and 9 result image(s) have none' in proc.stderr
    assert '--common-images' in proc.stderr
    run_tool('tools/match_iou.py', *args, '--out', str(out / 'iou.json'), '--common-images', check=True)
    proc = run_tool('tools/evaluate_keypoints.py', *args, '--iou_results', str(out / 'iou.json'),
                    '--output', str(out / 'report.txt'), check=True)
    assert 'evaluating the 3 images both files cover' in proc.stdout
    assert json.loads((out / 'metrics.json').read_text())['num_images'] == 3


@pytest.mark.parametrize('script', ['inference.sh', 'train.sh'])
def test_launchers_resolve_a_bare_interpreter_name(script, tmp_path):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    (bin_dir / 'mypython').write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    (bin_dir / 'mypython').chmod(0o755)
    env = dict(os.environ, PATH=f'{bin_dir}:{os.environ["PATH"]}', PYTHON='mypython')
    args = ['--images_dir', 'nope/'] if script == 'inference.sh' else ['--config', 'nope.py']
    proc = subprocess.run(['bash', script, *args], cwd=ROOT, capture_output=True, text=True, env=env)
    assert f'using {bin_dir}/mypython (Python 3.' in proc.stderr
    proc = subprocess.run(['bash', script, *args], cwd=ROOT, capture_output=True, text=True,
                          env=dict(env, PYTHON='no-such-python'))
    assert proc.returncode == 2 and 'PYTHON=no-such-python is not an executable' in proc.stderr
