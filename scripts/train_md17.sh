#!/usr/bin/env bash
# Train EGNO and every baseline on the md17 molecules whose simulated data exist
# (scripts/generate_md17.sh), one CPU core (torch threads = 1) per run, the same schedule for every
# model (preset "md17": batch 25, lr 5e-4 with warm-up and cosine decay, EMA 0.99, patience 100,
# 150 epochs of the 500 training windows; tuned on validation in docs/results/molecules.md: the
# older EMA 0.999 keeps every model at no motion on rotation-free data).
#   scripts/train_md17.sh ethanol uracil                    # named molecules, one run at a time
#   scripts/train_md17.sh all                               # md17/all: one EGNO on the eight together
#   DEVICE=cuda JOBS=12 scripts/train_md17.sh aspirin all   # on a GPU, 12 runs at once
# Seeded and resumable: rerun after an interruption.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
JOBS=${JOBS:-1}
on=(--threads 1)
if [ -n "${DEVICE:-}" ]; then on+=(--device "$DEVICE"); fi  # one CPU thread per run there too
failed=$(mktemp)
trap 'rm -f "$failed"' EXIT
train() {  # dataset, model, extra flags: the shared schedule, shipped into assets/checkpoints
  $PY -m egno train --dataset "$1" "${on[@]}" --ship --quiet --model "$2" --epochs 150 --ema 0.99 --patience 100 --time-limit 30 "${@:3}"
}
diverged() {  # whether the shipped card of (dataset, model) says its run stopped on a non-finite loss
  $PY -c "import json, sys; from egno.run.checkpoint import shipped_path; \
sys.exit(0 if json.loads(shipped_path('$1', '$2').with_suffix('.json').read_text())['stop_reason'].startswith('diverged') else 1)"
}
ladder() {  # dataset, model: trained at lower learning rates while a run diverges
  # (more than half of an epoch's steps non-finite), validated every epoch: at lr 5e-4 egnn-r
  # diverged on benzene, naphthalene, salicylic acid and uracil, egnn-s on uracil
  for lr in 5e-4 1e-4 2e-5; do
    flags=()
    if [ "$lr" != 5e-4 ]; then flags=(--lr "$lr" --eval-every 1 --out "runs/$1/$2-lr$lr"); fi
    if train "$1" "$2" "${flags[@]}" && ! diverged "$1" "$2"; then return 0; fi
  done
  echo "$1/$2 diverged at every learning rate tried" | tee -a "$failed" >&2
}
together() {  # md17/all: 8 × 500 training windows, fewer epochs for the same number of steps
  $PY -m egno train --dataset md17/all "${on[@]}" --ship --quiet --model egno --epochs 30 --ema 0.99 \
    --patience 100 --time-limit 30 || echo "md17/all failed" >> "$failed"
}
start() {  # a command in the background, at most $JOBS at once
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
  "$@" &
}
for mol in "$@"; do
  ds=md17/$mol
  if [ "$mol" = all ]; then
    start together
    continue
  fi
  $PY -m egno train --dataset "$ds" --threads 1 --ship --quiet --model linear
  for m in egno egnn egnn-s egnn-r gnn; do start ladder "$ds" "$m"; done
done
wait
if [ -s "$failed" ]; then cat "$failed" >&2; exit 1; fi
