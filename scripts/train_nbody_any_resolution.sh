#!/usr/bin/env bash
# Any-resolution training on N-body: EGNO and `egnn` with the shipped nbody schedule, output times
# drawn per batch (--time-sampling random-p), one core each in turn. Seeded and resumable.
# Runs land in runs/nbody/<model>-random-p; scripts/resolution_sweeps.py-style evaluation at
# P = 2, 5, 10, 20, 50 decides whether they replace the shipped fixed-P checkpoints.
#   scripts/train_nbody_any_resolution.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -f data/nbody/train.npz ] || $PY -m egno data nbody --quiet
for m in ${@:-egno egnn}; do
  $PY -m egno train --dataset nbody --threads 1 --quiet --model "$m" --train-starts 9 --epochs 60 \
    --warmup-epochs 2 --eval-every 2 --ema 0.999 --patience 30 --time-limit 60 \
    --time-sampling random-p --out "runs/nbody/$m-random-p"
done
