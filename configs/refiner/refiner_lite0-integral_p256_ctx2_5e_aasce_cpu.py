# The AASCE refiner seeing its neighbours (one change, for the context row of docs/aasce.md): 2.0 x the vertebra's
# size into 256 px instead of 1.5 x into 192 px, so the scale stays (a 170 px vertebra at 0.74 of native) and the
# patch shows the whole vertebra above and below instead of their nearer endplates; the heatmap keeps stride 4
# (64 x 64). About 1.8x the compute of a 192 px step.
# Train: python tools/train.py THIS --work-dir work_dirs/refiner_ctx2_fold0
#   --cfg-options fold=1 train_dataloader.dataset.ann_file=fold1_train.json   (another fold)
_base_ = './refiner_lite0-integral_p192_5e_aasce_cpu.py'
model = dict(patch_size=256, heatmap_size=64)
refine = dict(patch_size=256, context=2.0)
patch = dict(patch_size=256, context=2.0)
train_dataloader = dict(dataset=dict(patch_size=256, context=2.0))
