"""The refiner through its API and tool: stage-1 keypoints kept beside the refined ones, a learned uncertainty,
keypoints matched by name, and one clear line for a refiner of another keypoint set or a stage-1 config."""
import json
import os

import cv2
import numpy as np
import pytest

from tests.conftest import DEMO_CONFIG, RANDOM_REFINER_CONFIG as CONFIG, run_tool

NAMES = ['top_left', 'top_right', 'bottom_right', 'bottom_left']


def _film_and_detections(names=NAMES):
    film = np.full((400, 300), 40, np.uint8)
    dets = []
    for i, y in enumerate((80, 180, 280)):
        quad = {'top_left': (110, y), 'top_right': (190, y + 4), 'bottom_right': (188, y + 54),
                'bottom_left': (108, y + 50)}
        cv2.fillPoly(film, [np.array([quad[n] for n in NAMES], np.int32)], 200)
        kps = [v for n in names for v in (*quad[n], 0.9)]
        dets.append({'image_id': 0, 'file_name': 'film.png', 'bbox': [108, y, 82, 54], 'score': 0.9,
                     'keypoints': kps})
    return film, dets


def test_refined_keypoints_keep_stage1_beside_them_and_match_by_name(refiner_files):
    from spinekey.apis.refine import Refiner
    refiner = Refiner(*refiner_files)
    film, dets = _film_and_detections()
    stage1 = [list(d['keypoints']) for d in dets]
    refiner.refine_detections(film, dets, NAMES)
    for d, before in zip(dets, stage1):
        assert d['keypoints_stage1'] == pytest.approx(before)
        kp = np.reshape(d['keypoints'], (-1, 3))
        assert kp[:, 2] == pytest.approx(np.reshape(before, (-1, 3))[:, 2])  # stage 1's scores kept for QC
        assert (kp[:, 0] >= 0).all() and (kp[:, 0] <= 299).all() and (kp[:, 1] <= 399).all()
        assert len(d['keypoint_unc']) == 4 and all(u > 0 for u in d['keypoint_unc'])
        # the patch spans 1.5 x the vertebra: whatever an untrained net says lies within it
        assert np.abs(kp[:, :2] - np.reshape(before, (-1, 3))[:, :2]).max() < 1.5 * 82
    # the same vertebrae with stage 1's keypoints in another order: the same refined points, in that order
    other = ['bottom_left', 'top_left', 'bottom_right', 'top_right']
    film2, dets2 = _film_and_detections(other)
    refiner.refine_detections(film2, dets2, other)
    for a, b in zip(dets, dets2):
        pa = dict(zip(NAMES, np.reshape(a['keypoints'], (-1, 3))[:, :2].tolist()))
        pb = dict(zip(other, np.reshape(b['keypoints'], (-1, 3))[:, :2].tolist()))
        for n in NAMES:
            assert pa[n] == pytest.approx(pb[n], abs=1e-6)
    two = Refiner(*refiner_files, passes=2)
    film3, dets3 = _film_and_detections()
    two.refine_detections(film3, dets3, NAMES)
    assert dets3[0]['keypoints'] != dets[0]['keypoints']  # a second pass starts from the first's corners


