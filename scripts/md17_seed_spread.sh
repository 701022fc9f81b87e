#!/usr/bin/env bash
# How much do the per-molecule md17 results move with the training seed? Retrains EGNO, egnn, egnn-s
# on the named molecules with the shipped schedule (scripts/train_md17.sh) but other seeds, into
# runs/seeds/ (nothing shipped), then prints every test F-MSE / A-MSE beside the shipped seed's (42).
#   scripts/md17_seed_spread.sh "1 2" ethanol aspirin
# One core per run; resumable like every training run. Data: scripts/generate_md17.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
seeds=$1; shift
for mol in "$@"; do
  for seed in $seeds; do
    for m in egno egnn egnn-s; do
      $PY -m egno train --dataset "md17/$mol" --threads 1 --quiet --model "$m" --epochs 300 \
        --ema 0.999 --time-limit 15 --seed "$seed" --out "runs/seeds/md17/$mol/$m-$seed" > /dev/null
    done
  done
done
OMP_NUM_THREADS=1 $PY - "$seeds" "$@" <<'PY'
import json, sys
from pathlib import Path

seeds, molecules = sys.argv[1].split(), sys.argv[2:]
print("| molecule | model | seed | test F-MSE | test A-MSE | val F-MSE | best epoch |")
print("|---|---|---|---|---|---|---|")
for mol in molecules:
    for m in ("egno", "egnn", "egnn-s"):
        cards = [("42 (shipped)", Path(f"assets/checkpoints/md17/{mol}/{m}.json"))]
        cards += [(s, Path(f"runs/seeds/md17/{mol}/{m}-{s}/{m}.json")) for s in seeds]
        for seed, path in cards:
            c = json.loads(path.read_text())
            t, v = c["metrics"]["test"], c["metrics"]["val"]
            print(f"| {mol} | {m} | {seed} | {t['f_mse']:.4f} | {t['a_mse']:.4f} | {v['f_mse']:.4f} "
                  f"| {c['best_epoch']} |")
PY
