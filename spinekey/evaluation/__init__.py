from .evaluate import evaluate, format_report
from .matching import match_results
from .metrics import SpineKeypointMetric

__all__ = ['evaluate', 'format_report', 'match_results', 'SpineKeypointMetric']
