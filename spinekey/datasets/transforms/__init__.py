from .formatting import PackSpineInputs
from .geometric import (KeypointRandomAffine, KeypointRandomCrop, KeypointRandomFlip, KeypointResize, flip_keypoints,
                        warp_sample)
from .loading import LoadImageFromFileOrDicom, LoadSpineAnnotations, LoadSpineImage
from .photometric import RadiographCLAHE, RadiographPhotometric

__all__ = ['LoadImageFromFileOrDicom', 'LoadSpineAnnotations', 'LoadSpineImage', 'KeypointResize',
           'KeypointRandomFlip', 'KeypointRandomAffine', 'KeypointRandomCrop', 'RadiographPhotometric',
           'RadiographCLAHE', 'PackSpineInputs', 'flip_keypoints', 'warp_sample']
