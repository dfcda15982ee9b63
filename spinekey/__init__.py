"""SpineKey: vertebra detection, segmentation and landmarks on spine radiographs (mmdet 3.x).

Importing the package registers every dataset, transform and model part in mmdet's registries and makes
SpineKey checkpoints loadable with torch's safe (``weights_only``) unpickler.
"""
import warnings

from spinekey.io.checkpoint import allow_checkpoint_globals

allow_checkpoint_globals()
# mmdet 3.3's mask head copies a tensor with new_tensor on every film; torch then warns on every run. It is
# mmdet's code and harmless: the one warning silenced, for mmdet's mask heads only.
warnings.filterwarnings('ignore', message='To copy construct from a tensor', category=UserWarning,
                        module=r'mmdet\.models\.roi_heads\.mask_heads')

from spinekey import datasets, evaluation, models  # noqa: E402,F401  (registration side effects)
from spinekey.visualization import spine_visualizer  # noqa: E402,F401  (registers SpineLocalVisualizer)
from spinekey.utils import amp  # noqa: E402,F401  (registers SpineKeyAmpOptimWrapper)

__version__ = '0.1.0'
__all__ = ['__version__']
