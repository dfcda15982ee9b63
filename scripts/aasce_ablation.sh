#!/usr/bin/env bash
# The inference-time rows of the AASCE ablation table (docs/aasce.md) for one trained model on one held-out
# fold: plain vs flip test vs rotation test (+-4 deg), 17 best-scored vertebrae vs the spine chain; keypoint
# metrics, Cobb SMAPE (and on the oracle chain: what the corners alone cost) and the uncertainty check (AUROC,
# retention, calibration) of each. Prints one summary line per row.
# Usage: bash scripts/aasce_ablation.sh [WORK_DIR [FOLD]]   (defaults: make aasce's work_dirs/aasce_lite0_14e_cpu 0)
# AASCE_TTA="plain rotate" skips the flip-test rows (the flip pass doubles the inference time, the two turned
# passes triple it).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
WORK=${1:-work_dirs/aasce_lite0_14e_cpu}
FOLD=${2:-0}
CFG=${AASCE_CFG:-configs/spinekey/spinekey_aasce_lite0_14e_cpu.py}
DATA=data/aasce
VAL=$DATA/fold${FOLD}_val.json
[ -f "$WORK/last_checkpoint" ] || { echo "aasce_ablation.sh: no trained model in $WORK (run make aasce first)" >&2; exit 2; }
[ -f "$VAL" ] || { echo "aasce_ablation.sh: $VAL missing (run make aasce first)" >&2; exit 2; }
CKPT=$(cat "$WORK/last_checkpoint")
OUT=$WORK/ablation_fold$FOLD
TTAS=${AASCE_TTA:-plain flip rotate}
# AASCE_REFINE_CKPT=work_dirs/refiner_fold0/epoch_5.pth adds, for each row, the refiner on its predictions
# (row "<tta>_refined"; AASCE_REFINE_PASSES="1 2" also "<tta>_refined2", two passes)
REFINE_CFG=${AASCE_REFINE_CFG:-configs/refiner/refiner_lite0-integral_p192_5e_aasce_cpu.py}
REFINE_CKPT=${AASCE_REFINE_CKPT:-}
REFINE_PASSES=${AASCE_REFINE_PASSES:-1}
REFINE_TURN=${AASCE_REFINE_ROTATE:-0}  # the refiner's own rotation test (rows "<tta>_refined_rot<DEG>")
# AASCE_REFINE_BLEND="ivw 0.5" also blends each refined row with stage 1 (tools/refine.py --blend; rows
# "<tta>_refined_blend<B>")
REFINE_BLENDS=${AASCE_REFINE_BLEND:-}
# AASCE_REFINE_TAG=10e names the refined rows "<tta>_refined10e..." so a second refiner's rows sit beside the
# first's instead of replacing them
REFINE_TAG=${AASCE_REFINE_TAG:-}
# AASCE_CHAIN_CKPT=work_dirs/level_chain_fold0/epoch_30.pth adds the learned level chain ("learned") beside the
# 17 best-scored vertebrae ("best17") and the rule-based chain ("chain")
CHAIN_CFG=${AASCE_CHAIN_CFG:-configs/level_chain/level-chain_bigru_30e_aasce.py}
CHAIN_CKPT=${AASCE_CHAIN_CKPT:-}
# AASCE_END_CKPT=work_dirs/end_levels_fold0/epoch_6.pth adds the end-level classifier ("ends": the 17 best-scored
# after the classifier dropped an extra end level and sent films with a missed one to review)
END_CFG=${AASCE_END_CFG:-configs/end_levels/end-levels_lite0_6e_aasce_cpu.py}
END_CKPT=${AASCE_END_CKPT:-}
PICKS="best17 chain"
[ -n "$CHAIN_CKPT" ] && PICKS="$PICKS learned"
[ -n "$END_CKPT" ] && PICKS="$PICKS ends"

