#!/usr/bin/env bash
# Run a SpineKey model on a folder of radiographs; with --anns_path also convert the GT, match by IoU and
# evaluate. Every step is a tools/ script that also runs on its own (each has --help).
set -euo pipefail
CALLER_PWD=$PWD
cd "$(dirname "$0")"
source scripts/caller_paths.sh  # caller_path P: a path given on the command line, as the caller meant it
source scripts/resolve_python.sh  # PY: $PYTHON (path or command name), else .venv/bin/python, else python3
source scripts/need_value.sh  # need_value "$@": a flag given without its value is one line

usage() {
    cat <<'USAGE'
Usage: bash inference.sh --images_dir DIR --ckpt CKPT [options]

  --images_dir DIR        radiographs (png/jpg/bmp/tif, DICOM with or without .dcm; other files are skipped)
                          (default data/images); with --anns_path, the folder the annotated images are
                          found in (by file name)
  --recursive             also run the films in the sub-folders of --images_dir (a PACS or CD export);
                          each film is named by its path inside the folder (PAT1/IM0001)
  --cfg_det_path CFG      model config (default configs/spinekey/spinekey_cascade-mask-rcnn_x101_fpn_24e.py)
  --ckpt_det_path, --ckpt CKPT   trained weights (default checkpoints/spinekey_x101.pth; SpineKey ships
                          none: train them, checkpoints/README.md)
  --anns_path COCO.json   ground truth: run on exactly the images it lists (folder images it does not list
                          are left out and counted; listed images missing from the folder go to
                          skipped.txt) and write gts.json, iou_results.json, metrics.json and
                          evaluation_indicators.txt
  --output_dir DIR        where everything goes (default work_dirs/inference)
  --cuda_id N | --device D   GPU index, or a device string such as cpu (default: cuda:0 if present, else cpu)
  --iou_threshold T       IoU for a prediction to match a vertebra (default 0.5)
  --iou_type segm|bbox    IoU on masks (default) or boxes
  --batch_size B          images per forward pass (default 2)
  --score_thr T           keep detections with score >= T (default 0.3)
  --flip_test             also run each film mirrored and average the keypoints (twice the time; a better
                          corner and an uncertainty from the two passes' disagreement; default: the config's)
  --rotate_test DEG       also run each film turned by +DEG and -DEG degrees and average the keypoints (three
                          times the time; a better Cobb angle on real films; 0 turns off the config's)
  --refine_cfg CFG --refine_ckpt CKPT   stage 2: re-place every vertebra's keypoints on its own
                          full-resolution patch with the refiner (configs/refiner/...); results.json keeps
                          stage 1's as keypoints_stage1 and the learned keypoint_unc
  --fp16                  backbone and neck in half precision (GPU only; boxes and corners stay float32)
  --save_vis              also write overlays (boxes, masks, numbered keypoints) to OUTPUT_DIR/vis
  --measure               then run tools/measure.py: OUTPUT_DIR/measurements/{measurements,images}.csv
  --anterior auto|left|right   anterior side for --measure (default auto: read from the image)
  --view lateral|ap       the films' view for --measure: ap (AP or PA) leaves out Genant and Meyerding grades,
                          slip and lordosis (default: the config's view, e.g. ap in the AASCE configs)
  --aasce | --no_aasce    with --measure: the AASCE 2019 angles (PT, MT, TL) of a T1-L5 AP film, each film
                          checked for 17 levels, or not (default: the config's aasce_angles, on in the AASCE
                          configs)
  --bottom_level LEVEL    level of the lowest vertebra for --measure (e.g. L5), to name the levels
  --complete_ends F       with --measure, on AP films of the whole T1-L5 column: a column short of 17 levels
                          takes at each end the best faint detection (score in [F, --score_thr)) where the
                          next level should be, as make aasce measures (e.g. 0.05; results.json then keeps
                          detections down to F; docs/measurements.md)
  --report                then write OUTPUT_DIR/report.html (tools/report.py: films, overlays, measurements,
                          metrics; opens from file:// with no network)
  --gpus 0,1,...          shard the images over these GPUs (one torchrun process each)
  --cpu --nproc N         shard the images over N CPU processes
  --nnodes N --node-rank R --master-addr HOST [--port P]   shard over several machines (torchrun; run
                          once per node, same options; node 0 merges and writes every output)
  -h, --help              this help
Every flag is also accepted with '-' for '_' (--output-dir, --images-dir, ...).
Exit status: 0 done, 2 bad input (one line says which file and why), 3 the output folder is in use by
another run (a lock file; two runs into different folders run side by side).
USAGE
}

IMAGES_DIR=data/images
CFG=configs/spinekey/spinekey_cascade-mask-rcnn_x101_fpn_24e.py
CKPT=checkpoints/spinekey_x101.pth
ANNS=""; OUT=work_dirs/inference; DEVICE=""; IOU=0.5; IOU_TYPE=segm; BATCH=2; SCORE=0.3
SAVE_VIS=0; RECURSIVE=(); TTA=(); FP16=(); GPUS=""; NPROC=1; MEASURE=0; ANTERIOR=auto; VIEW=""; AASCE=(); BOTTOM_LEVEL=""; REPORT=0
NNODES=1; NODE_RANK=0; MASTER_ADDR=127.0.0.1; PORT=29510; REFINE_CFG=""; REFINE_CKPT=""; COMPLETE_ENDS=""
while [ $# -gt 0 ]; do
    case "$(canonical_flag "$1")" in
        --images_dir) need_value "$@"; IMAGES_DIR=$(caller_path "$2"); shift 2 ;;
        --cfg_det_path) need_value "$@"; CFG=$(caller_path "$2"); shift 2 ;;
        --ckpt_det_path|--ckpt) need_value "$@"; CKPT=$(caller_path "$2"); shift 2 ;;
        --anns_path) need_value "$@"; ANNS=$(caller_path "$2"); shift 2 ;;
        --output_dir) need_value "$@"; OUT=$(caller_path "$2"); shift 2 ;;
        --cuda_id) need_value "$@"; DEVICE=cuda:$2; shift 2 ;;
        --device) need_value "$@"; DEVICE=$2; shift 2 ;;
        --iou_threshold) need_value "$@"; IOU=$2; shift 2 ;;
        --iou_type) need_value "$@"; IOU_TYPE=$2; shift 2 ;;
        --batch_size) need_value "$@"; BATCH=$2; shift 2 ;;
        --score_thr) need_value "$@"; SCORE=$2; shift 2 ;;
        --save_vis) SAVE_VIS=1; shift ;;
        --recursive) RECURSIVE=(--recursive); shift ;;
        --flip_test) TTA+=(--flip-test); shift ;;
        --rotate_test) need_value "$@"; TTA+=(--rotate-test "$2"); shift 2 ;;
        --fp16) FP16=(--fp16); shift ;;
        --refine_cfg) need_value "$@"; REFINE_CFG=$(caller_path "$2"); shift 2 ;;
        --refine_ckpt) need_value "$@"; REFINE_CKPT=$(caller_path "$2"); shift 2 ;;
        --measure) MEASURE=1; shift ;;
        --report) REPORT=1; shift ;;
        --anterior) need_value "$@"; ANTERIOR=$2; shift 2 ;;
        --view) need_value "$@"; VIEW=$2; shift 2 ;;
        --aasce) AASCE=(--aasce); shift ;;
        --no_aasce) AASCE=(--no-aasce); shift ;;
        --bottom_level) need_value "$@"; BOTTOM_LEVEL=$2; shift 2 ;;
        --complete_ends) need_value "$@"; COMPLETE_ENDS=$2; shift 2 ;;
        --gpus) need_value "$@"; GPUS=$2; shift 2 ;;
        --cpu) DEVICE=cpu; shift ;;
        --nproc) need_value "$@"; NPROC=$2; shift 2 ;;
        --nnodes) need_value "$@"; NNODES=$2; shift 2 ;;
        --node_rank) need_value "$@"; NODE_RANK=$2; shift 2 ;;
        --master_addr) need_value "$@"; MASTER_ADDR=$2; shift 2 ;;
        --port) need_value "$@"; PORT=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "inference.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ ! -f "$IMAGES_DIR" ] || { echo "inference.sh: --images_dir $IMAGES_DIR is a file; give the folder that holds the films (one film: a folder of its own)" >&2; exit 2; }