def test_refine_tool_writes_refined_results_and_refuses_another_keypoint_set(refiner_files, tmp_path):
    film, dets = _film_and_detections()
    cv2.imwrite(str(tmp_path / 'film.png'), film)
    (tmp_path / 'results.json').write_text(json.dumps(dets + [dict(dets[0], file_name='gone.png', image_id=1)]))
    config, ckpt = refiner_files
    proc = run_tool('tools/refine.py', '--results', str(tmp_path / 'results.json'), '--images-dir', str(tmp_path),
                    '--config', config, '--checkpoint', ckpt, '--out', str(tmp_path / 'refined.json'))
    assert proc.returncode == 0, proc.stderr
    refined = json.loads((tmp_path / 'refined.json').read_text())
    assert sum('keypoints_stage1' in r for r in refined) == 3 and "'gone.png': not found" in proc.stderr
    six = [dict(d, keypoints=d['keypoints'] + [150, 100, 0.9, 150, 150, 0.9]) for d in dets]
    (tmp_path / 'six.json').write_text(json.dumps(six))
    proc = run_tool('tools/refine.py', '--results', str(tmp_path / 'six.json'), '--images-dir', str(tmp_path),
                    '--config', config, '--checkpoint', ckpt, '--out', str(tmp_path / 'x.json'))
    assert proc.returncode == 2 and proc.stderr.count('\n') == 1
    assert 'the refiner was trained for keypoints' in proc.stderr and not (tmp_path / 'x.json').exists()
    proc = run_tool('tools/refine.py', '--results', str(tmp_path / 'results.json'), '--images-dir', str(tmp_path),
                    '--config', DEMO_CONFIG, '--checkpoint', ckpt, '--out', str(tmp_path / 'x.json'))
    assert proc.returncode == 2 and 'not a refiner config' in proc.stderr
    proc = run_tool('tools/refine.py', '--results', str(tmp_path / 'results.json'), '--images-dir', str(tmp_path),
                    '--config', config, '--checkpoint', ckpt, '--blend', '2', '--out', str(tmp_path / 'x.json'))
    assert proc.returncode == 2 and "refiner blend must be 'ivw' or a weight" in proc.stderr
    assert proc.stderr.count('\n') == 1 and not (tmp_path / 'x.json').exists()


def test_inference_with_and_without_the_refiner(trained, refiner_files):
    from spinekey.apis import SpineKeyInferencer
    film = os.path.join(trained['data'], 'images', sorted(os.listdir(os.path.join(trained['data'], 'images')))[0])
    plain = SpineKeyInferencer(DEMO_CONFIG, trained['ckpt'], score_thr=0.0, measure=False)(film)
    both = SpineKeyInferencer(DEMO_CONFIG, trained['ckpt'], score_thr=0.0, measure=False,
                              refine_config=refiner_files[0], refine_checkpoint=refiner_files[1])(film)
    assert plain.detections and len(both.detections) == len(plain.detections)
    assert not any('keypoints_stage1' in d for d in plain.detections)
    for p, b in zip(plain.detections, both.detections):
        assert b['keypoints_stage1'] == pytest.approx(p['keypoints'], abs=0.01)
        assert len(b['keypoint_unc']) == len(b['keypoints']) // 3


def test_the_refiners_batching_and_layout_do_not_change_its_answer(refiner_files):
    """On a CPU the refiner runs small batches in channels-last layout (faster and leaner there); one patch at a
    time in the default layout, as a plain forward pass would, gives the same corners and uncertainties."""
    import torch

    from spinekey.apis.refine import Refiner
    from spinekey.utils.errors import SpineKeyError
    fast = Refiner(*refiner_files)
    assert fast.batch_size == 4
    plain = Refiner(*refiner_files, batch_size=1)
    plain.model.to(memory_format=torch.contiguous_format)
    rng = np.random.default_rng(0)
    film = rng.integers(0, 255, (400, 300)).astype(np.uint8)  # texture, so that every patch differs
    _, dets = _film_and_detections()
    stage1 = np.stack([np.reshape(d['keypoints'], (-1, 3))[:, :2] for d in dets * 3])  # 9 vertebrae: 3 batches
    stage1 = stage1 + rng.normal(0, 3, stage1.shape)
    kp_fast, sd_fast = fast.refine(film, stage1)
    kp_plain, sd_plain = plain.refine(film, stage1)
    np.testing.assert_allclose(kp_fast, kp_plain, atol=1e-3)
    np.testing.assert_allclose(sd_fast, sd_plain, rtol=1e-3, atol=1e-6)
    with pytest.raises(SpineKeyError, match='batch size'):
        Refiner(*refiner_files, batch_size=0)


