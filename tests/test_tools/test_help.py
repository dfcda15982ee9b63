import subprocess

import pytest

from tests.conftest import ROOT, run_tool

TOOLS = ['train.py', 'infer.py', 'evaluate_keypoints.py', 'convert_gt.py', 'match_iou.py', 'make_synthetic.py',
         'visualize.py', 'benchmark.py', 'test.py', 'report.py',
         'export_annotations.py', 'stage1_errors.py', 'refine.py', 'check_column_ends.py', 'check_level_chain.py']


@pytest.mark.parametrize('tool', TOOLS)
def test_every_tool_has_help(tool):
    proc = run_tool(f'tools/{tool}', '--help')
    assert proc.returncode == 0 and 'usage:' in proc.stdout and '--' in proc.stdout


@pytest.mark.parametrize('script', ['train.sh', 'inference.sh', 'tools/generate_indicators.sh'])
def test_every_launcher_has_help(script):
    proc = subprocess.run(['bash', script, '--help'], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0 and 'Usage' in proc.stdout


def test_launchers_name_the_flag_to_set():
    proc = subprocess.run(['bash', 'inference.sh', '--images_dir', 'tests', '--ckpt', 'nope.pth'], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 2 and 'checkpoint not found: nope.pth (set --ckpt)' in proc.stderr
    proc = subprocess.run(['bash', 'inference.sh', '--images_dir', 'README.md'], cwd=ROOT, capture_output=True,
                          text=True)
    assert proc.returncode == 2 and proc.stderr == ('inference.sh: --images_dir README.md is a file; give the folder '
                                                    'that holds the films (one film: a folder of its own)\n')
    proc = subprocess.run(['bash', 'train.sh', '--gpus', '0', '--config', 'configs/spinekey/spinekey_demo_cpu.py'],
                          cwd=ROOT, capture_output=True, text=True, env={'PATH': '/usr/bin:/bin',
                                                                          'PYTHON': 'python3'})
    assert proc.returncode == 2 and 'use --cpu' in proc.stderr


@pytest.mark.parametrize('extra, words', [
    ([], '--complete_ends completes the measured column; add --measure'),
    (['--measure', '--score_thr', '0.2'], '--complete_ends 0.3 must be a number above 0 and under --score_thr 0.2')])
def test_inference_sh_refuses_end_completion_it_cannot_do(extra, words):
    proc = subprocess.run(['bash', 'inference.sh', '--images_dir', 'tests', '--ckpt', 'README.md', '--complete_ends',
                           '0.3', *extra], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr == f'inference.sh: {words}\n'


@pytest.mark.parametrize('script, flag', [('inference.sh', '--rotate_test'), ('inference.sh', '--ckpt'),
                                          ('train.sh', '--config'), ('train.sh', '--workers')])
def test_a_flag_without_its_value_is_one_line(script, flag):
    proc = subprocess.run(['bash', script, flag], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr == f'{script}: {flag} needs a value (see --help)\n'


def test_visualize_pipeline_draws_augmented_samples(synthetic_dir, tmp_path):
    import cv2

    from tests.conftest import run_tool
    out = tmp_path / 'aug.jpg'
    proc = run_tool('tools/visualize.py', '--pipeline', 'configs/spinekey/spinekey_cascade-mask-rcnn_r50_fpn_24e.py',
                    '--data-root', synthetic_dir, '--num', '2', '--repeats', '3', '--out', str(out))
    assert proc.returncode == 0, proc.stderr
    sheet = cv2.imread(str(out))
    assert sheet.shape[0] > 2 * 400 and sheet.shape[1] > 3 * 300  # 2 rows of 3 augmented 512x384 draws


def test_train_sh_from_another_folder_takes_paths_as_typed_there(tmp_path):
    """bash ~/SpineKey/train.sh from a project folder: relative paths are that folder's (the config, which only
    the repository holds, stays the repository's); the launcher's command is echoed, run by a stand-in Python."""
    import os
    fake = tmp_path / 'fakepy'
    fake.write_text('#!/bin/bash\necho "RAN $*"\n')
    fake.chmod(0o755)
    (tmp_path / 'my_spine').mkdir()
    proc = subprocess.run(['bash', os.path.join(ROOT, 'train.sh'), '--cpu', '--config',
                           'configs/spinekey/spinekey_demo_cpu.py', '--work-dir', 'wd', '--resume', 'ck.pth',
                           '--cfg-options', 'train_dataloader.dataset.data_root=my_spine/',
                           'train_dataloader.dataset.ann_file=fold0_train.json', 'load_from=/abs/x.pth',
                           'val_dataloader.dataset.data_root=None'],
                          cwd=tmp_path, capture_output=True, text=True, env=dict(os.environ, PYTHON=str(fake)))
    assert proc.returncode == 0, proc.stderr
    ran = next(line for line in proc.stdout.splitlines() if line.startswith('RAN tools/train.py'))
    assert ran.split() == ['RAN', 'tools/train.py', 'configs/spinekey/spinekey_demo_cpu.py', '--work-dir',
                           f'{tmp_path}/wd', '--resume', f'{tmp_path}/ck.pth', '--cfg-options',
                           f'train_dataloader.dataset.data_root={tmp_path}/my_spine/',
                           'train_dataloader.dataset.ann_file=fold0_train.json', 'load_from=/abs/x.pth',
                           'val_dataloader.dataset.data_root=None', 'env_cfg.dist_cfg.backend=gloo']
