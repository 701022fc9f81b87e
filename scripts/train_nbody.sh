#!/usr/bin/env bash
# Reproduce the shipped N-body checkpoints (assets/checkpoints/nbody). Two queues, one CPU core
# each (torch threads = 1):
#   scripts/train_nbody.sh egno        # EGNO alone (~45 min)
#   scripts/train_nbody.sh baselines   # linear, egnn-s, egnn, gnn, egnn-r one after another
# Every command is seeded and resumable: rerun it after an interruption. Training generates
# data/nbody first if it is missing (`python -m egno data nbody`).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
train() { $PY -m egno train --dataset nbody --threads 1 --ship --quiet "$@"; }
case "${1:-all}" in
  egno)
    train --model egno --train-starts 9 --epochs 60 --warmup-epochs 2 --eval-every 2 --ema 0.999 --patience 30 --time-limit 48 ;;
  baselines)
    train --model linear
    train --model egnn-s --epochs 600 --time-limit 12
    # any-resolution training (output times drawn per batch): lower errors at every P than fixed P = 5
    train --model egnn --train-starts 9 --epochs 60 --warmup-epochs 2 --eval-every 2 --ema 0.999 --patience 30 \
      --time-limit 60 --time-sampling random-p --out runs/nbody/egnn-random-p
    train --model gnn --epochs 450 --time-limit 20
    train --model egnn-r --epochs 300 --time-limit 22 ;;
  all)
    "$0" egno & "$0" baselines; wait ;;
esac
