#!/usr/bin/env bash
# Train SpineKey: one process per GPU with torchrun, or N CPU processes (gloo) with --cpu --nproc N.
set -euo pipefail
CALLER_PWD=$PWD
cd "$(dirname "$0")"
source scripts/caller_paths.sh  # caller_path P: a path given on the command line, as the caller meant it
source scripts/resolve_python.sh  # PY: $PYTHON (path or command name), else .venv/bin/python, else python3
source scripts/need_value.sh  # need_value "$@": a flag given without its value is one line

usage() {
    cat <<'USAGE'
Usage: bash train.sh [options] [--cfg-options key=value ...]

  --config CFG          config file (default: configs/spinekey/spinekey_cascade-mask-rcnn_x101_fpn_24e.py)
  --gpus 0,1,2,3        GPUs to train on, one process each (default: all visible GPUs)
  --cpu                 train on CPU (no GPU needed); with --nproc N runs N gloo processes
  --nproc N             processes for --cpu (default 1)
  --port P              rendezvous port (default 29500; a busy port is replaced by a free one)
  --work-dir DIR        logs and checkpoints (default work_dirs/<config name>)
  --resume [CKPT]       resume from CKPT, or from the latest checkpoint in the work dir
  --amp                 mixed precision (GPU)
  --workers N           training loader workers per process (default: the config's on CPU; on GPUs the
                        node's CPUs shared among the processes, up to 8, with pinned memory)
  --auto-scale-lr       scale lr by total batch (per-process batch x processes) / auto_scale_lr.base_batch_size
  --nnodes N --node-rank R --master-addr HOST   multi-node training (run once per node)
  --cfg-options k=v ... override config keys (must come last)
  -h, --help            this help

Every flag is also accepted with '_' for '-' (--work_dir, --cfg_options, ...).
Total batch = train_dataloader.batch_size x number of processes (x nodes). The configs state lr for
auto_scale_lr.base_batch_size; pass --auto-scale-lr to rescale it linearly for your total batch.
USAGE
}

CONFIG=configs/spinekey/spinekey_cascade-mask-rcnn_x101_fpn_24e.py
GPUS=""; CPU=0; NPROC=1; PORT=29500; WORK_DIR=""; RESUME=""; AMP=0; SCALE_LR=0; WORKERS=""
NNODES=1; NODE_RANK=0; MASTER_ADDR=127.0.0.1; CFG_OPTIONS=()
while [ $# -gt 0 ]; do
    case "$(canonical_flag "$1")" in
        --config) need_value "$@"; CONFIG=$(caller_path "$2"); shift 2 ;;
        --gpus) need_value "$@"; GPUS=$2; shift 2 ;;
        --cpu) CPU=1; shift ;;
        --nproc) need_value "$@"; NPROC=$2; shift 2 ;;
        --port) need_value "$@"; PORT=$2; shift 2 ;;
        --work_dir) need_value "$@"; WORK_DIR=$(caller_path "$2"); shift 2 ;;
        --resume) if [ $# -gt 1 ] && [[ "$2" != --* ]]; then RESUME=$(caller_path "$2"); shift 2; else RESUME=auto; shift; fi ;;
        --amp) AMP=1; shift ;;
        --workers) need_value "$@"; WORKERS=$2; shift 2 ;;
        --auto_scale_lr) SCALE_LR=1; shift ;;
        --nnodes) need_value "$@"; NNODES=$2; shift 2 ;;
        --node_rank) need_value "$@"; NODE_RANK=$2; shift 2 ;;
        --master_addr) need_value "$@"; MASTER_ADDR=$2; shift 2 ;;
        --cfg_options) shift; for opt in "$@"; do CFG_OPTIONS+=("$(caller_cfg_option "$opt")"); done; break ;;
        -h|--help) usage; exit 0 ;;
        *) echo "train.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ -f "$CONFIG" ] || { echo "train.sh: config not found: $CONFIG (set --config)" >&2; exit 2; }

ARGS=("$CONFIG")
[ -n "$WORK_DIR" ] && ARGS+=(--work-dir "$WORK_DIR")
if [ "$RESUME" = auto ]; then ARGS+=(--resume); elif [ -n "$RESUME" ]; then ARGS+=(--resume "$RESUME"); fi
[ "$AMP" = 1 ] && ARGS+=(--amp)
[ -n "$WORKERS" ] && ARGS+=(--workers "$WORKERS")
[ "$SCALE_LR" = 1 ] && ARGS+=(--auto_scale_lr)

if [ "$CPU" = 1 ]; then
    [ -z "$GPUS" ] || { echo "train.sh: --gpus and --cpu exclude each other" >&2; exit 2; }
    NPROC_PER_NODE=$NPROC
    CFG_OPTIONS+=(env_cfg.dist_cfg.backend=gloo)
    export CUDA_VISIBLE_DEVICES=""
    # share the cores between the processes instead of oversubscribing them
    export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(( $(nproc) / NPROC > 0 ? $(nproc) / NPROC : 1 ))}
else
    NGPU=$("$PY" -c "import torch; print(torch.cuda.device_count())" 2>/dev/null || echo 0)
    if [ "$NGPU" = 0 ]; then
        echo "train.sh: no CUDA GPU visible; use --cpu [--nproc N] to train on the CPU" >&2
        exit 2
    fi
    [ -n "$GPUS" ] || GPUS=$(seq -s, 0 $((NGPU - 1)))
    export CUDA_VISIBLE_DEVICES=$GPUS
    NPROC_PER_NODE=$(echo "$GPUS" | tr ',' '\n' | grep -c .)
fi

if [ "$NNODES" = 1 ] && [ "$NPROC_PER_NODE" = 1 ]; then
    CMD=("$PY" tools/train.py "${ARGS[@]}")
else
    FREE=$("$PY" - "$PORT" <<'PYCODE'
import socket, sys
port = int(sys.argv[1])
with socket.socket() as s:
    try:
        s.bind(('', port)); print(port)
    except OSError:
        s.bind(('', 0)); print(s.getsockname()[1])
PYCODE
)
    if [ "$FREE" != "$PORT" ] && [ "$NNODES" = 1 ]; then
        echo "train.sh: port $PORT is busy, using $FREE" >&2; PORT=$FREE
    fi
    CMD=("$PY" -m torch.distributed.run --nnodes "$NNODES" --node_rank "$NODE_RANK" --master_addr "$MASTER_ADDR"
         --master_port "$PORT" --nproc_per_node "$NPROC_PER_NODE" tools/train.py "${ARGS[@]}" --launcher pytorch)
fi
[ ${#CFG_OPTIONS[@]} -gt 0 ] && CMD+=(--cfg-options "${CFG_OPTIONS[@]}")
echo "+ ${CMD[*]}"
exec "${CMD[@]}"
