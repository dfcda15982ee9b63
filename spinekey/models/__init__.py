from .backbones import EfficientNetLite
from .heads import HeatmapKeypointHead
from .refiner import VertebraRefiner
from .roi_heads import KeypointCascadeRoIHead

__all__ = ['EfficientNetLite', 'HeatmapKeypointHead', 'KeypointCascadeRoIHead', 'VertebraRefiner']
