from .keypoint_cascade_roi_head import KeypointCascadeRoIHead

__all__ = ['KeypointCascadeRoIHead']
