from .formatting import PackSpineInputs
from .geometric import KeypointRandomAffine, KeypointRandomFlip, KeypointResize, flip_keypoints
from .loading import LoadSpineAnnotations

__all__ = ['LoadSpineAnnotations', 'KeypointResize', 'KeypointRandomFlip', 'KeypointRandomAffine', 'PackSpineInputs',
           'flip_keypoints']
