from .heatmap_keypoint_head import HeatmapKeypointHead

__all__ = ['HeatmapKeypointHead']
