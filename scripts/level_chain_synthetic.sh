#!/usr/bin/env bash
# The level chain's check on exact truth (issue: one vertebra per level, learned): a synthetic set whose columns
# run from C7 or down to the sacrum -> stage 1 (the demo config) trained on it -> its detections on the training
# films -> the level chain trained on simulated errors mixed with those detections -> both checked on the test
# split and on a second, unseen set (seed 1). About 20 minutes on 2 cores; re-running reuses what is finished.
# Numbers: docs/aasce.md, "The learned level chain on the synthetic split".
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
PY=.venv/bin/python
DATA=${CHAIN_DATA:-data/synthetic_ends}
UNSEEN=${CHAIN_UNSEEN:-data/synthetic_ends_seed1}
WORK=${CHAIN_WORK:-work_dirs/level_chain_synthetic}
STAGE1_CFG=configs/spinekey/spinekey_demo_cpu.py
CHAIN_CFG=configs/level_chain/level-chain_bigru_30e_synthetic.py
SECONDS=0

make_set() {  # folder seed images
    [ -f "$1/det_test.json" ] && return
    "$PY" tools/make_synthetic.py --out "$1" --seed "$2" --num-images "$3" --min-vertebrae 8 --max-vertebrae 19 \
        --height 640 --column-ends --quiet
}
echo "== 1/5 synthetic sets with column ends: $DATA (train + test), $UNSEEN (unseen, seed 1)"
make_set "$DATA" 0 300
make_set "$UNSEEN" 1 200

if [ ! -f "$WORK/stage1/.finished" ]; then
    echo "== 2/5 stage 1 ($STAGE1_CFG) on $DATA (log: $WORK/stage1/*/*.log)"
    "$PY" tools/train.py "$STAGE1_CFG" --work-dir "$WORK/stage1" --resume \
        --cfg-options "train_dataloader.dataset.data_root=$DATA/" "val_dataloader.dataset.data_root=$DATA/"
    touch "$WORK/stage1/.finished"
fi
STAGE1=$(cat "$WORK/stage1/last_checkpoint")

echo "== 3/5 stage 1's detections on the training films, the test split and the unseen set"
infer() {  # ann-file image-prefix out
    [ -f "$3" ] || "$PY" tools/infer.py --config "$STAGE1_CFG" --checkpoint "$STAGE1" --ann-file "$1" \
        --img-prefix "$2" --out "$3" --batch-size 2 --score-thr 0.05
}
infer "$DATA/det_train.json" "$DATA" "$WORK/detections/train/results.json"
infer "$DATA/det_test.json" "$DATA" "$WORK/detections/test/results.json"
infer "$UNSEEN/det_train.json" "$UNSEEN" "$WORK/detections/unseen/results.json"

if [ ! -f "$WORK/chain/epoch_30.pth" ]; then
    echo "== 4/5 the level chain ($CHAIN_CFG), half its films the detector's own"
    OMP_NUM_THREADS=1 "$PY" tools/train.py "$CHAIN_CFG" --work-dir "$WORK/chain" \
        --cfg-options "train_dataloader.dataset.data_root=$DATA/" \
        "train_dataloader.dataset.detections=$WORK/detections/train/results.json"
fi

echo "== 5/5 checked on the test split and the unseen set"
for split in test:"$DATA/det_test.json" unseen:"$UNSEEN/det_train.json"; do
    OMP_NUM_THREADS=1 "$PY" tools/check_level_chain.py --config "$CHAIN_CFG" --checkpoint "$WORK/chain/epoch_30.pth" \
        --ann-file "${split#*:}" --results "$WORK/detections/${split%%:*}/results.json" \
        --out "$WORK/check_${split%%:*}.json"
done
echo "finished in ${SECONDS}s"
