#!/usr/bin/env bash
# Train EGNO and every baseline on the md17 molecules whose simulated data exist
# (scripts/generate_md17.sh), one CPU core (torch threads = 1), the same schedule for every model
# (preset "md17": batch 25, lr 5e-4 with warm-up and cosine decay, EMA 0.999, 300 epochs of the
# 500 training windows).
#   scripts/train_md17.sh ethanol uracil     # named molecules
#   scripts/train_md17.sh all                # md17/all: one EGNO on the eight molecules together
# Seeded and resumable: rerun after an interruption.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
train() {  # dataset, model, extra flags: the shared schedule, shipped into assets/checkpoints
  $PY -m egno train --dataset "$1" --threads 1 --ship --quiet --model "$2" --epochs 300 --ema 0.999 --time-limit 15 "${@:3}"
}
diverged() {  # whether the shipped card of (dataset, model) says its run stopped on a non-finite loss
  $PY -c "import json, sys; from egno.checkpoint import shipped_path; \
sys.exit(0 if json.loads(shipped_path('$1', '$2').with_suffix('.json').read_text())['stop_reason'].startswith('diverged') else 1)"
}
for mol in "$@"; do
  ds=md17/$mol
  if [ "$mol" = all ]; then  # 8 × 500 training windows: fewer epochs for the same number of steps
    $PY -m egno train --dataset md17/all --threads 1 --ship --quiet --model egno --epochs 60 --ema 0.999 --time-limit 15
    continue
  fi
  $PY -m egno train --dataset "$ds" --threads 1 --ship --quiet --model linear
  for m in egno egnn egnn-s egnn-r gnn; do
    # a run that diverges (more than half of an epoch's steps non-finite) is trained again at a
    # lower learning rate, validated every epoch: at lr 5e-4 egnn-r diverged on benzene,
    # naphthalene, salicylic acid and uracil, egnn-s on uracil; all five train at 1e-4
    for lr in 5e-4 1e-4 2e-5; do
      flags=()
      if [ "$lr" != 5e-4 ]; then flags=(--lr "$lr" --eval-every 1 --out "runs/$ds/$m-lr$lr"); fi
      if train "$ds" "$m" "${flags[@]}" && ! diverged "$ds" "$m"; then continue 2; fi
    done
    echo "$ds/$m diverged at every learning rate tried" >&2
    exit 1
  done
done
