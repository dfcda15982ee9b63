# The AASCE refiner trained on stage 1's own errors (one change, for the ablation in docs/aasce.md): three in four
# training patches are framed with an error drawn from an error bank, stage 1's measured errors on another fold's
# held-out films (tools/stage1_errors.py), the rest with the Gaussian noise of the base config. Stage 1's errors
# are harder to undo than Gaussian noise of their size (docs/aasce.md, "What the refiner's training noise misses");
# on fold 0 this refiner did not gain (9.49% against 9.11% blended), so make aasce does not use it.
# The bank's films must be in this fold's training part and never among the films the refiner is judged on:
# for fold 0, fold 1's held-out films (they are in fold0_train.json), and the other way round.
#   python tools/stage1_errors.py --results FOLD1_STAGE1/results.json --gt data/aasce/fold1_val.json \
#       --out work_dirs/error_banks/rotate_fold1.npy
#   python tools/train.py THIS --work-dir work_dirs/refiner_bank_fold0
#   (fold 1: --cfg-options train_dataloader.dataset.ann_file=fold1_train.json \
#       train_dataloader.dataset.error_bank=work_dirs/error_banks/rotate_fold0.npy)
_base_ = './refiner_lite0-integral_p192_5e_aasce_cpu.py'
train_dataloader = dict(dataset=dict(error_bank='work_dirs/error_banks/rotate_fold1.npy', error_bank_share=0.75))
