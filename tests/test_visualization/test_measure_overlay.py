"""The measurement overlay marks review vertebrae in red and prints the film's QC status and reasons."""
import numpy as np

from spinekey.structures.vertebra import CORNERS
from spinekey.measurement.options import MeasureOptions
from spinekey.measurement.spine import measure_spine
from spinekey.visualization.measure_overlay import OK_COLOUR, REVIEW_COLOUR, draw_measurements
from tests.test_measurement.test_chain import column


def _pixels_of(img, colour, box):
    x1, y1, x2, y2 = box
    patch = img[y1:y2, x1:x2].astype(int)
    return int((np.abs(patch - np.array(colour)).sum(-1) < 30).sum())


def _spine():
    spine = column(17)
    for v in spine:
        v.keypoint_scores = {n: 0.9 for n in CORNERS}
    return spine


def _outline_box(v, pad=3):
    pts = np.array([v.points[n] for n in CORNERS])
    return (int(pts[:, 0].min()) - pad, int(pts[:, 1].min()) - pad, int(pts[:, 0].max()) + pad,
            int(pts[:, 1].max()) + pad)


def test_a_review_vertebra_is_outlined_in_red_and_the_film_says_why():
    canvas = np.full((1400, 600), 90, np.uint8)
    clean = measure_spine(_spine(), 'left', options=MeasureOptions(expected_levels=17))
    assert clean.image['qc_status'] == 'ok'
    ok_img = draw_measurements(canvas, clean, 'left')
    spine = _spine()
    spine[8].score = 0.2  # low_score on the ninth vertebra
    flagged = measure_spine(spine, 'left', options=MeasureOptions(expected_levels=17))
    assert flagged.vertebrae[8]['qc_status'] == 'review' and flagged.image['qc_status'] == 'review'
    img = draw_measurements(canvas, flagged, 'left')
    box = _outline_box(flagged.ordered[8])
    assert _pixels_of(img, REVIEW_COLOUR, box) > 20 and _pixels_of(ok_img, REVIEW_COLOUR, box) == 0
    corner = (0, 0, 190, 110)  # status and reasons in the top-left corner, left of the column
    assert _pixels_of(img, REVIEW_COLOUR, corner) > 50 and _pixels_of(ok_img, OK_COLOUR, corner) > 20
    assert _pixels_of(ok_img, REVIEW_COLOUR, corner) == 0


def test_a_label_reads_once_as_opencv_draws_it_alone():
    """The label's bright pixels are those of the text drawn once by OpenCV on a plain canvas, and the dark box
    behind it spans the text, not more: no second, offset copy (OpenCV 5 drew the old outline wider than the
    text, so labels read "degg")."""
    import cv2

    from spinekey.visualization.measure_overlay import LABEL_BACKGROUND, _text
    text, org, scale, colour = 'Cobb 44 +-14 deg', (20, 60), 0.9, (0, 255, 255)
    drawn = np.full((100, 400, 3), 60, np.uint8)  # a dark film: only the label is bright
    _text(drawn, text, org, colour, scale)
    alone = np.zeros((100, 400, 3), np.uint8)
    alone[:] = LABEL_BACKGROUND
    cv2.putText(alone, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)
    ink_alone = alone.astype(int).sum(-1) > 300
    ink_drawn = drawn.astype(int).sum(-1) > 300
    assert ink_alone.sum() > 100
    assert (ink_drawn & ink_alone).sum() / (ink_drawn | ink_alone).sum() > 0.95
    dark = (np.abs(drawn.astype(int) - LABEL_BACKGROUND).sum(-1) < 10)
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cols = np.where(dark.any(0))[0]
    assert cols.min() >= org[0] - 4 and cols.max() <= org[0] + w + 4  # the box hugs the text
    text_cols = np.where(ink_alone.any(0))[0]
    assert text_cols.max() <= cols.max() and text_cols.min() >= cols.min()  # and holds all of it


def test_a_placed_level_says_so_in_its_label():
    """A level the refiner placed where stage 1 missed one (``filled``) is labelled "placed: ...": its label
    box runs wider than the same vertebra's label when it was found."""
    from spinekey.visualization.measure_overlay import LABEL_BACKGROUND
    canvas = np.full((1400, 600), 90, np.uint8)

    def label_width(filled):
        spine = _spine()
        spine[8].filled = filled
        img = draw_measurements(canvas, measure_spine(spine, 'left', options=MeasureOptions(expected_levels=17)),
                                'left')
        x1, y1, x2, y2 = _outline_box(spine[8], pad=0)
        row = img[(y1 + y2) // 2 - 3:(y1 + y2) // 2 + 3, x2:]
        dark = (np.abs(row.astype(int) - LABEL_BACKGROUND).sum(-1) < 10).any(0)
        return int(dark.sum())

    found, placed = label_width(False), label_width(True)
    assert found > 50 and placed > found + 30
