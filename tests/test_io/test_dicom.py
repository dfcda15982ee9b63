"""DICOM files the test writes itself: 8/16-bit, MONOCHROME1/2, with and without window tags, multi-frame,
no pixel data, compressed without a decoder; and the same files through read_image, infer and dicom_to_png."""
import json
import os

import numpy as np
import pytest

pydicom = pytest.importorskip('pydicom')
from pydicom.dataset import Dataset, FileMetaDataset  # noqa: E402
from pydicom.uid import ExplicitVRLittleEndian, JPEGLSLossless, SecondaryCaptureImageStorage, generate_uid  # noqa: E402

from spinekey.io.dicom import read_dicom, window_to_uint8  # noqa: E402
from spinekey.utils.errors import SpineKeyError  # noqa: E402
from tests.conftest import run_tool  # noqa: E402


def write_dicom(path, pixels, photometric='MONOCHROME2', window=None, spacing=(0.2, 0.3), imager=False,
                frames=1, pixel_data=True, syntax=ExplicitVRLittleEndian, slope=None, intercept=None, view=None):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = syntax
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.PatientID = 'test'
    ds.Modality = 'DX'
    if pixel_data:
        arr = np.asarray(pixels)
        ds.Rows, ds.Columns = arr.shape[-2:]
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = photometric
        bits = 8 if arr.dtype == np.uint8 else 16
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0
        if frames > 1:
            ds.NumberOfFrames = frames
        ds.PixelData = arr.tobytes() if syntax == ExplicitVRLittleEndian else \
            pydicom.encaps.encapsulate([b'\xff\xd8not really jpeg-ls\xff\xd9'])
    if spacing:
        setattr(ds, 'ImagerPixelSpacing' if imager else 'PixelSpacing', list(spacing))
    if window:
        ds.WindowCenter, ds.WindowWidth = window
    if slope is not None:
        ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
    if view is not None:
        ds.ViewPosition = view
    ds.save_as(path, enforce_file_format=True)
    return path


def ramp(dtype=np.uint16, top=4000):
    return np.tile(np.linspace(0, top, 64).astype(dtype), (32, 1))


def test_16bit_with_window_tags(tmp_path):
    img, spacing = read_dicom(write_dicom(tmp_path / 'a.dcm', ramp(), window=(2000, 2000)))
    assert img.dtype == np.uint8 and img.shape == (32, 64) and spacing == [0.2, 0.3]
    values = ramp()[0].astype(float)
    expected = np.clip((values - 1000) / 2000 * 255, 0, 255).round()
    assert np.array_equal(img[0], expected.astype(np.uint8))


def test_without_window_uses_mean_2_5_sd_of_nonzero_pixels(tmp_path):
    pixels = ramp()
    img, _ = read_dicom(write_dicom(tmp_path / 'b.dcm', pixels))
    nz = pixels[pixels != 0].astype(float)
    low, high = nz.mean() - 2.5 * nz.std(), nz.mean() + 2.5 * nz.std()
    assert np.array_equal(img, np.clip((pixels - low) / (high - low) * 255, 0, 255).round().astype(np.uint8))


def test_monochrome1_is_inverted_and_8bit_works(tmp_path):
    pixels = ramp(np.uint8, 250)
    mono2, _ = read_dicom(write_dicom(tmp_path / 'm2.dcm', pixels, window=(125, 250)))
    mono1, _ = read_dicom(write_dicom(tmp_path / 'm1.dcm', pixels, photometric='MONOCHROME1', window=(125, 250)))
    assert np.array_equal(mono1, 255 - mono2) and mono2[0, -1] > mono2[0, 0]


def test_imager_spacing_rescale_and_central_frame(tmp_path):
    frames = np.stack([np.full((8, 8), v, np.uint16) for v in (100, 2000, 100)])
    frames[1, :, 4:] = 3000
    img, spacing = read_dicom(write_dicom(tmp_path / 'f.dcm', frames, frames=3, imager=True, spacing=(0.15, 0.15),
                                          window=(2500, 1000), slope=1, intercept=0))
    assert spacing == [0.15, 0.15]
    assert img[0, 0] == 0 and img[0, 7] == 255  # the middle frame's 2000 | 3000 split, not 100


def test_no_pixel_data_and_undecodable_are_one_line_errors(tmp_path):
    with pytest.raises(SpineKeyError, match='no pixel data .*SOP class is Secondary Capture'):
        read_dicom(write_dicom(tmp_path / 'report.dcm', None, pixel_data=False))
    garbage = tmp_path / 'garbage.dcm'
    garbage.write_bytes(b'\0' * 128 + b'DICM' + b'\0' * 16)  # starts like DICOM, holds nothing
    with pytest.raises(SpineKeyError, match='damaged or not a DICOM image'):
        read_dicom(str(garbage))
    path = write_dicom(tmp_path / 'jls.dcm', ramp(), syntax=JPEGLSLossless)
    with pytest.raises(SpineKeyError, match='cannot decode pixel data .*JPEG-LS'):
        read_dicom(path)


def test_window_helper_degenerate_image():
    assert np.array_equal(window_to_uint8(np.zeros((2, 2)), None, None), np.zeros((2, 2), np.uint8))


def test_dicom_to_png_keeps_spacing_and_lists_bad_files(tmp_path):
    src = tmp_path / 'src'
    os.makedirs(src / 'sub')
    write_dicom(src / 'a.dcm', ramp(), window=(2000, 2000))
    write_dicom(src / 'sub' / 'noext', ramp(), spacing=(0.5, 0.5))  # found by the DICM magic
    write_dicom(src / 'report.dcm', None, pixel_data=False)
    out = tmp_path / 'out'
    proc = run_tool('tools/dicom_to_png.py', '--src', str(src), '--out', str(out))
    assert proc.returncode == 0, proc.stderr
    spacing = json.loads((out / 'pixel_spacing.json').read_text())
    assert spacing == {'a.png': [0.2, 0.3], 'sub/noext.png': [0.5, 0.5]}
    assert 'report.dcm: DICOM file has no pixel data' in proc.stderr
    import cv2
    assert cv2.imread(str(out / 'a.png'), cv2.IMREAD_GRAYSCALE).shape == (32, 64)


