# The refiner with a SimCC output (issue 32's codec row; spinekey.models.refiner.simcc_codec): the shipped refiner
# (refiner_lite0-integral_p192_5e_aasce_cpu.py) with each keypoint's stride-4 map flattened into a 256-wide hidden
# layer and classified over 384 bins per axis (2 per patch pixel), learned with Gaussian soft labels of 6 bins
# (3 patch pixels, about 4 px of an AASCE film) by KL divergence, plus the same Laplace scale. Same patches, same
# 5 epochs. Train: python tools/train.py THIS --work-dir work_dirs/refiner_simcc_fold0
#   (another fold: --cfg-options fold=1 train_dataloader.dataset.ann_file=fold1_train.json)
_base_ = ['./refiner_lite0-integral_p192_5e_aasce_cpu.py']
model = dict(codec='simcc', simcc_split=2, simcc_sigma=6.0, simcc_hidden=256)
