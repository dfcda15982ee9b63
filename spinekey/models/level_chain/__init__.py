from spinekey.models.level_chain.features import NUM_FEATURES, detection_features
from spinekey.models.level_chain.level_chain_model import CHAIN_CLASSES, CHAIN_LEVELS, LevelChainModel, decode_levels
from spinekey.models.level_chain.simulated_chains import SimulatedChainDataset

__all__ = ['CHAIN_CLASSES', 'CHAIN_LEVELS', 'LevelChainModel', 'NUM_FEATURES', 'SimulatedChainDataset',
           'decode_levels', 'detection_features']
