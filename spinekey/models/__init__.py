from .backbones import EfficientNetLite
from .heads import HeatmapKeypointHead
from .level_chain import LevelChainModel, SimulatedChainDataset
from .refiner import VertebraRefiner
from .roi_heads import KeypointCascadeRoIHead

__all__ = ['EfficientNetLite', 'HeatmapKeypointHead', 'KeypointCascadeRoIHead', 'LevelChainModel',
           'SimulatedChainDataset', 'VertebraRefiner']
