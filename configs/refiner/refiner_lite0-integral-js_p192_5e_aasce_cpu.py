# The shipped AASCE refiner (refiner_lite0-integral_p192_5e_aasce_cpu.py) with DSNT's heatmap regulariser: the
# Jensen-Shannon divergence between each soft-argmax heatmap and a Gaussian of 1 cell (4 patch px) at the true
# corner, weighted patch_size / 2 = 96 against the L1 in patch pixels (DSNT's weight 1 against coordinates in
# [-1, 1]). Same patches, same 5 epochs. Train: python tools/train.py THIS --work-dir work_dirs/refiner_js_fold0
#   (another fold: --cfg-options fold=1 train_dataloader.dataset.ann_file=fold1_train.json)
_base_ = ['./refiner_lite0-integral_p192_5e_aasce_cpu.py']
model = dict(heatmap_reg=96.0, heatmap_reg_sigma=1.0)
