"""Splits keep patients together, follow the ratios, balance strata and are fixed by the seed."""
import json
import os

from spinekey.converters.splits import assign_groups
from tests.conftest import run_tool


def test_ratios_strata_and_seed():
    sizes = {f'p{i}': 1 + i % 3 for i in range(60)}
    strata = {g: ('metal' if i % 4 == 0 else 'none') for i, g in enumerate(sizes)}
    a = assign_groups(sizes, strata, [0.8, 0.2], seed=1)
    assert a == assign_groups(sizes, strata, [0.8, 0.2], seed=1)
    assert a != assign_groups(sizes, strata, [0.8, 0.2], seed=2)
    for stratum in ('metal', 'none'):
        total = sum(s for g, s in sizes.items() if strata[g] == stratum)
        val = sum(s for g, s in sizes.items() if strata[g] == stratum and a[g] == 1)
        assert abs(val - 0.2 * total) <= 3


def test_make_split_tool_never_splits_a_patient(tmp_path):
    images = [{'id': i, 'file_name': f'{i}.png', 'patient_id': f'p{i // 3}'} for i in range(30)]
    anns = [{'id': i, 'image_id': i, 'category_id': 1, 'bbox': [0, 0, 1, 1]} for i in range(30)]
    src = tmp_path / 'all.json'
    src.write_text(json.dumps({'images': images, 'annotations': anns, 'categories': [{'id': 1, 'name': 'v'}]}))
    out = tmp_path / 'split'
    proc = run_tool('tools/make_split.py', '--ann', str(src), '--out-dir', str(out), '--folds', '5', '--seed', '0')
    assert proc.returncode == 0, proc.stderr
    seen = {}
    for k in range(5):
        val = json.load(open(out / f'fold{k}_val.json'))
        train = json.load(open(out / f'fold{k}_train.json'))
        assert len(val['images']) + len(train['images']) == 30
        assert not {im['patient_id'] for im in val['images']} & {im['patient_id'] for im in train['images']}
        for im in val['images']:
            assert im['id'] not in seen
            seen[im['id']] = k
        assert {a['image_id'] for a in val['annotations']} == {im['id'] for im in val['images']}
    assert len(seen) == 30
    record = json.load(open(out / 'split.json'))
    assert sorted(sum(record['parts'].values(), [])) == sorted(im['file_name'] for im in images)
    ratios = run_tool('tools/make_split.py', '--ann', str(src), '--out-dir', str(out), '--ratios', 'train=0.7,val=0.3')
    assert ratios.returncode == 0 and os.path.exists(out / 'train.json') and os.path.exists(out / 'val.json')
    bad = run_tool('tools/make_split.py', '--ann', str(src), '--out-dir', str(out), '--ratios', 'train:0.7')
    assert bad.returncode == 2 and 'name=fraction' in bad.stderr
