from spinekey.models.end_levels.column_ends import END_DETECTIONS, ColumnEnds, read_column_ends
from spinekey.models.end_levels.end_level_classifier import EndLevelClassifier

__all__ = ['END_DETECTIONS', 'ColumnEnds', 'EndLevelClassifier', 'read_column_ends']
