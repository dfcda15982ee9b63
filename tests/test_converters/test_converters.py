"""Each converter on a small file the test writes, checked by hand; bad rows are listed, the rest converts."""
import json
import os

import cv2
import numpy as np
import pytest

from tests.conftest import run_tool

W, H = 200, 300
TL, TR, BR, BL = (50.0, 40.0), (110.0, 42.0), (108.0, 80.0), (52.0, 78.0)
CORNERS = {'top_left': TL, 'top_right': TR, 'bottom_right': BR, 'bottom_left': BL}


def _image(folder, name='a.png'):
    os.makedirs(folder, exist_ok=True)
    cv2.imwrite(os.path.join(folder, name), np.zeros((H, W), np.uint8))
    return name


def _convert(fmt, src, out, *extra):
    proc = run_tool('tools/convert_dataset.py', '--from', fmt, '--src', str(src), '--out', str(out), *extra)
    assert proc.returncode == 0, proc.stderr
    return json.load(open(out)), proc


def _kp(ann, names):
    k = np.array(ann['keypoints']).reshape(-1, 3)
    return {n: tuple(k[i, :2]) for i, n in enumerate(names)}


def test_csv_image_rows_with_aasce_corner_order_and_bad_rows(tmp_path):
    _image(tmp_path)
    _image(tmp_path, 'b.png')
    cell = lambda p: f'({p[0]},{p[1]})'  # noqa: E731
    lines = ['file_name,p1,p2,p3,p4',
             f'a.png,"{cell(TL)}","{cell(TR)}","{cell(BL)}","{cell(BR)}"',
             'b.png,"(1,2)","(3,4)","(5,6)"',                       # 3 points: not a vertebra
             f'b.png,"{cell(TL)}","{cell(TR)}","{cell(BL)}","(900,80)"']  # outside the image
    (tmp_path / 'c.csv').write_text('\n'.join(lines) + '\n')
    coco, proc = _convert('csv-image', tmp_path / 'c.csv', tmp_path / 'o.json')
    assert len(coco['annotations']) == 1
    ann = coco['annotations'][0]
    assert _kp(ann, coco['categories'][0]['keypoints']) == CORNERS
    assert ann['bbox'] == [50.0, 40.0, 60.0, 40.0]          # tight box of the corners
    assert ann['segmentation'] == [[50.0, 40.0, 110.0, 42.0, 108.0, 80.0, 52.0, 78.0]]
    assert 'c.csv row 3: 3 points: not a multiple of 4 corners' in proc.stderr
    assert 'c.csv row 4 vertebra 1' in proc.stderr and 'outside the 200x300 image' in proc.stderr
    assert len(coco['info']['excluded']) == 2


def test_csv_vertebra_rows_with_levels(tmp_path):
    _image(tmp_path)
    cells = ','.join(f'"({x},{y})"' for x, y in (TL, TR, BR, BL))
    (tmp_path / 'v.csv').write_text('file_name,level,top_left,top_right,bottom_right,bottom_left\n'
                                    f'a.png,L4,{cells}\na.png,L5,"(1,2)",oops,"(1,2)","(1,2)"\n')
    coco, proc = _convert('csv-vertebra', tmp_path / 'v.csv', tmp_path / 'o.json')
    assert [a['label'] for a in coco['annotations']] == ['L4']
    assert 'v.csv row 3' in proc.stderr and "'oops' is not" in proc.stderr


def test_spinetk_six_points_reordered_by_name(tmp_path):
    order = ['bottom_left', 'bottom_middle', 'bottom_right', 'top_right', 'top_middle', 'top_left']
    pts = dict(CORNERS, top_middle=(80.0, 45.0), bottom_middle=(80.0, 75.0))
    record = {'file_name': 'a.png', 'height': H, 'width': W, 'image_id': 7, 'annotations': [
        {'bbox': [48, 38, 112, 82], 'bbox_mode': 0, 'category_id': 0,
         'keypoints': [c for n in order for c in (*pts[n], 2)]},
        {'bbox': [1, 1, 2, 2], 'bbox_mode': 4, 'keypoints': [c for n in order for c in (*pts[n], 2)]}]}
    os.makedirs(tmp_path / 'st')
    (tmp_path / 'st' / 'a.json').write_text(json.dumps(record))
    (tmp_path / 'st' / 'metadata.json').write_text(json.dumps({'pixel_spacing': {'a.png': [0.2, 0.2]}}))
    coco, proc = _convert('spinetk', tmp_path / 'st', tmp_path / 'o.json')
    names = coco['categories'][0]['keypoints']
    assert names == ['top_left', 'top_right', 'bottom_right', 'bottom_left', 'top_middle', 'bottom_middle']
    assert _kp(coco['annotations'][0], names) == pts
    assert coco['annotations'][0]['bbox'] == [48, 38, 64, 44]  # XYXY -> XYWH
    assert coco['images'][0]['pixel_spacing'] == [0.2, 0.2]
    assert 'bbox_mode 4 is not supported' in proc.stderr


