# The refiner (stage 2; spinekey.models.refiner.VertebraRefiner): ImageNet EfficientNet-Lite0 features at strides
# 4/8/16 fused at stride 4, a soft-argmax heatmap per keypoint (48 x 48 over a 192 px patch) and a learned
# Laplace scale per coordinate. The stride-4/8 stages stay frozen (ImageNet edges; it also halves the backward
# cost on a CPU). num_keypoints comes from the dataset in training and from the checkpoint at inference.
# channels_last: convolutions in channels-last layout, about 1.5x faster training steps on a CPU (same numbers).
model = dict(
    type='VertebraRefiner',
    backbone=dict(type='EfficientNetLite', arch='efficientnet-lite0', pretrained=True, frozen_stages=2,
                  norm_eval=True, out_indices=(0, 1, 2)),
    in_channels=(24, 40, 112), num_keypoints=4, patch_size=192, heatmap_size=48, channels=64, unc_weight=1.0,
    channels_last=True)
# how inference frames a vertebra (spinekey.datasets.patch_geometry.vertebra_frame); the training patches use
# the same numbers (configs/_base_/datasets/*_patches.py). An AASCE vertebra is ~170 px wide at native
# resolution: 1.5 x 170 px into 192 px is 0.74 of native (stage 1 sees the film at about 0.5), and the patch
# shows the neighbouring endplates above and below.
refine = dict(patch_size=192, context=1.5, oriented=True, passes=1)