@pytest.mark.parametrize('shape, top', [((10000, 600), 9950), ((120, 90), 70)])
def test_a_huge_or_a_tiny_film_with_a_vertebra_on_its_edge_gets_corners_on_the_film(refiner_files, shape, top):
    """Issue 32's bad input: a 10,000 px film (a vertebra cut by its bottom edge) and a film smaller than stage 1's
    input: finite corners inside the film and an uncertainty, never an index error."""
    from spinekey.apis.refine import Refiner
    h, w = shape
    film = np.full(shape, 60, np.uint8)
    film[top:, 20:70] = 190
    det = {'image_id': 0, 'file_name': 'film.png', 'bbox': [20, top, 50, 60], 'score': 0.9,
           'keypoints': [20, top, 0.9, 70, top, 0.9, 70, top + 60, 0.9, 20, top + 60, 0.9]}  # runs off the film
    Refiner(*refiner_files).refine_detections(film, [det], NAMES)
    kp = np.reshape(det['keypoints'], (-1, 3))[:, :2]
    assert np.isfinite(kp).all() and (kp >= 0).all() and (kp[:, 0] <= w - 1).all() and (kp[:, 1] <= h - 1).all()
    assert len(det['keypoint_unc']) == 4 and all(np.isfinite(det['keypoint_unc']))


def test_the_refiners_rotation_test_averages_its_turns(refiner_files):
    from spinekey.apis.refine import Refiner
    refiner = Refiner(*refiner_files, rotate_test=4)
    assert refiner.views == [(0.0, False), (4.0, False), (-4.0, False)]
    film, dets = _film_and_detections()
    stage1 = np.stack([np.reshape(d['keypoints'], (-1, 3))[:, :2] for d in dets])
    runs = [refiner._one_view(film, stage1, t, False) for t, _ in refiner.views]
    kp, sd = refiner.refine(film, stage1)
    np.testing.assert_allclose(kp, np.mean([r[0] for r in runs], 0), atol=1e-9)
    assert (sd >= np.sqrt(np.mean([r[1] ** 2 for r in runs], 0)) - 1e-12).all()  # the turns' spread adds to it


def test_the_refiners_flip_test_is_the_mirrored_film_refined_and_brought_back(refiner_files):
    """Independent of mirror_frame: the flip test's corners are the mean of the plain pass and of the plain pass
    on the film mirrored by numpy (stage-1 corners mirrored, left/right names swapped), mirrored back."""
    from spinekey.apis.refine import Refiner
    plain, flipped = Refiner(*refiner_files), Refiner(*refiner_files, flip_test=True)
    assert flipped.views == [(0.0, False), (0.0, True)]
    rng = np.random.default_rng(1)
    film = rng.integers(0, 255, (400, 300)).astype(np.uint8)
    _, dets = _film_and_detections()
    stage1 = np.stack([np.reshape(d['keypoints'], (-1, 3))[:, :2] for d in dets]) + rng.normal(0, 3, (3, 4, 2))
    swap = [1, 0, 3, 2]  # top_left <-> top_right, bottom_right <-> bottom_left
    mirror = np.array([-1.0, 1.0]), np.array([film.shape[1] - 1.0, 0.0])  # x -> W - 1 - x, pixel centres
    kp_m, _ = plain.refine(np.ascontiguousarray(film[:, ::-1]), (stage1 * mirror[0] + mirror[1])[:, swap])
    by_hand = (plain.refine(film, stage1)[0] + (kp_m * mirror[0] + mirror[1])[:, swap]) / 2
    kp, sd = flipped.refine(film, stage1)
    assert np.abs(kp - plain.refine(film, stage1)[0]).max() > 0.05  # the mirrored view changes the answer ...
    np.testing.assert_allclose(kp, by_hand, atol=0.02)  # ... by exactly the mirrored film's pass



def test_a_refiner_whose_keypoints_lack_a_partner_refuses_the_flip_test_in_one_line(refiner_files, tmp_path):
    import torch

    from spinekey.apis.refine import Refiner
    from spinekey.utils.errors import SpineKeyError
    ckpt = torch.load(refiner_files[1], weights_only=True)
    ckpt['meta']['dataset_meta']['keypoint_names'] = ['top_left', 'top_right', 'bottom_right', 'spinous']
    torch.save(ckpt, tmp_path / 'unpaired.pth')
    assert Refiner(refiner_files[0], str(tmp_path / 'unpaired.pth')).views == [(0.0, False)]
    with pytest.raises(SpineKeyError, match="flip test: keypoint 'bottom_right' flips to 'bottom_left'"):
        Refiner(refiner_files[0], str(tmp_path / 'unpaired.pth'), flip_test=True)


