"""Levels stage 1 missed inside the column, placed by the refiner (spinekey.apis.missed_levels): where the seeds go
(checked against a hand-built column), what the new entries carry, duplicates dropped, the settings' one-line
errors, and the path through tools/refine.py and the measurements."""
import json

import cv2
import numpy as np
import pytest

from spinekey.apis.refine import Refiner
from tests.conftest import run_tool

NAMES = ['top_left', 'top_right', 'bottom_right', 'bottom_left']


def _quad(y, x=100.0, w=80.0, h=50.0):
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], float)


def _column(ys, scores=None):
    """results.json entries of vertebrae whose top edges are at ``ys`` (80 px wide, 50 tall)."""
    scores = scores or [0.9] * len(ys)
    return [{'image_id': 3, 'file_name': 'f.png', 'category_id': 1, 'bbox': [100, y, 80, 50], 'score': s,
             'keypoints': [v for p in _quad(y) for v in (*p, 0.8)]} for y, s in zip(ys, scores)]


class ShiftingRefiner:
    """Stands in for a Refiner: moves every keypoint by ``shift`` each pass (keypoint order reversed, to check the
    order mapping), with an sd of 2 px; keypoints matched by name as the Refiner matches them."""
    keypoint_names = NAMES[::-1]
    refine_named = Refiner.refine_named

    def __init__(self, shift=(0.0, 0.0)):
        self.shift = np.asarray(shift, float)
        self.calls = []

    def order_for(self, names):
        return [list(names).index(n) for n in self.keypoint_names]

    def refine(self, film, keypoints, passes=None):
        self.calls.append((np.array(keypoints), passes))
        return np.asarray(keypoints, float) + self.shift * passes, np.full(np.shape(keypoints), 2.0)


def test_seeds_sit_in_the_gaps_at_equal_fractions():
    from spinekey.apis.missed_levels import MissedLevels, missed_level_seeds
    # spacing 60; one level missing after the second vertebra (step 120), two after the fourth (step 180),
    # three after the sixth (step 240: left alone with max_per_gap 2)
    ys = [0, 60, 180, 240, 420, 480, 720, 780]
    kps = np.stack([_quad(y) for y in ys])
    seeds = missed_level_seeds(kps, [0.9, 0.8, 0.5, 0.9, 0.7, 0.9, 0.9, 0.9], MissedLevels())
    assert [s.after for s in seeds] == [1, 3, 3]
    assert seeds[0].keypoints == pytest.approx(_quad(120))
    assert seeds[1].keypoints == pytest.approx(_quad(300)) and seeds[2].keypoints == pytest.approx(_quad(360))
    assert [s.score for s in seeds] == [0.5, 0.7, 0.7]  # the weaker neighbour's
    assert len(missed_level_seeds(kps, [0.9] * 8, MissedLevels(max_per_gap=3))) == 6
    assert missed_level_seeds(kps[:2], [0.9] * 2, MissedLevels()) == []  # no spacing to judge by


def test_the_column_is_ordered_along_its_axis_even_on_a_film_turned_90_degrees():
    from spinekey.apis.missed_levels import column_order
    kps = np.stack([_quad(y) for y in (120, 0, 60, 240)])
    assert list(column_order(kps)) == [1, 2, 0, 3]
    turned = kps[..., ::-1]  # x and y swapped: the column runs across the film
    assert list(column_order(turned)) in ([1, 2, 0, 3], [3, 0, 2, 1])


