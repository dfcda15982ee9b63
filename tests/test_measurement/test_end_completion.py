"""End completion on hand-built columns (spacing 52 px, width 60 px): a faint detection where a short column's
next level should be is taken, one off the line, too close (a duplicate) or too far is not; a full or a very
short column, or one short by a level missed inside it, is left alone; a turned film works; and through
tools/measure.py the completed vertebra is measured and its row says so."""
import json

import numpy as np
import pytest

from spinekey.measurement.end_completion import EndCompletion, complete_ends
from spinekey.structures.vertebra import CORNERS, VertebraInput
from tests.conftest import run_tool
from tests.test_measurement.test_chain import column


def _faint(v: VertebraInput, dx=0.0, dy=0.0, score=0.1) -> VertebraInput:
    return VertebraInput({n: (x + dx, y + dy) for n, (x, y) in v.points.items()}, score)


def test_a_missed_bottom_level_is_completed_by_the_faint_detection_where_it_should_be():
    spine = column(17)
    short = spine[:16]  # L5 missed at 0.3
    l5 = _faint(spine[16], score=0.12)
    decoys = [_faint(spine[16], dx=2.0 * 60, score=0.25),   # one level down but two widths off the line
              _faint(spine[15], dy=10.0, score=0.2),         # a second, fainter box on L4: 0.2 spacings beyond
              _faint(spine[16], dy=2.0 * 52, score=0.28)]    # two levels down: too far
    out, added = complete_ends(short, decoys + [l5])
    assert added == [l5] and len(out) == 17 and out[:16] == short


def test_both_ends_are_completed_bottom_first_and_never_past_the_levels():
    spine = column(17)
    t1, l5 = _faint(spine[0], score=0.08), _faint(spine[16], score=0.15)
    out, added = complete_ends(spine[1:16], [t1, l5])
    assert added == [l5, t1] and len(out) == 17
    out, added = complete_ends(spine[1:17], [t1, _faint(spine[16], dy=52.0, score=0.2)])  # 16 found: one more
    assert len(added) == 1 and len(out) == 17
    # the best-scored of two candidates at the same end
    better = _faint(spine[16], dx=5.0, score=0.2)
    assert complete_ends(spine[:16], [l5, better])[1] == [better]


def test_a_column_short_by_a_level_missed_inside_it_is_not_completed_at_an_end():
    """T1..L5 with L2 missed: 16 found, but the gap says which level is missing, and it is not an end."""
    spine = column(18)  # the 18th is where a sacral segment would be
    found = spine[:13] + spine[14:17]
    out, added = complete_ends(found, [_faint(spine[17], score=0.2)])
    assert added == [] and out == found
    out, added = complete_ends(found[:-1], [_faint(spine[16], score=0.2)])  # L5 missed as well: one slot left
    assert len(added) == 1 and len(out) == 16


@pytest.mark.parametrize('n', [17, 4])
def test_a_full_or_a_very_short_column_is_left_alone(n):
    spine = column(18)
    out, added = complete_ends(spine[:n], [_faint(spine[n], score=0.2)])
    assert added == [] and out == spine[:n]


def test_a_column_across_a_turned_film_is_completed_along_its_own_axis():
    spine = column(17)
    rot = np.array([[0.0, -1.0], [1.0, 0.0]])  # 90 deg: the column runs across the film
    for v in spine:
        v.points = {n: tuple(rot @ np.asarray(p)) for n, p in v.points.items()}
    l5 = _faint(spine[16], score=0.1)
    assert complete_ends(spine[:16], [l5])[1] == [l5]
    # off the line on the turned film: displaced along the film's y, which is now across the column
    assert complete_ends(spine[:16], [_faint(spine[16], dy=2.0 * 60, score=0.1)])[1] == []


def _result(v: VertebraInput, score: float) -> dict:
    pts = np.array([v.points[n] for n in CORNERS])
    lo, hi = pts.min(0), pts.max(0)
    return {'image_id': 1, 'file_name': 'film.png', 'category_id': 1, 'score': score,
            'bbox': [float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])],
            'keypoints': [float(c) for p in pts for c in (*p, 1.0)]}


