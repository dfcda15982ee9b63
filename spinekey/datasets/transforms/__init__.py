from .formatting import PackSpineInputs
from .geometric import KeypointRandomAffine, KeypointRandomFlip, KeypointResize, flip_keypoints
from .loading import LoadSpineAnnotations, LoadSpineImage

__all__ = ['LoadSpineAnnotations', 'LoadSpineImage', 'KeypointResize', 'KeypointRandomFlip', 'KeypointRandomAffine',
           'PackSpineInputs', 'flip_keypoints']