evaluate_row() {  # D: a folder with results.json -> metrics.json, smape.json and the uncertainty check
    local D=$1
    "$PY" tools/match_iou.py --gt_file "$VAL" --result_file "$D/results.json" --out "$D/iou_results.json" \
        --iou_type bbox --iou_threshold 0.5 --score_thr 0.3 > /dev/null
    "$PY" tools/evaluate_keypoints.py --gt_file "$VAL" --result_file "$D/results.json" \
        --iou_results "$D/iou_results.json" --output "$D/evaluation_indicators.txt" > /dev/null
    for pick in $PICKS; do
        CHAIN=(); [ "$pick" = chain ] && CHAIN=(--chain)
        [ "$pick" = learned ] && CHAIN=(--level-chain-config "$CHAIN_CFG" --level-chain-checkpoint "$CHAIN_CKPT")
        [ "$pick" = ends ] && CHAIN=(--end-levels-config "$END_CFG" --end-levels-checkpoint "$END_CKPT")
        "$PY" tools/measure.py --input "$D/results.json" --gt "$VAL" --images-dir "$DATA/images" \
            --out "$D/measure_$pick" --aasce-smape --anterior left --top-level T1 --score-thr 0.3 \
            --qc-config "$CFG" --plots "$D/measure_$pick/plots" "${CHAIN[@]}" > "$D/measure_$pick.log" 2>&1
    done
}

ROWS=()
for tta in $TTAS; do
    D=$OUT/$tta
    FLAG=(--no-flip-test --rotate-test 0)  # plain: no test-time augmentation, whatever the config says
    [ "$tta" = flip ] && FLAG=(--flip-test --rotate-test 0)
    [ "$tta" = rotate ] && FLAG=(--no-flip-test --rotate-test 4)
    [ -f "$D/results.json" ] || "$PY" tools/infer.py --config "$CFG" --checkpoint "$CKPT" --ann-file "$VAL" \
        --img-prefix "$DATA/images" --out "$D/results.json" --batch-size 2 --score-thr 0.3 "${FLAG[@]}"
    evaluate_row "$D"
    ROWS+=("$tta")
    [ -n "$REFINE_CKPT" ] || continue
    for passes in $REFINE_PASSES; do
        for blend in none $REFINE_BLENDS; do
            R=${tta}_refined$REFINE_TAG$([ "$passes" = 1 ] || echo "$passes")$([ "$REFINE_TURN" = 0 ] || echo "_rot$REFINE_TURN")
            BLEND=(); [ "$blend" = none ] || { BLEND=(--blend "$blend"); R=${R}_blend$blend; }
            "$PY" tools/refine.py --results "$D/results.json" --images-dir "$DATA/images" --config "$REFINE_CFG" \
                --checkpoint "$REFINE_CKPT" --passes "$passes" --rotate-test "$REFINE_TURN" --score-thr 0.3 \
                "${BLEND[@]}" --out "$OUT/$R/results.json"
            evaluate_row "$OUT/$R"
            ROWS+=("$R")
        done
    done
done
"$PY" - "$OUT" "${ROWS[@]}" <<'PY'
import json, os, sys
out, ttas = sys.argv[1], sys.argv[2:]
print('| fold | test time | angles from | recall | precision | MRE px | tilt err deg | PCK@0.1 | SMAPE | SMAPE on the oracle chain (chain cost) | AUROC | kept 90% SMAPE | within 1 sd | QC review | gross failures (end level) / held by review |')
for tta in ttas:
    m = json.load(open(os.path.join(out, tta, 'metrics.json')))
    for pick in ('best17', 'chain', 'learned', 'ends'):
        d = os.path.join(out, tta, f'measure_{pick}')
        if not os.path.exists(os.path.join(d, 'smape.json')):
            continue
        s = json.load(open(os.path.join(d, 'smape.json')))
        u = json.load(open(os.path.join(d, 'uncertainty.json'))) if os.path.exists(os.path.join(d, 'uncertainty.json')) else {}
        kept = next((r['smape'] for r in u.get('retention', []) if r['kept'] == 0.9), float('nan'))
        g_path = os.path.join(d, 'gross_failures.json')
        g = json.load(open(g_path)) if os.path.exists(g_path) else None
        gross = f"{g['n_gross']} ({g['n_gross_end_level']}) / {g['n_gross_held']}" if g else '-'
        o_path = os.path.join(d, 'oracle_chain.json')
        o = json.load(open(o_path)) if os.path.exists(o_path) else None
        oracle = f"{o['smape_oracle_chain']:.2f}% ({o['chain_cost']:+.2f})" if o else '-'
        print(f"| {os.path.basename(out)} | {tta} | {pick} | {m['recall']:.3f} | {m['precision']:.3f} | {m['EPE']:.1f} | "
              f"{m.get('endplate_tilt_error_deg', float('nan')):.2f} | "
              f"{m['PCK@0.1']:.3f} | {s['smape']:.2f}% | {oracle} | {u.get('auroc', float('nan')):.3f} | {kept:.2f}% | "
              f"{100 * u.get('coverage_1sd', float('nan')):.0f}% | {u.get('qc', {}).get('n_review', '-')} | {gross} |")
PY
