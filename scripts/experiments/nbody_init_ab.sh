#!/usr/bin/env bash
# A/B of EGNO's vector temporal-convolution initialisation on N-body, short schedule (10 epochs,
# 9 training starts, EMA 0.999), both runs side by side, one core each; prints the history.
#   zero:   the default; vector mixing starts at identity (an untrained EGNO is the one-shot EGNN)
#   random: U(0, 1/4) per mode, as in the reference code
# Data: `python -m egno data nbody`. Runs go to runs/ab_init/{zero,random} (resumable).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
for init in zero random; do
  $PY -m egno train --dataset nbody --model egno --threads 1 --quiet --train-starts 9 --epochs 10 \
    --warmup-epochs 1 --eval-every 2 --ema 0.999 --patience 30 --vector-conv-init "$init" \
    --out "runs/ab_init/$init" > "runs/ab_init_$init.log" 2>&1 &
done
wait
OMP_NUM_THREADS=1 $PY - <<'PY'
import torch
for init in ("zero", "random"):
    s = torch.load(f"runs/ab_init/{init}/state.pt", weights_only=True)
    print(init, " ".join(f"ep{h['epoch']}: train {h['train_loss']:.5f} val {h['val_f_mse']:.5f}"
                         for h in s["history"]))
PY