[ -d "$IMAGES_DIR" ] || { echo "inference.sh: images folder not found: $IMAGES_DIR (set --images_dir)" >&2; exit 2; }
[ -f "$CFG" ] || { echo "inference.sh: config not found: $CFG (set --cfg_det_path)" >&2; exit 2; }
[ -f "$CKPT" ] || { echo "inference.sh: checkpoint not found: $CKPT (set --ckpt). SpineKey ships no trained weights: train your own (make aasce on AASCE 2019, bash train.sh on your data, make demo for the synthetic demo model) or put a downloaded .pth there and pass --ckpt PATH (checkpoints/README.md)" >&2; exit 2; }
if [ -n "$REFINE_CFG$REFINE_CKPT" ]; then
    [ -f "$REFINE_CFG" ] || { echo "inference.sh: refiner config not found: ${REFINE_CFG:-(none)} (set --refine_cfg with --refine_ckpt)" >&2; exit 2; }
    [ -f "$REFINE_CKPT" ] || { echo "inference.sh: refiner checkpoint not found: ${REFINE_CKPT:-(none)} (set --refine_ckpt with --refine_cfg)" >&2; exit 2; }
    TTA+=(--refine-config "$REFINE_CFG" --refine-checkpoint "$REFINE_CKPT")
fi
# end completion reads detections under --score_thr: inference writes them down to its threshold
INFER_SCORE=$SCORE
if [ -n "$COMPLETE_ENDS" ]; then
    [ "$MEASURE" = 1 ] || { echo "inference.sh: --complete_ends completes the measured column; add --measure" >&2; exit 2; }
    awk -v f="$COMPLETE_ENDS" -v s="$SCORE" 'BEGIN { exit !(f + 0 == f && f > 0 && f < s + 0) }' || {
        echo "inference.sh: --complete_ends $COMPLETE_ENDS must be a number above 0 and under --score_thr $SCORE" >&2; exit 2; }
    INFER_SCORE=$COMPLETE_ENDS
