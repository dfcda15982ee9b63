# The refiner with a heatmap + offset output (issue 32's third codec; spinekey.models.refiner.offset_codec): the
# shipped refiner (refiner_lite0-integral_p192_5e_aasce_cpu.py) with its 48 x 48 heatmap learned as a Gaussian of
# 1.5 cells (binary cross-entropy per cell), a 2-D offset per cell learned within 2 cells of the corner, decoded
# at the argmax cell; the Laplace scale read at that cell. Same patches, same 5 epochs.
# Train: python tools/train.py THIS --work-dir work_dirs/refiner_offset_fold0
#   (another fold: --cfg-options fold=1 train_dataloader.dataset.ann_file=fold1_train.json)
_base_ = ['./refiner_lite0-integral_p192_5e_aasce_cpu.py']
model = dict(codec='offset', offset_sigma=1.5, offset_radius=2.0)
