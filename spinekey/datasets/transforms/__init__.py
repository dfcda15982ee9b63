from .formatting import PackSpineInputs
from .geometric import KeypointRandomFlip, KeypointResize, flip_keypoints
from .loading import LoadSpineAnnotations

__all__ = ['LoadSpineAnnotations', 'KeypointResize', 'KeypointRandomFlip', 'PackSpineInputs',
           'flip_keypoints']