fi
[ -z "$ANNS" ] || [ -f "$ANNS" ] || { echo "inference.sh: annotations not found: $ANNS (set --anns_path)" >&2; exit 2; }
if [ -z "$DEVICE" ]; then
    DEVICE=$("$PY" -c "import torch; print('cuda:0' if torch.cuda.is_available() else 'cpu')")
fi
if ! mkdir -p "$OUT" 2>/dev/null || [ ! -w "$OUT" ]; then
    echo "inference.sh: cannot write to --output_dir $OUT (read-only, or no permission); choose another folder" >&2
    exit 2
fi
VIS=()
[ "$SAVE_VIS" = 1 ] && VIS=(--save-vis "$OUT/vis")
SOURCE=(--images-dir "$IMAGES_DIR" "${RECURSIVE[@]}")
[ -n "$ANNS" ] && SOURCE+=(--ann-file "$ANNS")
run() { echo "+ $*"; "$@"; }
if [ "$NNODES" -gt 1 ] && [ "$NODE_RANK" != 0 ]; then
    # a worker node: infer its share, hand it to node 0 (which merges, evaluates and measures), then stop
    [ -n "$GPUS" ] && { export CUDA_VISIBLE_DEVICES=$GPUS; NPROC=$(echo "$GPUS" | tr ',' '\n' | grep -c .); DEVICE=cuda:0; }
    [ "$DEVICE" = cpu ] && export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
    run "$PY" -m torch.distributed.run --nnodes "$NNODES" --node_rank "$NODE_RANK" --master_addr "$MASTER_ADDR" \
        --master_port "$PORT" --nproc_per_node "$NPROC" tools/infer.py --config "$CFG" --checkpoint "$CKPT" \
        "${SOURCE[@]}" --out "$OUT/results.json" --device "$DEVICE" --batch-size "$BATCH" --score-thr "$INFER_SCORE" \
        --skip-bad-images "${VIS[@]}" "${TTA[@]}" "${FP16[@]}"
    echo "inference.sh: node $NODE_RANK done; node 0 writes the outputs"
    exit 0
fi

# one run per output folder: a second run into the same folder is refused while the first holds the lock
# (flock releases it when this shell exits, however it exits: Ctrl-C, SIGKILL, crash)
LOCK="$OUT/.spinekey.lock"
if command -v flock >/dev/null 2>&1; then
    exec 9>>"$LOCK"
    if ! flock -n 9; then
        echo "inference.sh: $OUT is in use by another run (lock $LOCK, pid $(cat "$LOCK.pid" 2>/dev/null || echo ?)); use another --output_dir" >&2
        exit 3
    fi
    echo $$ > "$LOCK.pid"
else  # no flock (e.g. macOS): a pid file, taken over only when its process is gone
    if [ -f "$LOCK.pid" ] && kill -0 "$(cat "$LOCK.pid")" 2>/dev/null; then
        echo "inference.sh: $OUT is in use by another run (pid $(cat "$LOCK.pid")); use another --output_dir" >&2
        exit 3
    fi
    echo $$ > "$LOCK.pid"
    trap 'rm -f "$LOCK.pid"' EXIT
