#!/usr/bin/env bash
# Reproduce the shipped protein checkpoints (assets/checkpoints/protein/adk): one CPU core
# (torch threads = 1), as run on the 2-core development machine. The 855-atom, ~55k-edge graphs
# make a training step ~1 s per window on one core, so the budget is 12 epochs of the 85 training
# windows (or 15 minutes) per model, hidden 32, batch 2, the same for every model.
#   scripts/train_protein.sh
# Seeded and resumable: rerun after an interruption. Data: `python -m egno data protein`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
ds=protein/adk
$PY -m egno train --dataset $ds --threads 1 --ship --quiet --model linear
for m in egno egnn egnn-s egnn-r gnn; do
  $PY -m egno train --dataset $ds --threads 1 --ship --quiet --model "$m" --hidden 32 \
    --batch-size 2 --epochs 12 --warmup-epochs 1 --time-limit 15
done
