#!/usr/bin/env bash
# Re-run only matching and evaluation on an existing inference.sh output folder (results.json + gts.json).
# Usage: bash tools/generate_indicators.sh OUTPUT_DIR [--iou_threshold T] [--iou_type segm|bbox] [--score_thr S]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python
if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
    sed -n 2,3p "$0" | sed 's/^# //'
    exit 0
fi
OUT=$1; shift
IOU=0.5; IOU_TYPE=segm; SCORE=0.3
while [ $# -gt 0 ]; do
    case "$1" in
        --iou_threshold) IOU=$2; shift 2 ;;
        --iou_type) IOU_TYPE=$2; shift 2 ;;
        --score_thr) SCORE=$2; shift 2 ;;
        *) echo "generate_indicators.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
for f in results.json gts.json; do
    [ -f "$OUT/$f" ] || { echo "generate_indicators.sh: $OUT/$f not found (run inference.sh with --anns_path first)" >&2; exit 2; }
done
"$PY" tools/match_iou.py --gt_file "$OUT/gts.json" --result_file "$OUT/results.json" --out "$OUT/iou_results.json" \
    --iou_type "$IOU_TYPE" --iou_threshold "$IOU" --score_thr "$SCORE"
"$PY" tools/evaluate_keypoints.py --gt_file "$OUT/gts.json" --result_file "$OUT/results.json" \
    --iou_results "$OUT/iou_results.json" --output "$OUT/evaluation_indicators.txt"