def test_placed_levels_are_new_entries_marked_filled_and_found_ones_are_untouched():
    from spinekey.apis.missed_levels import MissedLevels, place_missed_levels
    dets = _column([0, 60, 180, 240], [0.9, 0.6, 0.8, 0.9])
    before = json.dumps(dets)
    refiner = ShiftingRefiner(shift=(1.0, 2.0))
    new = place_missed_levels(refiner, np.zeros((400, 300), np.uint8), dets[::-1], NAMES, MissedLevels(passes=2))
    assert json.dumps(dets) == before
    assert len(new) == 1
    entry = new[0]
    assert entry['filled'] is True and entry['score'] == 0.6 and entry['image_id'] == 3
    assert entry['file_name'] == 'f.png' and entry['category_id'] == 1
    kp = np.reshape(entry['keypoints'], (-1, 3))
    assert kp[:, :2] == pytest.approx(_quad(120) + [2.0, 4.0])  # two passes of the refiner from the seed
    assert kp[:, 2] == pytest.approx(0.8)
    assert np.reshape(entry['keypoints_stage1'], (-1, 3))[:, :2] == pytest.approx(_quad(120))
    assert entry['bbox'] == pytest.approx([102, 124, 80, 50]) and entry['keypoint_unc'] == pytest.approx([2.0] * 4)
    # the refiner saw the seed in its own keypoint order
    seen, passes = refiner.calls[0]
    assert passes == 2 and seen[0] == pytest.approx(_quad(120)[::-1])
    # refined again with the placed level in: nothing is placed twice
    assert place_missed_levels(refiner, np.zeros((400, 300), np.uint8), dets + new, NAMES, MissedLevels()) == []


def test_a_placed_level_that_lands_on_a_neighbour_is_dropped():
    from spinekey.apis.missed_levels import MissedLevels, place_missed_levels
    dets = _column([0, 60, 180, 240])
    onto_next = ShiftingRefiner(shift=(0.0, 55.0))  # one pass moves the seed at 120 to 175: onto the vertebra at 180
    assert place_missed_levels(onto_next, np.zeros((400, 300)), dets, NAMES, MissedLevels(passes=1)) == []
    assert len(place_missed_levels(onto_next, np.zeros((400, 300)), dets, NAMES,
                                   MissedLevels(passes=1, duplicate_iou=1.0))) == 1
    faint = _column([0, 60, 180, 240], [0.9, 0.9, 0.2, 0.9])  # under the column threshold: no column of three
    assert place_missed_levels(ShiftingRefiner(), np.zeros((400, 300)), faint, NAMES, MissedLevels()) == []


def test_the_settings_refuse_unknown_fields_in_one_line():
    from spinekey.apis.missed_levels import MissedLevels
    from spinekey.utils.errors import SpineKeyError
    assert MissedLevels.from_setting(None) is None and MissedLevels.from_setting(False) is None
    assert MissedLevels.from_setting(True) == MissedLevels()
    assert MissedLevels.from_setting({'passes': 3}).passes == 3
    for bad, words in (({'pases': 3}, "unknown setting(s) ['pases']"), ({'passes': 0}, 'passes and max_per_gap'),
                       ('yes', 'must be True, False or a dict')):
        with pytest.raises(SpineKeyError, match=words.replace('(', r'\(').replace(')', r'\)').replace('[', r'\[')):
            MissedLevels.from_setting(bad)


def test_the_refiner_returns_the_levels_it_placed_only_when_asked(refiner_files):
    from spinekey.apis.refine import Refiner
    film = np.full((400, 300), 40, np.uint8)
    dets = _column([20, 80, 200, 260])
    off = Refiner(*refiner_files)
    assert off.fill_missed is None and off.refine_detections(film, [dict(d) for d in dets], NAMES) == []
    on = Refiner(*refiner_files, fill_missed={'duplicate_iou': 1.0})
    new = on.refine_detections(film, [dict(d) for d in dets], NAMES)
    assert len(new) == 1 and new[0]['filled'] and new[0]['score'] == 0.9