def test_labelme_polygons_and_point_groups(tmp_path):
    shapes = [{'label': 'L1', 'shape_type': 'polygon', 'points': [TR, BR, BL, TL]},  # any start, any direction
              {'label': 'junk', 'shape_type': 'polygon', 'points': [TL, TR, BR]}]
    shapes += [{'label': n, 'shape_type': 'point', 'points': [[p[0], p[1] + 100]], 'group_id': 3}
               for n, p in CORNERS.items()]
    doc = {'imagePath': 'a.png', 'imageWidth': W, 'imageHeight': H, 'shapes': shapes}
    (tmp_path / 'a.json').write_text(json.dumps(doc))
    coco, proc = _convert('labelme', tmp_path / 'a.json', tmp_path / 'o.json')
    names = coco['categories'][0]['keypoints']
    first, second = coco['annotations']
    assert first['label'] == 'L1' and _kp(first, names) == CORNERS
    assert _kp(second, names) == {n: (x, y + 100) for n, (x, y) in CORNERS.items()}
    assert 'polygon with 3 points' in proc.stderr


def test_yolo_pose_round_trip(tmp_path):
    images = tmp_path / 'images'
    _image(images)
    xs = [TL[0], TR[0], BR[0], BL[0]]
    ys = [TL[1], TR[1], BR[1], BL[1]]
    cx, cy, w, h = (min(xs) + max(xs)) / 2 / W, (min(ys) + max(ys)) / 2 / H, 60 / W, 40 / H
    kps = ' '.join(f'{x / W:.6f} {y / H:.6f} 2' for x, y in zip(xs, ys))
    labels = tmp_path / 'labels'
    os.makedirs(labels)
    (labels / 'a.txt').write_text(f'0 {cx:.6f} {cy:.6f} {w:.6f} {h:.6f} {kps}\n0 0.5 0.5 0.1\n')
    (labels / 'zzz.txt').write_text('')
    coco, proc = _convert('yolo-pose', labels, tmp_path / 'o.json', '--images-dir', str(images))
    names = coco['categories'][0]['keypoints']
    got = _kp(coco['annotations'][0], names)
    for n, p in CORNERS.items():
        assert got[n] == pytest.approx(p, abs=0.01)
    assert coco['annotations'][0]['bbox'] == pytest.approx([50, 40, 60, 40], abs=0.01)
    assert 'a.txt line 2: 4 values, expected 17' in proc.stderr and 'no image named zzz' in proc.stderr


def test_unknown_format_and_strict(tmp_path):
    proc = run_tool('tools/convert_dataset.py', '--from', 'dicomweb', '--src', 'x', '--out', str(tmp_path / 'o'))
    assert proc.returncode == 2 and 'invalid choice' in proc.stderr
    _image(tmp_path)
    (tmp_path / 'v.csv').write_text('file_name,top_left,top_right,bottom_right,bottom_left\na.png,x,"(1,2)","(1,2)",'
                                    '"(1,2)"\n')
    strict = run_tool('tools/convert_dataset.py', '--from', 'csv-vertebra', '--src', str(tmp_path / 'v.csv'),
                      '--out', str(tmp_path / 'o.json'), '--strict')
    assert strict.returncode == 2 and 'v.csv row 2' in strict.stderr and not (tmp_path / 'o.json').exists()


def test_csv_image_plain_coordinate_columns_and_an_odd_count(tmp_path):
    _image(tmp_path)
    flat = ','.join(str(v) for p in (TL, TR, BL, BR) for v in p)
    (tmp_path / 'c.csv').write_text(f'name,x1,y1,x2,y2,x3,y3,x4,y4\na.png,{flat}\na.png,{flat},7\n')
    coco, proc = _convert('csv-image', tmp_path / 'c.csv', tmp_path / 'o.json')
    assert _kp(coco['annotations'][0], coco['categories'][0]['keypoints']) == CORNERS
    assert 'c.csv row 3: 9 coordinates: an odd number' in proc.stderr


def test_labelme_folder_with_its_files_in_sub_folders_says_so(tmp_path):
    (tmp_path / 'patient1').mkdir()
    (tmp_path / 'patient1' / 'a.json').write_text('{}')
    proc = run_tool('tools/convert_dataset.py', '--from', 'labelme', '--src', str(tmp_path), '--out',
                    str(tmp_path / 'o.json'))
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr
    assert f'{tmp_path}: no labelme JSON files (*.json) in the folder; 1 in its sub-folders' in proc.stderr