fi

# what the report's header says about this run
"$PY" - "$OUT/run.json" "$CFG" "$CKPT" "$IMAGES_DIR" "$ANNS" "$REFINE_CFG" "$REFINE_CKPT" <<'PYCODE'
import json, sys, time
from spinekey.io.atomic import atomic_write_json
out, cfg, ckpt, images, anns, refine_cfg, refine_ckpt = sys.argv[1:]
atomic_write_json(out, {'config': cfg, 'checkpoint': ckpt, 'images_dir': images, 'anns': anns or None,
                        'refiner_config': refine_cfg or None, 'refiner_checkpoint': refine_ckpt or None,
                        'date': time.strftime('%Y-%m-%d %H:%M')}, indent=1)
PYCODE
LAUNCH=("$PY")
if [ -n "$GPUS" ]; then
    export CUDA_VISIBLE_DEVICES=$GPUS
    NPROC=$(echo "$GPUS" | tr ',' '\n' | grep -c .)
    DEVICE=cuda:0
fi
if [ "$NNODES" -gt 1 ]; then
    [ "$DEVICE" = cpu ] && export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
    LAUNCH=("$PY" -m torch.distributed.run --nnodes "$NNODES" --node_rank 0 --master_addr "$MASTER_ADDR"
            --master_port "$PORT" --nproc_per_node "$NPROC")
elif [ "$NPROC" -gt 1 ]; then
    [ "$DEVICE" = cpu ] && export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
    LAUNCH=("$PY" -m torch.distributed.run --standalone --nproc_per_node "$NPROC")
fi
run "${LAUNCH[@]}" tools/infer.py --config "$CFG" --checkpoint "$CKPT" "${SOURCE[@]}" \
    --out "$OUT/results.json" --device "$DEVICE" --batch-size "$BATCH" --score-thr "$INFER_SCORE" \
    --skip-bad-images --summary-csv "$OUT/summary.csv" "${VIS[@]}" "${TTA[@]}" "${FP16[@]}"
if [ -n "$ANNS" ]; then
    run "$PY" tools/convert_gt.py --anns "$ANNS" --results "$OUT/results.json" --checkpoint "$CKPT" \
        --out "$OUT/gts.json"
    run "$PY" tools/match_iou.py --gt_file "$OUT/gts.json" --result_file "$OUT/results.json" \
        --out "$OUT/iou_results.json" --iou_type "$IOU_TYPE" --iou_threshold "$IOU" --score_thr "$SCORE"
    PLOTS=()
    [ "$REPORT" = 1 ] && PLOTS=(--plots "$OUT/plots" --img-prefix "$IMAGES_DIR")
    run "$PY" tools/evaluate_keypoints.py --gt_file "$OUT/gts.json" --result_file "$OUT/results.json" \
        --iou_results "$OUT/iou_results.json" --output "$OUT/evaluation_indicators.txt" "${PLOTS[@]}"
else
    echo "inference.sh: no --anns_path, evaluation skipped"
fi
if [ "$MEASURE" = 1 ]; then
    MEASURE_ARGS=(--input "$OUT/results.json" --films "$OUT/summary.csv" --images-dir "$IMAGES_DIR" --score-thr "$SCORE"
                  --out "$OUT/measurements" --anterior "$ANTERIOR" --qc-config "$CFG")
    [ -n "$ANNS" ] && MEASURE_ARGS+=(--gt "$OUT/gts.json")
    [ -n "$BOTTOM_LEVEL" ] && MEASURE_ARGS+=(--bottom-level "$BOTTOM_LEVEL")
    [ -n "$VIEW" ] && MEASURE_ARGS+=(--view "$VIEW")
    MEASURE_ARGS+=("${AASCE[@]}")
    [ -n "$COMPLETE_ENDS" ] && MEASURE_ARGS+=(--complete-ends "$COMPLETE_ENDS")
    [ "$SAVE_VIS" = 1 ] && MEASURE_ARGS+=(--save_vis)
    # refined corners carry the refiner's uncertainty: its config's interval factors, not stage 1's
    [ -n "$REFINE_CFG" ] && MEASURE_ARGS+=(--intervals-config "$REFINE_CFG")
    run "$PY" tools/measure.py "${MEASURE_ARGS[@]}"
fi
[ "$REPORT" = 1 ] && run "$PY" tools/report.py "$OUT" --score-thr "$SCORE"
echo "inference.sh: done; outputs in $OUT"