def test_measure_completes_the_column_through_the_tool_and_says_so(tmp_path):
    spine = column(17, tilt_deg=np.concatenate([np.linspace(-10, 12, 9), [8, 4, 0, -4, -8, -11, -12, -16]]))
    results = [_result(v, 0.9) for v in spine[:16]] + [_result(spine[16], 0.11)]
    (tmp_path / 'results.json').write_text(json.dumps(results))

    def measured(*flags):
        out = tmp_path / ('out' + '_'.join(flags).replace('-', '').replace('.', ''))
        run_tool('tools/measure.py', '--input', str(tmp_path / 'results.json'), '--out', str(out), '--aasce',
                 '--anterior', 'left', '--top-level', 'T1', '--unc-samples', '0', *flags, check=True)
        return json.loads((out / 'measurements.json').read_text())

    plain = measured()
    done = measured('--complete-ends', '0.05')
    assert len(plain['vertebrae']) == 16 and len(done['vertebrae']) == 17
    assert done['vertebrae'][-1]['level'] == 'L5'
    assert 'completed: a faint detection (score 0.11)' in done['vertebrae'][-1]['note']
    assert 'end completion: 1 faint end vertebra(e) added' in done['images'][0]['note']
    assert not any('completed' in (r.get('note') or '') for r in done['vertebrae'][:16])
    # L5 is the lower end vertebra of the curve here (tilt -16 deg): only the completed column measures it
    assert (plain['images'][0]['cobb_lower_level'], done['images'][0]['cobb_lower_level']) == ('L4', 'L5')
    assert done['images'][0]['cobb_deg'] == pytest.approx(12 + 16, abs=0.5)
    assert plain['images'][0]['cobb_deg'] == pytest.approx(12 + 12, abs=0.5)  # L4: -12 deg

    (tmp_path / 'strong.json').write_text(json.dumps(results[:16]))  # written at 0.3: nothing faint in it
    proc = run_tool('tools/measure.py', '--input', str(tmp_path / 'strong.json'), '--out', str(tmp_path / 'strong'),
                    '--complete-ends', '0.05', check=True)
    assert 'has no detection scoring in [0.05, 0.3): end completion has nothing to take' in proc.stderr
    assert 'nothing to take' not in run_tool('tools/measure.py', '--input', str(tmp_path / 'results.json'), '--out',
                                             str(tmp_path / 'again'), '--complete-ends', '0.05', check=True).stderr

    proc = run_tool('tools/measure.py', '--input', str(tmp_path / 'results.json'), '--out', str(tmp_path / 'bad'),
                    '--complete-ends', '0.5')
    assert proc.returncode != 0 and 'faint threshold 0.5 is not under it' in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_end_completion_is_refused_beside_what_decides_the_ends_itself(tmp_path):
    from spinekey.apis.measure_run import measure_run
    from spinekey.measurement.options import MeasureOptions
    from spinekey.utils.errors import SpineKeyError
    (tmp_path / 'results.json').write_text(json.dumps([_result(v, 0.9) for v in column(16)]))
    for other in (dict(level_chain=object()), dict(end_levels=object())):
        options = MeasureOptions(end_completion=EndCompletion(0.05), **other)
        with pytest.raises(SpineKeyError, match='decide the ends themselves'):
            measure_run(str(tmp_path / 'results.json'), str(tmp_path / 'out'), options)
    assert not (tmp_path / 'out').exists()


def test_the_inferencer_completes_ends_as_measure_does(trained, monkeypatch):
    """SpineKeyInferencer with end completion keeps detections down to the faint threshold and measures the
    column as tools/measure.py --complete-ends does (the detector's output replaced by the hand-built column)."""
    import os
    from dataclasses import replace

    import spinekey.apis.inferencer as inferencer
    from spinekey.apis import MeasureOptions, SpineKeyInferencer
    from spinekey.utils.errors import SpineKeyError
    from tests.conftest import DEMO_CONFIG
    spine = column(17, tilt_deg=np.concatenate([np.linspace(-10, 12, 9), [8, 4, 0, -4, -8, -11, -12, -16]]))
    hand_built = [_result(v, 0.9) for v in spine[:16]] + [_result(spine[16], 0.11), _result(spine[3], 0.01)]
    asked = []

    def detections(instances, image_id, file_name, score_thr):
        asked.append(score_thr)
        return [dict(d, image_id=image_id, file_name=file_name) for d in hand_built if d['score'] >= score_thr]

    monkeypatch.setattr(inferencer, 'instances_to_coco', detections)
    film_path = os.path.join(trained['data'], 'images', 'synth_000000.png')
    base = MeasureOptions(anterior='left', top_level='T1', aasce=True, unc_samples=0)
    plain = SpineKeyInferencer(DEMO_CONFIG, trained['ckpt'], score_thr=0.3, measure=base)(film_path)
    completing = replace(base, end_completion=EndCompletion(0.05))
    done = SpineKeyInferencer(DEMO_CONFIG, trained['ckpt'], score_thr=0.3, measure=completing)(film_path)
    assert asked == [0.3, 0.05]
    assert len(plain.detections) == 16 and len(done.detections) == 17  # the one at 0.01 stays out
    assert len(plain.vertebrae) == 16 and len(done.vertebrae) == 17
    assert 'completed: a faint detection (score 0.11)' in done.vertebrae[-1]['note']
    assert (plain.image['cobb_lower_level'], done.image['cobb_lower_level']) == ('L4', 'L5')
    assert done.image['cobb_deg'] == pytest.approx(12 + 16, abs=0.5)
    with pytest.raises(SpineKeyError, match='faint threshold 0.3 is not under it'):
        SpineKeyInferencer(DEMO_CONFIG, 'no-such.pth', score_thr=0.3,
                           measure=MeasureOptions(end_completion=EndCompletion(0.3)))
