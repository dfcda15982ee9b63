# The AASCE refiner on axis-aligned patches (one change, for the oriented-or-not row of docs/aasce.md): each patch
# is cut along the film's axes instead of turned so the stage-1 endplates are level, so the network sees every
# tilt and must place the corners of a tilted vertebra itself instead of a small residual in a canonical frame.
# Train: python tools/train.py THIS --work-dir work_dirs/refiner_axis_fold0
#   --cfg-options fold=1 train_dataloader.dataset.ann_file=fold1_train.json   (another fold)
_base_ = './refiner_lite0-integral_p192_5e_aasce_cpu.py'
refine = dict(oriented=False)
patch = dict(oriented=False)
train_dataloader = dict(dataset=dict(oriented=False))
