from .heads import HeatmapKeypointHead
from .roi_heads import KeypointCascadeRoIHead

__all__ = ['HeatmapKeypointHead', 'KeypointCascadeRoIHead']
