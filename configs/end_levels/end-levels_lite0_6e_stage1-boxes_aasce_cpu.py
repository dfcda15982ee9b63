# The end-level classifier trained half on stage 1's own boxes (spinekey.datasets.EndLevelPatchDataset,
# `detections`): each end class is framed on the detection stage 1 made for it (named by the annotated level it
# sits on, or as the level above T1 / below L5 when it sits one spacing past an end) half the time, on the
# simulated error of the annotation the other half. Stage 1's detections on the fold's *training* films come first:
#   python tools/infer.py --config configs/spinekey/spinekey_aasce_lite0_cpu.py \
#       --checkpoint work_dirs/aasce_lite0_cpu/epoch_7.pth --ann-file data/aasce/fold0_train.json \
#       --img-prefix data/aasce/images --score-thr 0.05 --rotate-test 0 \
#       --out work_dirs/aasce_lite0_cpu/train_fold0/results.json
#   python tools/train.py THIS --work-dir work_dirs/end_levels_boxes_fold0
# (another fold: --cfg-options train_dataloader.dataset.ann_file=fold1_train.json
#   "train_dataloader.dataset.detections=[work_dirs/aasce_lite0_cpu_f1/train_fold1/results.json]")
_base_ = ['./end-levels_lite0_6e_aasce_cpu.py']
train_dataloader = dict(dataset=dict(detections=['work_dirs/aasce_lite0_cpu/train_fold0/results.json'],
                                     detection_share=0.5, detection_score_thr=0.05))
