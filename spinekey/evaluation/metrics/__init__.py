from .dump_results import DumpSpineResults
from .spine_keypoint_metric import SpineKeypointMetric

__all__ = ['DumpSpineResults', 'SpineKeypointMetric']
