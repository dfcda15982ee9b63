# The refiner (stage 2; spinekey.models.refiner.VertebraRefiner): ImageNet EfficientNet-Lite0 features at strides
# 4/8/16 fused at stride 4, a soft-argmax heatmap per keypoint (32 x 32 over a 128 px patch) and a learned
# Laplace scale per coordinate. num_keypoints is set from the checkpoint's keypoint names at inference.
model = dict(
    type='VertebraRefiner',
    backbone=dict(type='EfficientNetLite', arch='efficientnet-lite0', pretrained=True, frozen_stages=1,
                  norm_eval=True, out_indices=(0, 1, 2)),
    in_channels=(24, 40, 112), num_keypoints=4, patch_size=128, heatmap_size=32, channels=64, unc_weight=1.0)
# how inference frames a vertebra (spinekey.datasets.patch_geometry.vertebra_frame); the training patches use
# the same numbers (configs/_base_/datasets/*_patches.py)
refine = dict(patch_size=128, context=1.8, oriented=True, passes=1)