def test_blending_the_two_stages_by_hand():
    from spinekey.apis.refine import blend_keypoints, check_blend
    stage1, refined = np.array([[[0.0, 0.0], [10.0, 10.0]]]), np.array([[[4.0, 0.0], [10.0, 13.0]]])
    # inverse-variance: stage 1 unc 3 and 0 (certain), the refiner's 4 and 5 -> weights on the refiner
    # 9 / (9 + 16) = 0.36 and 0; unc sqrt(9 * 16 / 25) = 2.4 and 0
    kp, unc = blend_keypoints(stage1, np.array([[3.0, 0.0]]), refined, np.array([[4.0, 5.0]]), 'ivw')
    np.testing.assert_allclose(kp, [[[1.44, 0.0], [10.0, 10.0]]])
    np.testing.assert_allclose(unc, [[2.4, 0.0]])
    # a fixed weight: halfway, unc sqrt((0.5 * 4)^2 + (0.5 * 3)^2) = 2.5
    kp, unc = blend_keypoints(stage1, np.array([[3.0, 0.0]]), refined, np.array([[4.0, 5.0]]), 0.5)
    np.testing.assert_allclose(kp, [[[2.0, 0.0], [10.0, 11.5]]])
    np.testing.assert_allclose(unc, [[2.5, 2.5]])
    with pytest.raises(Exception, match="needs stage 1's keypoint_unc"):
        blend_keypoints(stage1, None, refined, np.array([[4.0, 5.0]]), 'ivw')
    # a keypoint stage 1 gave no uncertainty for (null in results.json): halfway, with the refiner's
    kp, unc = blend_keypoints(stage1, np.array([[np.nan, 0.0]]), refined, np.array([[4.0, 5.0]]), 'ivw')
    np.testing.assert_allclose(kp[0, 0], [2.0, 0.0])
    np.testing.assert_allclose(unc, [[4.0, 0.0]])
    assert check_blend('0.25') == 0.25 and check_blend('ivw') == 'ivw' and check_blend(None) is None
    for bad in ('1.5', 'mean', -0.1):
        with pytest.raises(Exception, match="refiner blend must be 'ivw' or a weight"):
            check_blend(bad)


def test_refine_with_a_blend_moves_corners_part_way_from_stage_1(refiner_files):
    from spinekey.apis.refine import Refiner
    film, alone = _film_and_detections()
    Refiner(*refiner_files).refine_detections(film, alone, NAMES)
    film, mixed = _film_and_detections()
    for d in mixed:
        d['keypoint_unc'] = [2.0, 2.0, 2.0, 2.0]
    Refiner(*refiner_files, blend='ivw').refine_detections(film, mixed, NAMES)
    for a, m in zip(alone, mixed):
        s1 = np.reshape(a['keypoints_stage1'], (-1, 3))[:, :2]
        ref = np.reshape(a['keypoints'], (-1, 3))[:, :2]
        w = 1 / (1 + np.square(a['keypoint_unc']) / 4.0)  # stage 1's variance 4 against the refiner's
        np.testing.assert_allclose(np.reshape(m['keypoints'], (-1, 3))[:, :2], s1 + w[:, None] * (ref - s1),
                                   atol=0.02)
        assert all(u <= min(2.0, r) + 1e-3 for u, r in zip(m['keypoint_unc'], a['keypoint_unc']))
    film, gappy = _film_and_detections()  # one entry without keypoint_unc, one with a null: no traceback
    gappy[0]['keypoint_unc'] = [2.0, None, 2.0, 2.0]
    Refiner(*refiner_files, blend='ivw').refine_detections(film, gappy, NAMES)
    assert all(np.isfinite(d['keypoint_unc']).all() for d in gappy)
    film, old = _film_and_detections()  # results without keypoint_unc: one clear line
    with pytest.raises(Exception, match="needs stage 1's keypoint_unc"):
        Refiner(*refiner_files, blend='ivw').refine_detections(film, old, NAMES)


CONFORMAL = "conformal = dict(level=0.9, mode='normalised', num_keypoints=4, factors={'cobb_deg': %s})\n"


