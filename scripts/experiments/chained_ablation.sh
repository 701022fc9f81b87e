#!/usr/bin/env bash
# The chained-training ablation on N-body (docs/results/long_horizon.md): EGNO and EGNN-R
# fine-tuned from their shipped checkpoints for the same epochs with each option set — plain
# (the control), input noise, pushforward, pushforward + noise + velocity loss — then chained
# 20 windows on the 100 long-horizon test systems. Resumable: rerun after an interruption.
#   scripts/experiments/chained_ablation.sh [OUT]      (default runs/chained)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
OUT=${1:-runs/chained}
EPOCHS=${EPOCHS:-8}
COMMON="--dataset nbody --threads 1 --quiet --epochs $EPOCHS --warmup-epochs 1 --eval-every 1 --lr 1e-4 --train-starts 9 --patience 100"
declare -A OPTIONS=(
  [plain]=""
  [noise]="--input-noise 0.01"
  [pushforward]="--chain-windows 4"
  [all]="--chain-windows 4 --input-noise 0.01 --velocity-loss 1"
)
declare -A EMA=([egno]="--ema 0.999" [egnn-r]="")
for model in egno egnn-r; do
  for variant in plain noise pushforward all; do
    dir="$OUT/$model-$variant"
    [ -f "$dir/$model.pt" ] && continue
    $PY -m egno train $COMMON --model "$model" ${EMA[$model]} ${OPTIONS[$variant]} \
      --init "assets/checkpoints/nbody/$model.pt" --out "$dir"
  done
done
args=()
for model in egno egnn-r; do
  for variant in plain noise pushforward all; do args+=("$model-$variant=$OUT/$model-$variant/$model.pt"); done
done
$PY -m egno rollout --dataset nbody --model egno egnn-r --checkpoint "${args[@]}" \
  --windows 20 --samples 100 --threads 1 --json > "$OUT/rollout.json"
echo "wrote $OUT/rollout.json"
