from .column_ends_dataset import ColumnEndsDataset
from .end_level_patches import EndLevelPatchDataset
from .spine_coco_dataset import SpineCocoDataset
from .vertebra_patch_dataset import VertebraPatchDataset
from .transforms import (KeypointRandomFlip, KeypointResize, LoadSpineAnnotations,
                         PackSpineInputs)

__all__ = ['SpineCocoDataset', 'LoadSpineAnnotations', 'KeypointResize', 'KeypointRandomFlip',
           'PackSpineInputs', 'VertebraPatchDataset', 'EndLevelPatchDataset', 'ColumnEndsDataset']
