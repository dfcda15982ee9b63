# The AASCE refiner on 128 px patches instead of 192 (one change, for the crop-size row of docs/aasce.md): the same
# 1.5 x the vertebra's width, so a 170 px vertebra is seen at about 0.5 of native resolution (what stage 1 sees)
# instead of 0.74; the heatmap keeps stride 4 (32 x 32). About half the compute of a 192 px step.
# Train: python tools/train.py THIS --work-dir work_dirs/refiner128_fold0
#   --cfg-options fold=1 train_dataloader.dataset.ann_file=fold1_train.json   (another fold)
_base_ = './refiner_lite0-integral_p192_5e_aasce_cpu.py'
model = dict(patch_size=128, heatmap_size=32)
refine = dict(patch_size=128)
patch = dict(patch_size=128)
train_dataloader = dict(dataset=dict(patch_size=128))
