"""Print the README's N-body tables by running the documented evaluate commands.

    .venv/bin/python scripts/nbody_tables.py

Each row comes from `python -m egno evaluate --dataset nbody --model M --json [--timesteps P]`
on the shipped checkpoints (the data is generated first if missing).
"""
from __future__ import annotations

import json
import subprocess
import sys

from egno.paths import CHECKPOINTS, ROOT

MODELS = ["linear", "egnn", "egnn-r", "egnn-s", "gnn", "egno"]
PAPER = {"linear": (".0819", "–"), "egnn": (".0071", "–"), "egnn-r": (".0720", ".0215"),
         "egnn-s": (".0070", ".0045"), "gnn": ("–", "–"), "egno": (".0054", ".0022")}
SWEEP = [2, 5, 10, 20, 50]


def evaluate(model: str, timesteps: int | None = None) -> dict:
    cmd = [sys.executable, "-m", "egno", "evaluate", "--dataset", "nbody", "--model", model,
           "--json", "--quiet"]
    if timesteps:
        cmd += ["--timesteps", str(timesteps)]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def card(model: str) -> dict:
    return json.loads((CHECKPOINTS / "nbody" / f"{model}.json").read_text())


def main() -> None:
    print("| model | F-MSE (ours) | A-MSE (ours) | F-MSE (paper) | A-MSE (paper) | training (from the card) |")
    print("|---|---|---|---|---|---|")
    for m in MODELS:
        r, c = evaluate(m), card(m)
        tc = c["train_config"]
        budget = "no training" if m == "linear" else (
            f"{c['epochs_run']} epochs, {c['wall_time_s'] / 60:.0f} min, best epoch {c['best_epoch']}, "
            f"lr {tc['lr']:g}{', EMA ' + str(tc['ema']) if tc.get('ema') else ''}; {c['stop_reason']}")
        print(f"| {m} | {r['f_mse']:.4f} | {r['a_mse']:.4f} | {PAPER[m][0]} | {PAPER[m][1]} | {budget} |")
    print()
    others = ["linear", "egnn", "egnn-r"]
    print("| P | EGNO F-MSE | EGNO A-MSE | | " + " | ".join(f"{m} F-MSE / A-MSE" for m in others) + " |")
    print("|---|---|---|---|" + "---|" * len(others))
    for p in SWEEP:
        r = evaluate("egno", p)
        mark = "**trained P**" if p == r["trained_timesteps"] else "zero-shot"
        cells = [evaluate(m, p) for m in others]
        print(f"| {p} | {r['f_mse']:.4f} | {r['a_mse']:.4f} | {mark} | "
              + " | ".join(f"{c['f_mse']:.4f} / {c['a_mse']:.4f}" for c in cells) + " |")


if __name__ == "__main__":
    main()
