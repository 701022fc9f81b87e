#!/usr/bin/env bash
# Reproduce the shipped motion checkpoints (assets/checkpoints/mocap/{walk,run}). One queue per
# dataset, one CPU core each (torch threads = 1):
#   scripts/train_mocap.sh walk      # linear, egno, egnn, egnn-s, egnn-r, gnn on mocap/walk
#   scripts/train_mocap.sh run       # the same on mocap/run
#   scripts/train_mocap.sh all       # both queues side by side
#   MODELS="egno egnn" scripts/train_mocap.sh walk   # only these models
# Every model gets the same data, schedule (preset "mocap": batch 12, lr 5e-4, 2 warm-up epochs,
# cosine decay), EMA 0.999 and step budget; the equivariant ones also read the up vector
# (preset: up_vector). Seeded and resumable: rerun after an interruption.
# Data: `python -m egno data mocap` (reads ../shared/data/cmu_mocap or --source DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
queue() {
  local ds=mocap/$1 epochs
  # about the same number of optimiser steps on both: walk 1896 training windows, run 547
  if [ "$1" = walk ]; then epochs=40; else epochs=120; fi
  for m in ${MODELS:-linear egno egnn egnn-s egnn-r gnn}; do
    if [ "$m" = linear ]; then
      $PY -m egno train --dataset "$ds" --threads 1 --ship --quiet --model linear
      continue
    fi
    $PY -m egno train --dataset "$ds" --threads 1 --ship --quiet --model "$m" --epochs "$epochs" --ema 0.999 --time-limit 14
  done
}
case "${1:-all}" in
  walk|run) queue "$1" ;;
  all) "$0" walk & "$0" run; wait ;;
esac
