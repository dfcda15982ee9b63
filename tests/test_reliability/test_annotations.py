"""Annotation and results faults: one line naming the file, the entry and the problem, through every tool
that reads them; warnings become errors with --strict; never a traceback."""
import copy
import json
import os

import pytest

from tests.conftest import run_tool


def _gt(synthetic_dir):
    return json.load(open(os.path.join(synthetic_dir, 'det_val.json')))


def _mutations(gt):
    """name -> (mutated COCO or raw text, expected phrase, is_warning)."""
    out = {}
    g = copy.deepcopy(gt)
    out['invalid_json'] = ('{"images": [', 'not valid JSON', False)
    for key in ('images', 'annotations', 'categories'):
        g = copy.deepcopy(gt)
        del g[key]
        out[f'missing_{key}'] = (g, f'missing "{key}" list', False)
    g = copy.deepcopy(gt)
    g['images'].append(dict(g['images'][0]))
    out['duplicate_image_id'] = (g, f'image id {g["images"][0]["id"]} appears more than once', False)
    g = copy.deepcopy(gt)
    g['annotations'][0]['image_id'] = 99999
    out['unknown_image'] = (g, f'annotation {g["annotations"][0]["id"]} refers to unknown image 99999', False)
    g = copy.deepcopy(gt)
    g['annotations'][1]['keypoints'] = g['annotations'][1]['keypoints'][:9]
    out['wrong_k'] = (g, f'annotation {g["annotations"][1]["id"]} has 9 keypoint values, expected 12', False)
    g = copy.deepcopy(gt)
    g['annotations'][2]['keypoints'][0] = float('nan')
    out['nan'] = (g, f'annotation {g["annotations"][2]["id"]} has NaN/inf', False)
    g = copy.deepcopy(gt)
    g['annotations'][2]['keypoints'][1] = float('inf')
    out['inf'] = (g, 'NaN/inf', False)
    g = copy.deepcopy(gt)
    g['categories'].append(dict(g['categories'][0], id=2, name='other', keypoints=['a', 'b']))
    out['mixed_k'] = (g, 'different keypoint counts', False)
    g = copy.deepcopy(gt)
    g['annotations'][3]['bbox'][2] = 0
    out['zero_box'] = (g, f'annotation {g["annotations"][3]["id"]} has a box of zero size', True)
    g = copy.deepcopy(gt)
    g['annotations'][4]['keypoints'][0] = -5.0
    out['negative_keypoint'] = (g, f'annotation {g["annotations"][4]["id"]}: keypoint 0 (-5.0', True)
    g = copy.deepcopy(gt)
    g['annotations'][4]['keypoints'][3] = 5000.0
    out['outside_keypoint'] = (g, 'lies outside the image', True)
    return out


def _write(path, content):
    path.write_text(content if isinstance(content, str) else json.dumps(content).replace('NaN', 'NaN'))


def test_every_annotation_fault_is_one_line_naming_file_and_entry(synthetic_dir, tmp_path, capsys):
    from spinekey.io.coco_files import load_coco_gt
    from spinekey.utils.errors import SpineKeyError
    handled = 0
    for name, (content, phrase, is_warning) in _mutations(_gt(synthetic_dir)).items():
        path = tmp_path / f'{name}.json'
        _write(path, content)
        for strict in ([False, True] if is_warning else [False]):
            if is_warning and not strict:
                load_coco_gt(str(path))
                warnings = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith('warning:')]
                assert len(warnings) == 1 and phrase in warnings[0] and str(path) in warnings[0], name
            else:
                with pytest.raises(SpineKeyError) as err:
                    load_coco_gt(str(path), strict=strict)
                message = str(err.value)
                assert phrase in message and message.startswith(str(path)) and '\n' not in message, name
            handled += 1
    assert handled == 16  # 10 errors, 3 warnings each also under --strict


