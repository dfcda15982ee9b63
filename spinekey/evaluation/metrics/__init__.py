from .spine_keypoint_metric import SpineKeypointMetric

__all__ = ['SpineKeypointMetric']
