from .keypoint_metrics import auc, epe, keypoint_errors, line_tilt_errors, pck, pck_curve, sdr
from .matching import box_iou_xywh, hungarian_match

__all__ = ['auc', 'epe', 'keypoint_errors', 'line_tilt_errors', 'pck', 'pck_curve', 'sdr', 'box_iou_xywh',
           'hungarian_match']
