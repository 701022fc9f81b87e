#!/usr/bin/env bash
# Reproduce the shipped protein checkpoints (assets/checkpoints/protein/adk): one CPU core
# (torch threads = 1). The 855-atom, ~55k-edge graphs
# make a training step ~1 s per window on one core, so the budget is 12 epochs of the 85 training
# windows per model (~30–40 minutes each for the EGNN-stack models; 50 minutes at most), hidden 32,
# batch 2, the same for every model.
#   scripts/train_protein.sh                    # every model, one after another
#   MODELS="egno egnn" scripts/train_protein.sh # only these (e.g. one queue per core)
# Seeded and resumable: rerun after an interruption (a run stopped by an earlier, shorter time
# limit continues to its 12 epochs). Data: `python -m egno data protein`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
ds=protein/adk
for m in ${MODELS:-linear egno egnn egnn-s egnn-r gnn}; do
  if [ "$m" = linear ]; then
    $PY -m egno train --dataset $ds --threads 1 --ship --quiet --model linear
    continue
  fi
  $PY -m egno train --dataset $ds --threads 1 --ship --quiet --model "$m" --hidden 32 \
    --batch-size 2 --epochs 12 --warmup-epochs 1 --time-limit 50
done
