#!/usr/bin/env bash
# The GPU path in one go, on a machine with CUDA (about 7 minutes on one H200):
#   1. every shipped checkpoint on CPU and CUDA (scripts/experiments/gpu_check.py: agreement, metrics,
#      rotation + translation on CUDA, latency), while the N-body splits are generated;
#   2. the shipped N-body EGNO evaluated on CUDA on the full test split (compare its card);
#   3. `python -m egno bench --device cuda` (EGNO against EGNN-R rollout, training throughput);
#   4. EGNO trained on CUDA by its card's command (scripts/experiments/seed_spread.py) for TRAIN_MIN minutes, killed after
#      30 s and resumed by the same command, then evaluated;
#   5. two short epochs under `torchrun --nproc_per_node=1` (the launcher on the GPU machine).
# Usage: scripts/experiments/gpu_run.sh [LOG_DIR]   (PYTHON=python3 by default; TRAIN_MIN=2.5)
set -uo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
LOG=${1:-runs/gpu}
TRAIN_MIN=${TRAIN_MIN:-2.5}
mkdir -p "$LOG"
export PYTHONUNBUFFERED=1
step() { echo; echo "=== $* ($(date +%T))"; }

step environment
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
$PY -c "import torch, numpy, pandas; print('python', __import__('sys').version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda, 'numpy', numpy.__version__, 'pandas', pandas.__version__)"
nproc

step "N-body splits (background) and every shipped checkpoint on CPU and CUDA"
$PY -m egno data nbody --data-dir data/nbody_full --quiet > "$LOG/data.log" 2>&1 &
gen=$!
timeout 240 $PY scripts/experiments/gpu_check.py --device "$DEVICE" --max-windows 200 --json "$LOG/gpu_check.json" 2>&1 | tee "$LOG/check.log"
wait $gen; echo "data exit $?"; tail -3 "$LOG/data.log"
rm -rf data/nbody && mv data/nbody_full data/nbody

step "shipped N-body EGNO on CUDA, full test split"
timeout 120 $PY -m egno evaluate --dataset nbody --model egno --device "$DEVICE" --json --quiet 2>&1 | tail -1 | tee "$LOG/evaluate.json"

step "bench on CUDA"
timeout 180 $PY -m egno bench --dataset nbody --device "$DEVICE" --repeats 20 --json 2>&1 | tee "$LOG/bench.log"

step "EGNO training on CUDA: killed after 30 s, resumed by the same command"
# the shipped N-body EGNO's own command (from its card), on $DEVICE, with this check's time cap
mapfile -t train < <($PY - "$LOG/egno" "$DEVICE" <<'EOF'
import json, sys
from egno.run.checkpoint import rerun_command, shipped_path
card = json.loads(shipped_path("nbody", "egno").with_suffix(".json").read_text())
print("\n".join(rerun_command(card, card["train_config"]["seed"], sys.argv[1], sys.argv[2])))
EOF
)
train+=(--time-limit "$TRAIN_MIN")
echo "${train[@]}"
timeout -s INT 30 "${train[@]}"; echo "first run exit $? (124/130: stopped by the timeout)"
timeout 300 "${train[@]}"; echo "resumed run exit $?"
ls -la "$LOG/egno"
$PY - "$LOG/egno" <<'EOF'
import json, sys, pathlib
card = json.loads(next(pathlib.Path(sys.argv[1]).glob("*.json")).read_text())
keep = ("device", "torch", "wall_time_s", "epochs_run", "best_epoch", "stop_reason", "metrics", "history")
print(json.dumps({k: card.get(k) for k in keep}, default=str))
EOF

# one GPU: the launcher and its environment only (DDP itself needs two GPUs under NCCL; the test
# suite runs two ranks with gloo on the CPU)
step "torchrun, one process"
timeout 120 $PY -m torch.distributed.run --standalone --nproc_per_node=1 -m egno train --dataset nbody --model egno \
    --out "$LOG/ddp" --epochs 2 --max-train 500 --quiet 2>&1 | tail -20
echo "torchrun exit $?"
ls "$LOG/ddp"
step done