@pytest.mark.parametrize('tool', ['evaluate', 'measure'])
def test_tools_print_one_line_and_no_traceback(synthetic_dir, tmp_path, tool):
    gt = _gt(synthetic_dir)
    results = tmp_path / 'results.json'
    results.write_text(json.dumps([{'image_id': a['image_id'], 'category_id': 1, 'bbox': a['bbox'], 'score': 0.9,
                                    'keypoints': a['keypoints']} for a in gt['annotations']]))
    mutations = _mutations(gt)
    for name, strict, code in (('wrong_k', False, 2), ('outside_keypoint', False, 0), ('outside_keypoint', True, 2)):
        content, phrase, _ = mutations[name]
        path = tmp_path / f'{name}.json'
        _write(path, content)
        extra = ['--strict'] if strict else []
        if tool == 'evaluate':
            args = ['tools/evaluate_keypoints.py', '--gt_file', str(path), '--result_file', str(results),
                    '--output', str(tmp_path / name / 'report.txt'), *extra]
        else:
            args = ['tools/measure.py', '--input', str(path), '--out', str(tmp_path / name), '--anterior', 'left',
                    *extra]
        proc = run_tool(*args)
        assert proc.returncode == code and 'Traceback' not in proc.stderr, (name, proc.stderr[-500:])
        flagged = [ln for ln in proc.stderr.splitlines() if ln.startswith('error:' if code else 'warning:')]
        assert len(flagged) == 1 and phrase in flagged[0], (name, proc.stderr[-500:])


def test_annotation_faults_stop_training_up_front(synthetic_dir, tmp_path):
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules

    import spinekey  # noqa: F401
    from spinekey.utils.errors import SpineKeyError
    register_all_modules()
    gt = _gt(synthetic_dir)
    for name, (content, phrase, is_warning) in _mutations(gt).items():
        path = tmp_path / f'{name}.json'
        _write(path, content)
        cfg = dict(type='SpineCocoDataset', data_root=synthetic_dir + '/', ann_file=str(path),
                   data_prefix=dict(img=''), pipeline=[])
        if is_warning:
            DATASETS.build(cfg)  # a warning only
            cfg['strict'] = True
        with pytest.raises(SpineKeyError, match=None) as err:
            DATASETS.build(cfg)
        assert phrase in str(err.value) and str(path) in str(err.value), (name, str(err.value))


@pytest.mark.parametrize('content, phrase', [
    ('', 'not valid JSON'),
    ('[]', 'no images to measure'),
    ('[{"image_id": 1, "bbox": [0, 0, 5, 5], "score": 0.9, "keypoints": [NaN, 1, 1, 2, 2, 1, 3, 3, 1, 4, 4, 1]}]',
     'NaN/inf'),
    ('[{"image_id": 1, "score": 0.9}]', 'has no "bbox"'),
])
def test_results_faults(synthetic_dir, tmp_path, content, phrase):
    path = tmp_path / 'results.json'
    path.write_text(content)
    gt = os.path.join(synthetic_dir, 'det_val.json')
    for args in (['tools/measure.py', '--input', str(path), '--out', str(tmp_path / 'm')],
                 ['tools/evaluate_keypoints.py', '--gt_file', gt, '--result_file', str(path), '--output',
                  str(tmp_path / 'e' / 'r.txt')]):
        proc = run_tool(*args)
        if phrase == 'no images to measure' and 'evaluate' in args[0]:
            assert proc.returncode == 0  # an empty results list is a valid (all-zero) evaluation
            continue
        assert proc.returncode == 2 and 'Traceback' not in proc.stderr, proc.stderr[-300:]
        assert phrase in proc.stderr.strip().splitlines()[-1]


def test_unknown_image_ids_in_results_are_reported(synthetic_dir, tmp_path):
    gt = _gt(synthetic_dir)
    res = [{'image_id': 424242, 'category_id': 1, 'bbox': [0, 0, 5, 5], 'score': 0.9, 'keypoints': [1, 1, 1] * 4}]
    path = tmp_path / 'results.json'
    path.write_text(json.dumps(res))
    proc = run_tool('tools/evaluate_keypoints.py', '--gt_file', os.path.join(synthetic_dir, 'det_val.json'),
                    '--result_file', str(path), '--output', str(tmp_path / 'e' / 'r.txt'))
    assert 'Traceback' not in proc.stderr
    assert proc.returncode == 2 and '424242' in proc.stderr.strip().splitlines()[-1]
    assert len(gt['images']) > 0
