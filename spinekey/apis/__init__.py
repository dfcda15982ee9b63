from .inference import build_test_pipeline, init_model, iter_predictions
from .results import instances_to_coco

__all__ = ['init_model', 'build_test_pipeline', 'iter_predictions', 'instances_to_coco']
