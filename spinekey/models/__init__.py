from .backbones import EfficientNetLite
from .end_levels import EndLevelClassifier
from .heads import HeatmapKeypointHead
from .level_chain import LevelChainModel, SimulatedChainDataset
from .refiner import VertebraRefiner
from .roi_heads import KeypointCascadeRoIHead

__all__ = ['EfficientNetLite', 'EndLevelClassifier', 'HeatmapKeypointHead', 'KeypointCascadeRoIHead', 'LevelChainModel',
           'SimulatedChainDataset', 'VertebraRefiner']
