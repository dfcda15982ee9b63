"""The Python API: build a model, run films (path, array, DICOM, a batch) through detection, keypoints and
measurements. Tools, the report and services go through it."""
from spinekey.measurement.options import MeasureOptions
from spinekey.structures.results import instances_to_coco

from .batch import FilmSet, films_in_folder, films_of_coco
from .inference import build_test_pipeline, init_model, iter_predictions
from .inferencer import Film, SpineKeyInferencer
from .measuring import FilmMeasurement, measure_film

__all__ = ['init_model', 'build_test_pipeline', 'iter_predictions', 'instances_to_coco', 'SpineKeyInferencer',
           'Film', 'MeasureOptions', 'FilmMeasurement', 'measure_film', 'FilmSet', 'films_in_folder',
           'films_of_coco']
