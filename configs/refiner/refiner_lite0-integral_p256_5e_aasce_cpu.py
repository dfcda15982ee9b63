# The AASCE refiner on 256 px patches instead of 192 (one change, for the crop-size row of docs/aasce.md): the same
# 1.5 x the vertebra's width, so a 170 px vertebra is seen at about 1.0 of native resolution instead of 0.74; the
# heatmap keeps stride 4 (64 x 64). About 1.8x the compute of a 192 px step.
# Train: python tools/train.py THIS --work-dir work_dirs/refiner256_fold0
#   --cfg-options fold=1 train_dataloader.dataset.ann_file=fold1_train.json   (another fold)
_base_ = './refiner_lite0-integral_p192_5e_aasce_cpu.py'
model = dict(patch_size=256, heatmap_size=64)
refine = dict(patch_size=256)
patch = dict(patch_size=256)
train_dataloader = dict(dataset=dict(patch_size=256))
