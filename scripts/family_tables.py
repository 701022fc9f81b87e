"""Print the README's motion and protein tables by running the documented evaluate commands.

    .venv/bin/python scripts/family_tables.py mocap/walk mocap/run protein/adk

Each row comes from `python -m egno evaluate --dataset D --model M --json` on the shipped
checkpoints; motion errors are also given in the paper's ×10⁻² presentation.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ["linear", "egnn", "egnn-r", "egnn-s", "gnn", "egno"]
PAPER = {  # DESIGN §3, F-MSE; measured on other data (the paper's trials / AdK equilibrium MD)
    "mocap/walk": {"egnn": "28.7", "egnn-r": "90.7", "egnn-s": "26.4", "egno": "8.1"},
    "mocap/run": {"egnn": "50.9", "egnn-r": "816.7", "egnn-s": "54.2", "egno": "33.9"},
    "protein/adk": {"linear": "2.890", "egnn": "2.735", "egno": "2.231"},
}


def evaluate(dataset: str, model: str) -> dict:
    cmd = [sys.executable, "-m", "egno", "evaluate", "--dataset", dataset, "--model", model,
           "--json", "--quiet"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def card(dataset: str, model: str) -> dict:
    return json.loads((ROOT / "assets" / "checkpoints" / dataset / f"{model}.json").read_text())


def main(datasets: list[str]) -> None:
    for dataset in datasets:
        scale = 100 if dataset.startswith("mocap") else 1
        unit = "×10⁻², " if scale == 100 else ""
        print(f"\n**{dataset}**\n")
        print(f"| model | F-MSE ({unit}ours) | A-MSE ({unit}ours) | F-MSE (paper, other data) | "
              "training (from the card) |")
        print("|---|---|---|---|---|")
        rows = {m: evaluate(dataset, m) for m in MODELS}
        best_f = min(rows, key=lambda m: rows[m]["f_mse"])
        best_a = min(rows, key=lambda m: rows[m]["a_mse"])
        for m, r in rows.items():
            c = card(dataset, m)
            tc = c["train_config"]
            budget = "no training" if m == "linear" else (
                f"{c['epochs_run']} epochs, {c['wall_time_s'] / 60:.0f} min, best epoch {c['best_epoch']}, "
                f"hidden {c['model_config']['hidden']}, batch {tc['batch_size']}"
                f"{', EMA ' + str(tc['ema']) if tc.get('ema') else ''}; {c['stop_reason']}")
            f = f"{r['f_mse'] * scale:.2f}" if scale == 100 else f"{r['f_mse']:.4f}"
            a = f"{r['a_mse'] * scale:.2f}" if scale == 100 else f"{r['a_mse']:.4f}"
            f = f"**{f}**" if m == best_f else f
            a = f"**{a}**" if m == best_a else a
            print(f"| {m} | {f} | {a} | {PAPER[dataset].get(m, '–')} | {budget} |")
        print(f"\n{rows['egno']['n_samples']} test windows, P = {rows['egno']['timesteps']}.")


if __name__ == "__main__":
    main(sys.argv[1:] or ["mocap/walk", "mocap/run", "protein/adk"])
