"""The demo's refiner (configs/refiner/refiner_lite0-integral_p64_demo_cpu.py) trains through tools/train.py on a
synthetic folder and its checkpoint refines a results.json through tools/refine.py, as scripts/run_demo.sh does."""
import json
import os

from spinekey.io.checkpoint import load_checkpoint_file
from tests.conftest import ROOT, run_tool

CFG = os.path.join(ROOT, 'configs/refiner/refiner_lite0-integral_p64_demo_cpu.py')


def _shifted_results(gt, dx):
    """Stage-1-like results: the true boxes and corners moved dx px to the right."""
    names = {im['id']: im['file_name'] for im in gt['images']}
    out = []
    for a in gt['annotations']:
        kps = [v + dx if i % 3 == 0 else (0.9 if i % 3 == 2 else v) for i, v in enumerate(a['keypoints'])]
        out.append({'image_id': a['image_id'], 'file_name': names[a['image_id']], 'category_id': a['category_id'],
                    'bbox': [a['bbox'][0] + dx, *a['bbox'][1:]], 'score': 0.9, 'keypoints': kps})
    return out


def test_the_demo_refiner_trains_and_refines(synthetic_dir, tmp_path):
    work = tmp_path / 'refiner'
    run_tool('tools/train.py', CFG, '--work-dir', str(work), '--cfg-options',
             f'train_dataloader.dataset.data_root={synthetic_dir}/', 'train_cfg.max_epochs=1',
             'train_dataloader.dataset.indices=4', check=True)
    ckpt = work / 'epoch_1.pth'
    gt = json.load(open(os.path.join(synthetic_dir, 'det_test.json')))
    names = gt['categories'][0]['keypoints']
    assert load_checkpoint_file(str(ckpt))['meta']['dataset_meta']['keypoint_names'] == names

    results = tmp_path / 'results.json'
    results.write_text(json.dumps(_shifted_results(gt, 2.0)))
    out = tmp_path / 'refined.json'
    run_tool('tools/refine.py', '--results', str(results), '--images-dir', synthetic_dir, '--config', CFG,
             '--checkpoint', str(ckpt), '--out', str(out), check=True)
    refined = json.load(open(out))
    assert len(refined) == len(gt['annotations'])
    for r, a in zip(refined, gt['annotations']):
        k = len(names)
        assert r['keypoints_stage1'][0::3] == [v + 2.0 for v in a['keypoints'][0::3]]
        assert len(r['keypoints']) == 3 * k and len(r['keypoint_unc']) == k and min(r['keypoint_unc']) > 0
        # the refined corners stay on the vertebra's patch: within its size of stage 1's
        width = a['bbox'][2]
        assert max(abs(p - q) for p, q in zip(r['keypoints'][0::3], r['keypoints_stage1'][0::3])) < width
