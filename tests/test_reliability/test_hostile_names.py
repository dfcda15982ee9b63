"""Names from the data never escape the output folder: every tool that writes per-film files, fed hostile
file names, changes nothing outside its output folder and writes one distinct file per film."""
import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import DEMO_CONFIG, ROOT, run_tool

NAMES = ['../../x.png', 'a/../../x.png', 'new\nline.png', 'p/x.png', 'q/x.png']  # + one absolute path


def _tree_hashes(folder, skip):
    out = {}
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in skip]
        for name in files:
            path = os.path.join(root, name)
            out[path] = hashlib.sha256(open(path, 'rb').read()).hexdigest()
    return out


@pytest.fixture
def hostile(synthetic_dir, tmp_path):
    """world/root/d1/d2 is the images folder; the COCO file names films above it, below it, by an absolute
    path, with a newline, and two films called x.png in different folders; one listed film is missing."""
    world = tmp_path / 'world'
    d2 = world / 'root' / 'd1' / 'd2'
    (d2 / 'a').mkdir(parents=True)
    coco = json.load(open(os.path.join(synthetic_dir, 'det_train.json')))
    first = coco['images'][0]
    anns = [a for a in coco['annotations'] if a['image_id'] == first['id']]
    source = os.path.join(synthetic_dir, first['file_name'])
    abs_film = world / 'abs' / 'x.png'
    names = NAMES + [str(abs_film)]
    images, annotations = [], []
    for i, name in enumerate(names + ['gone\nfilm.png']):
        if name != 'gone\nfilm.png':
            target = os.path.normpath(os.path.join(d2, name)) if not os.path.isabs(name) else name
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy(source, target)
        images.append(dict(first, id=i + 1, file_name=name))
        annotations += [dict(a, id=100 * (i + 1) + j, image_id=i + 1) for j, a in enumerate(anns)]
    gt = world / 'gt.json'
    gt.write_text(json.dumps(dict(coco, images=images, annotations=annotations)))
    return {'world': world, 'images': d2, 'gt': gt, 'n_films': len(names)}


def _check_untouched(hostile, before, out):
    after = _tree_hashes(str(hostile['world']), {str(out)})
    assert after == before, 'a file outside the output folder was created or changed'


def test_hostile_names_through_every_per_film_writer(hostile, untrained_checkpoint, tmp_path):
    out = hostile['world'] / 'out'  # inside the world: every escape would show in the hashes
    before = _tree_hashes(str(hostile['world']), {str(out)})
    run_tool('tools/infer.py', '--config', DEMO_CONFIG, '--checkpoint', untrained_checkpoint, '--ann-file',
             str(hostile['gt']), '--images-dir', str(hostile['images']), '--out', str(out / 'results.json'),
             '--save-vis', str(out / 'vis'), '--score-thr', '0.3', check=True)
    _check_untouched(hostile, before, out)
    vis = [os.path.join(r, f) for r, _, fs in os.walk(out / 'vis') for f in fs]
    assert len(vis) == hostile['n_films']  # one distinct overlay per film, none overwriting another
    skipped = (out / 'skipped.txt').read_text().splitlines()
    assert skipped == ['gone\\nfilm.png: listed in ' + str(hostile['gt']) + ' but not found in '
                       + str(hostile['images'])]
    run_tool('tools/measure.py', '--input', str(out / 'results.json'), '--images-dir', str(hostile['images']),
             '--out', str(out / 'measure'), '--save_vis', '--bottom-level', 'L5', check=True)
    assert len(os.listdir(out / 'measure' / 'vis')) == hostile['n_films']
    # the worst-film overlays need matches: ground truth moved by 1 px stands in for a trained model
    gt = json.loads(hostile['gt'].read_text())
    shifted = [{'image_id': a['image_id'], 'category_id': 1, 'bbox': a['bbox'], 'score': 0.9,
                'keypoints': [v + 1 if i % 3 == 0 else v for i, v in enumerate(a['keypoints'])]}
               for a in gt['annotations']]
    (out / 'shifted.json').write_text(json.dumps(shifted))
    names = {im['id']: im['file_name'] for im in gt['images']}
    present = [dict(r, file_name=names[r['image_id']]) for r in shifted if names[r['image_id']] != 'gone\nfilm.png']
    (out / 'shifted_named.json').write_text(json.dumps(present))  # results of the films that exist
    run_tool('tools/evaluate_keypoints.py', '--gt_file', str(hostile['gt']), '--result_file',
             str(out / 'shifted.json'), '--output', str(out / 'eval' / 'report.txt'), '--plots',
             str(out / 'eval' / 'plots'), '--img-prefix', str(hostile['images']), check=True)
    worst = [f for f in os.listdir(out / 'eval' / 'plots') if f.startswith('worst_')]
    assert len(worst) == hostile['n_films']  # the missing film is told on stderr, the rest are drawn
    run_tool('tools/report.py', str(out), check=True)  # thumbnails named after the films
    assert len(os.listdir(out / 'report_files' / 'thumbs')) == hostile['n_films']
    run_tool('tools/export_annotations.py', '--results', str(out / 'shifted_named.json'), '--to', 'labelme',
             '--out', str(out / 'labelme'), '--images-dir', str(hostile['images']), check=True)
    assert len(os.listdir(out / 'labelme')) == hostile['n_films']  # one labelme file per film, none shared
    _check_untouched(hostile, before, out)


def test_hostile_names_through_inference_sh(hostile, untrained_checkpoint):
    out = hostile['world'] / 'out_sh'
    before = _tree_hashes(str(hostile['world']), {str(out)})
    proc = subprocess.run(['bash', 'inference.sh', '--images_dir', str(hostile['images']), '--anns_path',
                           str(hostile['gt']), '--ckpt', untrained_checkpoint, '--cfg_det_path', DEMO_CONFIG,
                           '--output_dir', str(out), '--cpu', '--save_vis', '--measure'],
                          cwd=ROOT, capture_output=True, text=True, env=dict(os.environ, PYTHON=sys.executable))
    assert proc.returncode == 0, proc.stderr[-2000:]
    _check_untouched(hostile, before, out)
    assert len([f for _, _, fs in os.walk(out / 'vis') for f in fs]) == hostile['n_films']


def test_an_overlay_never_replaces_its_film(synthetic_dir, untrained_checkpoint, tmp_path):
    """--save-vis pointed at the images folder itself: refused in one line, the films unchanged."""
    films = tmp_path / 'films'
    shutil.copytree(os.path.join(synthetic_dir, 'images'), films)
    before = _tree_hashes(str(films), set())
    proc = run_tool('tools/infer.py', '--config', DEMO_CONFIG, '--checkpoint', untrained_checkpoint,
                    '--images-dir', str(films), '--out', str(tmp_path / 'r.json'), '--save-vis', str(films))
    assert proc.returncode == 2 and 'an overlay would overwrite the input film' in proc.stderr
    assert 'Traceback' not in proc.stderr and _tree_hashes(str(films), set()) == before
