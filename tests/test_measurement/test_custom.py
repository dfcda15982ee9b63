"""User-declared distances and angles between named keypoints (e.g. a hip landmark set)."""
import pytest

from spinekey.measurement.custom import check_names, evaluate_measures, parse_measure
from tests.conftest import run_tool

HIP = {'h_l': (0.0, 0.0), 'h_r': (100.0, 0.0), 'roof_l': (10.0, 0.0), 'edge_l': (40.0, -30.0)}


def test_distance_and_angle_hand_computed():
    measures = [parse_measure('span=distance:h_l,edge_l'), parse_measure('ai=angle:h_l,h_r;roof_l,edge_l')]
    values, notes = evaluate_measures(HIP, measures, spacing=[0.5, 0.25])
    assert values['span_px'] == pytest.approx(50.0)                      # 3-4-5 triangle x 10
    assert values['span_mm'] == pytest.approx((10.0 ** 2 + 15.0 ** 2) ** 0.5, abs=1e-3)  # 40 x 0.25, 30 x 0.5 mm
    assert values['ai_deg'] == pytest.approx(45.0) and notes == []


def test_rotated_and_mirrored_hip_keeps_the_angle():
    import math
    rot = math.radians(30)
    rotated = {k: (x * math.cos(rot) - y * math.sin(rot), x * math.sin(rot) + y * math.cos(rot))
               for k, (x, y) in HIP.items()}
    mirrored = {k: (-x, y) for k, (x, y) in HIP.items()}
    m = [parse_measure('ai=angle:h_l,h_r;roof_l,edge_l')]
    assert evaluate_measures(rotated, m)[0]['ai_deg'] == pytest.approx(45.0)
    assert evaluate_measures(mirrored, m)[0]['ai_deg'] == pytest.approx(45.0)


def test_missing_point_and_zero_length_line_are_notes():
    m = [parse_measure('ai=angle:h_l,h_r;roof_l,edge_l'), parse_measure('d=distance:h_l,gone')]
    values, notes = evaluate_measures(dict(HIP, edge_l=HIP['roof_l']), m)
    assert values == {} and 'zero length' in notes[0] and 'gone' in notes[1]


@pytest.mark.parametrize('text, message', [('ai=angle:a,b;c', 'needs 4'), ('x=length:a,b', 'unknown kind'),
                                           ('no equals sign', 'expected name='), ('1x=distance:a,b', 'identifier')])
def test_bad_declarations(text, message):
    with pytest.raises(ValueError, match=message):
        parse_measure(text)


def test_unknown_keypoint_is_named():
    with pytest.raises(ValueError, match="unknown keypoint"):
        check_names([parse_measure('d=distance:h_l,femur')], list(HIP))


def test_tool_reads_declarations_from_a_config_file(synthetic_dir, tmp_path):
    import csv
    import os
    cfg = tmp_path / 'measures.py'
    cfg.write_text("custom_measures = ['width=distance:top_left,top_right']\n")
    proc = run_tool('tools/measure.py', '--input', os.path.join(synthetic_dir, 'det_val.json'), '--out',
                    str(tmp_path / 'm'), '--anterior', 'left', '--define-file', str(cfg))
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(open(tmp_path / 'm' / 'measurements.csv')))
    assert rows and all(float(r['width_px']) > 0 and float(r['width_mm']) > 0 for r in rows)