def test_dicom_to_png_keeps_two_films_that_map_to_one_name_apart(tmp_path):
    """a.dcm and an extension-less a are two films: a.png and a~2.png, neither over the other."""
    src = tmp_path / 'src'
    src.mkdir()
    write_dicom(src / 'a.dcm', ramp(), spacing=(0.2, 0.2))
    write_dicom(src / 'a', ramp(), spacing=(0.7, 0.7))
    out = tmp_path / 'out'
    run_tool('tools/dicom_to_png.py', '--src', str(src), '--out', str(out), check=True)
    spacing = json.loads((out / 'pixel_spacing.json').read_text())
    assert spacing == {'a.png': [0.7, 0.7], 'a~2.png': [0.2, 0.2]}  # sorted order: 'a' before 'a.dcm'


def test_read_image_and_training_loader_accept_dicom(tmp_path):
    from spinekey.datasets.transforms import LoadSpineImage
    from spinekey.io.images import list_images, read_image
    path = write_dicom(tmp_path / 'x.dcm', ramp(), window=(2000, 2000))
    assert read_image(str(path)).shape == (32, 64, 3)
    assert list_images(str(tmp_path))[0] == [str(path)]
    out = LoadSpineImage().transform({'img_path': str(path)})
    assert out['img'].shape == (32, 64, 3) and out['img_shape'] == (32, 64)


def test_spacing_reaches_converted_coco_and_measurements(tmp_path):
    write_dicom(tmp_path / 'a.dcm', np.zeros((300, 200), np.uint16) + 100, spacing=(0.5, 0.5), window=(100, 50))
    corners = {'top_left': (50, 40), 'top_right': (110, 40), 'bottom_right': (110, 80), 'bottom_left': (50, 80)}
    cells = ','.join(f'"({x},{y})"' for x, y in corners.values())
    lower = ','.join(f'"({x},{y + 50})"' for x, y in corners.values())
    (tmp_path / 'v.csv').write_text(f'file_name,top_left,top_right,bottom_right,bottom_left\na.dcm,{cells}\n'
                                    f'a.dcm,{lower}\n')
    out = tmp_path / 'gt.json'
    assert run_tool('tools/convert_dataset.py', '--from', 'csv-vertebra', '--src', str(tmp_path / 'v.csv'),
                    '--out', str(out)).returncode == 0
    gt = json.loads(out.read_text())
    assert gt['images'][0]['pixel_spacing'] == [0.5, 0.5]
    results = [{'image_id': 0, 'file_name': 'a.dcm', 'bbox': a['bbox'], 'score': 0.9, 'keypoints': a['keypoints']}
               for a in gt['annotations']]
    (tmp_path / 'results.json').write_text(json.dumps(results))
    proc = run_tool('tools/measure.py', '--input', str(tmp_path / 'results.json'), '--images-dir', str(tmp_path),
                    '--out', str(tmp_path / 'm'), '--anterior', 'left')
    assert proc.returncode == 0, proc.stderr
    import csv
    rows = list(csv.DictReader(open(tmp_path / 'm' / 'measurements.csv')))
    assert float(rows[0]['height_anterior_mm']) == pytest.approx(40 * 0.5)  # spacing read from the DICOM


@pytest.mark.parametrize('tag, view', [('AP', 'ap'), ('PA', 'ap'), (' ll ', 'lateral'), ('RL', 'lateral'),
                                       ('LLO', None), (None, None)])
def test_the_view_position_tag_says_ap_or_lateral(tmp_path, tag, view):
    from spinekey.io.dicom import dicom_view
    assert dicom_view(str(write_dicom(tmp_path / 'a.dcm', ramp(), view=tag))) == view
    (tmp_path / 'junk.dcm').write_bytes(b'\0' * 128 + b'DICM' + b'garbage')
    assert dicom_view(str(tmp_path / 'junk.dcm')) is None  # the film's own read says what is wrong


def test_a_dicom_films_view_decides_its_measures_unless_someone_said(tmp_path):
    """measure_film on a DICOM tagged AP measures it as AP; a view the user or the model config gave wins."""
    from spinekey.apis.measuring import measure_film
    from spinekey.measurement.options import MeasureOptions
    from spinekey.structures.vertebra import ImageInput, VertebraInput
    column = [VertebraInput({'top_left': (10, y), 'top_right': (50, y + 3), 'bottom_right': (50, y + 20),
                             'bottom_left': (10, y + 15)}) for y in (5, 30, 55)]  # wedged: a grade if lateral
    im = ImageInput(image_id=1, file_name='a.dcm', vertebrae=column)
    ap_film = str(write_dicom(tmp_path / 'a.dcm', ramp(), view='AP'))
    plain = str(write_dicom(tmp_path / 'b.dcm', ramp()))
    opts = MeasureOptions(anterior='left', unc_samples=0)
    tagged = measure_film(im, opts, ap_film)
    assert 'AP view' in tagged.image['note'] and all('genant_grade' not in r for r in tagged.vertebrae)
    untagged = measure_film(im, opts, plain)
    assert 'AP view' not in untagged.image['note'] and all('genant_grade' in r for r in untagged.vertebrae)
    told = measure_film(im, MeasureOptions(anterior='left', unc_samples=0, view='lateral'), ap_film)
    assert all('genant_grade' in r for r in told.vertebrae)
