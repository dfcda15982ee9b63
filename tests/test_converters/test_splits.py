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


def test_k_folds_from_python_keep_films_without_a_patient_id_whole():
    from spinekey.converters.splits import k_folds, split_parts
    # 12 films: 8 of 4 patients (2 each), 4 without patient_id (each its own group, by file name)
    images = [dict({'id': i, 'file_name': f'{i}.png'}, **({'patient_id': f'p{i // 2}'} if i < 8 else {}))
              for i in range(12)]
    coco = {'images': images, 'annotations': [{'id': i, 'image_id': i, 'category_id': 1, 'bbox': [0, 0, 1, 1]}
                                              for i in range(12)], 'categories': [{'id': 1, 'name': 'v'}]}
    folds = k_folds(coco, 3, seed=4)
    assert [sorted(im['id'] for im in val['images']) for _, val in folds] == [
        sorted(im['id'] for im in part['images']) for part in split_parts(coco, [1, 1, 1], seed=4)]
    vals = [im['id'] for _, val in folds for im in val['images']]
    assert sorted(vals) == list(range(12))  # every film validated exactly once
    for train, val in folds:
        assert {im['id'] for im in train['images']} == set(range(12)) - {im['id'] for im in val['images']}
        for p in range(4):  # a patient's two films land on one side
            assert ({2 * p, 2 * p + 1} <= {im['id'] for im in val['images']}
                    or not {2 * p, 2 * p + 1} & {im['id'] for im in val['images']})


def test_write_split_by_ratio_records_every_film_once(tmp_path):
    import pytest
    from spinekey.converters.splits import write_split
    from spinekey.utils.errors import SpineKeyError
    images = [{'id': i, 'file_name': f'{i}.png', 'patient_id': f'p{i // 2}'} for i in range(20)]
    coco = {'images': images, 'annotations': [], 'categories': [{'id': 1, 'name': 'v'}]}
    written = write_split(coco, 'all.json', str(tmp_path), ratios=(['train', 'test'], [0.8, 0.2]), seed=3)
    assert [name for name, _, _ in written] == ['train', 'test'] and sum(n for _, n, _ in written) == 20
    assert all(n_val is None for _, _, n_val in written)
    record = json.loads((tmp_path / 'split.json').read_text())
    assert record['source'] == os.path.abspath('all.json') and record['seed'] == 3
    train = {im['file_name'] for im in json.loads((tmp_path / 'train.json').read_text())['images']}
    assert sorted(train) == record['parts']['train'] and not train & set(record['parts']['test'])
    assert len(train) == written[0][1]
    with pytest.raises(SpineKeyError, match='^--folds must be at least 2, got 1$'):
        write_split(coco, 'all.json', str(tmp_path / 'x'), folds=1)