def test_the_ranges_of_refined_corners_come_from_the_refiners_calibration(trained, refiner_files, tmp_path):
    # stage 1's factors were fitted on stage 1's uncertainty: on refined corners they would promise nothing
    from spinekey.apis import SpineKeyInferencer
    stage1 = {'conformal': dict(level=0.9, mode='normalised', num_keypoints=4, factors={'cobb_deg': 1.5})}
    alone = SpineKeyInferencer(DEMO_CONFIG, trained['ckpt'], cfg_options=stage1)
    assert alone.measure.calibration.factors == {'cobb_deg': 1.5}
    both = SpineKeyInferencer(DEMO_CONFIG, trained['ckpt'], cfg_options=stage1, refine_config=refiner_files[0],
                              refine_checkpoint=refiner_files[1])
    assert both.measure.calibration is None  # the refiner's config has none: 'uncalibrated'
    calibrated = tmp_path / 'refiner_calibrated.py'
    calibrated.write_text(CONFIG + CONFORMAL % 2.5)
    both = SpineKeyInferencer(DEMO_CONFIG, trained['ckpt'], cfg_options=stage1, refine_config=str(calibrated),
                              refine_checkpoint=refiner_files[1])
    assert both.measure.calibration.factors == {'cobb_deg': 2.5}


def test_measure_leaves_refined_results_uncalibrated_unless_given_the_refiners_factors(tmp_path):
    ys = [40 + 30 * i for i in range(17)]
    dets = [{'image_id': 0, 'file_name': 'film.png', 'bbox': [100 + i, y, 60, 24], 'score': 0.9,
             'keypoints': [100 + i, y, 0.9, 160 + i, y + 2 * (i % 3), 0.9, 160 + i, y + 24, 0.9, 100 + i, y + 22, 0.9],
             'keypoint_unc': [1.0] * 4} for i, y in enumerate(ys)]
    refined = [dict(d, keypoints_stage1=d['keypoints']) for d in dets]
    cv2.imwrite(str(tmp_path / 'film.png'), np.full((600, 300), 40, np.uint8))
    stage1_cfg, refiner_cfg = tmp_path / 'stage1.py', tmp_path / 'refiner.py'
    stage1_cfg.write_text(CONFORMAL % 1.5)
    refiner_cfg.write_text(CONFIG + CONFORMAL % 2.5)

    def cobb_range(name, results, intervals_config=None):
        # through the API the tool calls (options_from_files, measure_run): no interpreter start per case
        from spinekey.apis.measure_run import measure_run, options_from_files
        from spinekey.measurement.options import MeasureOptions
        (tmp_path / name).write_text(json.dumps(results))
        out = tmp_path / f'm_{name}'
        options = options_from_files(MeasureOptions(anterior='left'), str(stage1_cfg),
                                     intervals_config=intervals_config, results=str(tmp_path / name))
        measure_run(str(tmp_path / name), str(out), options, images_dir=str(tmp_path))
        row = json.loads((out / 'measurements.json').read_text())['images'][0]
        return row['cobb_deg'], row.get('cobb_deg_lo'), row.get('cobb_deg_unc')

    angle, lo, unc = cobb_range('stage1.json', dets)
    assert lo == pytest.approx(angle - 1.5 * unc, abs=0.06)
    angle, lo, unc = cobb_range('refined2.json', refined, str(refiner_cfg))
    assert lo == pytest.approx(angle - 2.5 * unc, abs=0.06)
    # the tool on refined results with stage 1's config only: no range, and a line saying why
    (tmp_path / 'refined.json').write_text(json.dumps(refined))
    proc = run_tool('tools/measure.py', '--input', str(tmp_path / 'refined.json'), '--images-dir', str(tmp_path),
                    '--out', str(tmp_path / 'm_tool'), '--anterior', 'left', '--qc-config', str(stage1_cfg))
    assert proc.returncode == 0, proc.stderr
    row = json.loads((tmp_path / 'm_tool' / 'measurements.json').read_text())['images'][0]
    assert row['cobb_deg_lo'] == 'uncalibrated' and 'was refined (stage 2)' in proc.stderr


