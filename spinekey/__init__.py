"""SpineKey: vertebra detection, segmentation and landmarks on spine radiographs (mmdet 3.x).

Importing the package registers every dataset, transform and model part in mmdet's registries and makes
SpineKey checkpoints loadable with torch's safe (``weights_only``) unpickler.
"""
from spinekey.io.checkpoint import allow_checkpoint_globals

allow_checkpoint_globals()

from spinekey import datasets, evaluation, models  # noqa: E402,F401  (registration side effects)
from spinekey.visualization import spine_visualizer  # noqa: E402,F401  (registers SpineLocalVisualizer)
from spinekey.utils import amp  # noqa: E402,F401  (registers SpineKeyAmpOptimWrapper)

__version__ = '0.1.0'
__all__ = ['__version__']
