# The AASCE refiner with every backbone stage trained (one change, for the ablation in docs/aasce.md): the base
# config keeps the stride-2/4 stages at their ImageNet weights (frozen_stages=2); here they learn the endplate
# edges too. The refiner placed from the true corners is still 7.7 px off on fold 0's held-out films, 11 px on
# the vertebrae stage 1 finds hard (tools/check_refiner.py): what it sees of an edge may be what limits it.
#   python tools/train.py THIS --work-dir work_dirs/refiner_unfrozen_fold0
#   (fold 1: --cfg-options train_dataloader.dataset.ann_file=fold1_train.json)
_base_ = './refiner_lite0-integral_p192_5e_aasce_cpu.py'
model = dict(backbone=dict(frozen_stages=-1))