def test_a_simcc_refiner_refines_through_the_same_api(tmp_path):
    """The codec is the config's choice: a SimCC refiner's checkpoint loads and refines like the integral one."""
    import torch
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from spinekey.apis.refine import Refiner
    config = tmp_path / 'simcc refiner.py'
    config.write_text(CONFIG.replace('channels=16)', "channels=16, codec='simcc', simcc_hidden=32)"))
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(str(config)).model)
    assert model.codec.bins == 128  # 64 px patch, 2 bins a pixel
    torch.save({'state_dict': model.state_dict(), 'meta': {'dataset_meta': {'keypoint_names': NAMES}}},
               tmp_path / 'simcc.pth')
    film, dets = _film_and_detections()
    Refiner(str(config), str(tmp_path / 'simcc.pth')).refine_detections(film, dets, NAMES)
    for d in dets:
        kp = np.reshape(d['keypoints'], (-1, 3))
        assert np.isfinite(kp).all() and (kp[:, 0] >= 0).all() and (kp[:, 1] <= 399).all()
        assert len(d['keypoint_unc']) == 4 and all(u > 0 for u in d['keypoint_unc'])
        assert np.abs(kp[:, :2] - np.reshape(d['keypoints_stage1'], (-1, 3))[:, :2]).max() < 1.5 * 82


def test_tools_test_with_the_refiner_scores_the_corners_tools_refine_gives(trained, refiner_files, tmp_path):
    """mmdet's test workflow with stage 2 (spinekey.apis.refined_test_loop) against an independent path: the same
    model's tools/test.py results refined afterwards by tools/refine.py."""
    config, ckpt = refiner_files
    data_opts = [f'test_dataloader.dataset.data_root={trained["data"]}/', 'test_dataloader.num_workers=0',
                 'test_dataloader.persistent_workers=False']
    run_tool('tools/test.py', DEMO_CONFIG, trained['ckpt'], '--work-dir', str(tmp_path / 'w1'),
             '--out', str(tmp_path / 'plain.json'), '--cfg-options', *data_opts, check=True)
    both = run_tool('tools/test.py', DEMO_CONFIG, trained['ckpt'], '--work-dir', str(tmp_path / 'w2'),
                    '--out', str(tmp_path / 'both.json'), '--refine-config', config, '--refine-checkpoint', ckpt,
                    '--cfg-options', *data_opts, check=True)
    run_tool('tools/refine.py', '--results', str(tmp_path / 'plain.json'), '--images-dir', trained['data'],
             '--config', config, '--checkpoint', ckpt, '--out', str(tmp_path / 'refined.json'), check=True)
    stage1, refined_here, refined_after = (json.loads((tmp_path / f).read_text())
                                           for f in ('plain.json', 'both.json', 'refined.json'))
    assert stage1 and len(refined_here) == len(refined_after) == len(stage1)
    for s1, here, after in zip(stage1, refined_here, refined_after):
        assert here['bbox'] == s1['bbox'] and here['keypoints_stage1'] == pytest.approx(s1['keypoints'], abs=0.01)
        assert here['keypoints'] == pytest.approx(after['keypoints'], abs=0.02)
        assert here['keypoint_unc'] == pytest.approx(after['keypoint_unc'], abs=0.002)
    moved = max(abs(a - b) for h, s in zip(refined_here, stage1) for a, b in zip(h['keypoints'], s['keypoints']))
    # an untrained refiner moves the corners: the file is not stage 1's again. --out is written by a metric of
    # the test evaluator, so the keypoint metrics beside it were handed these refined instances too
    assert moved > 1.0 and 'test metrics: spine/PCK@0.05=' in both.stdout
    proc = run_tool('tools/test.py', DEMO_CONFIG, trained['ckpt'], '--refine-config', config,
                    '--work-dir', str(tmp_path / 'w3'))
    assert proc.returncode == 2 and proc.stderr.count('\n') == 1 and 'needs both its config and its checkpoint' \
        in proc.stderr
    proc = run_tool('tools/test.py', DEMO_CONFIG, trained['ckpt'], '--refine-config', DEMO_CONFIG,
                    '--refine-checkpoint', ckpt, '--work-dir', str(tmp_path / 'w4'), '--cfg-options', *data_opts)
    assert proc.returncode == 2 and proc.stderr.count('\n') == 1 and 'not a refiner config' in proc.stderr