def test_refine_tool_places_a_missed_level_and_measure_says_so(refiner_files, tmp_path):
    film = np.full((400, 300), 40, np.uint8)
    ys = [20, 80, 200, 260, 320]  # the level at 140 has no detection
    for y in ys + [140]:
        cv2.fillPoly(film, [_quad(y).astype(np.int32)], 200)
    cv2.imwrite(str(tmp_path / 'f.png'), film)
    (tmp_path / 'results.json').write_text(json.dumps(_column(ys)))
    config, ckpt = refiner_files
    # an untrained refiner places it anywhere in the patch: keep it whatever it overlaps, to see it written
    (tmp_path / 'fill.py').write_text(f"_base_ = [{config!r}]\nrefine = dict(fill_missed=dict(duplicate_iou=1.0))\n")
    args = ['tools/refine.py', '--results', str(tmp_path / 'results.json'), '--images-dir', str(tmp_path),
            '--checkpoint', ckpt]
    proc = run_tool(*args, '--config', str(tmp_path / 'fill.py'), '--out', str(tmp_path / 'filled.json'))
    assert proc.returncode == 0, proc.stderr
    assert '1 missed level(s) placed' in proc.stdout
    out = json.loads((tmp_path / 'filled.json').read_text())
    assert len(out) == 6 and [bool(r.get('filled')) for r in out] == [False] * 5 + [True]
    # the seed lies halfway between the two neighbours as the refiner left them
    halfway = (np.reshape(out[1]['keypoints'], (-1, 3)) + np.reshape(out[2]['keypoints'], (-1, 3)))[:, :2] / 2
    assert np.reshape(out[-1]['keypoints_stage1'], (-1, 3))[:, :2] == pytest.approx(halfway, abs=0.02)
    proc = run_tool(*args, '--config', str(tmp_path / 'fill.py'), '--no-fill-missed', '--out', str(tmp_path / 'n.json'))
    assert proc.returncode == 0 and len(json.loads((tmp_path / 'n.json').read_text())) == 5
    proc = run_tool(*args, '--config', config, '--fill-missed', '--out', str(tmp_path / 'x.json'))
    assert proc.returncode == 0, proc.stderr  # the defaults (duplicates dropped): placed or not, never an error
    proc = run_tool('tools/measure.py', '--input', str(tmp_path / 'filled.json'), '--anterior', 'left',
                    '--out', str(tmp_path / 'm'))
    assert proc.returncode == 0, proc.stderr
    rows = (tmp_path / 'm' / 'measurements.csv').read_text().splitlines()
    assert sum('filled: a level stage 1 missed, placed by the refiner' in r for r in rows) == 1
    images = (tmp_path / 'm' / 'images.csv').read_text()
    assert '1 missed level(s) placed by the refiner' in images
    assert 'levels_placed: 1 level(s) stage 1 missed were placed by the refiner' in images  # sent to review
    proc = run_tool('tools/measure.py', '--input', str(tmp_path / 'n.json'), '--anterior', 'left',
                    '--out', str(tmp_path / 'm2'))
    assert proc.returncode == 0 and 'levels_placed' not in (tmp_path / 'm2' / 'images.csv').read_text()


def test_odd_columns_place_nothing_rather_than_fail():
    from spinekey.apis.missed_levels import MissedLevels, place_missed_levels
    film = np.zeros((400, 300), np.uint8)
    refiner = ShiftingRefiner()
    stacked = _column([100] * 40)  # 40 detections on one spot: no spacing, no gap
    unscored = [{k: v for k, v in d.items() if k != 'score'} for d in _column([0, 60, 180, 240])]
    broken = _column([0, 60, 120, 240, 300])
    broken[2]['keypoints'][0] = float('nan')  # a corner lost: left out, so two levels are missing from 60 to 240
    for dets in ([], _column([0, 60]), stacked, unscored):
        assert place_missed_levels(refiner, film, dets, NAMES, MissedLevels()) == []
    assert refiner.calls == []  # nothing sent to the refiner
    placed = place_missed_levels(refiner, film, broken, NAMES, MissedLevels())
    assert [np.reshape(e['keypoints_stage1'], (-1, 3))[0, 1] for e in placed] == [120.0, 180.0]
