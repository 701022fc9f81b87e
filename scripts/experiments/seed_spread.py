"""How much does a shipped result move with the training seed? Reruns the exact command recorded in
each shipped checkpoint's card with other seeds (nothing shipped: into runs/seeds/<dataset>/<model>-<seed>),
then prints every test and validation F-MSE beside the shipped checkpoint's.

    .venv/bin/python scripts/experiments/seed_spread.py md17/ethanol --seeds 1 2 [--models egno egnn egnn-s]
    python scripts/experiments/seed_spread.py protein/adk --seeds 42 1 2 --device cuda --jobs 4

The schedule comes from the card, so it cannot drift from the script that trained the shipped model.
``--device`` runs it there, one CPU thread per run (a GPU run of seed 42 shows how far the device alone
moves the result). Runs are resumable like every training run; ``--table`` only prints.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from egno.run.checkpoint import rerun_command, run_commands, shipped_card, shipped_path
from egno.paths import ROOT

def run_dir(dataset: str, model: str, seed: int) -> Path:
    return ROOT / "runs" / "seeds" / dataset / f"{model}-{seed}"


def table(dataset: str, models: list[str], seeds: list[int]) -> str:
    rows = ["| model | seed | device | test F-MSE | test A-MSE | val F-MSE | epochs (best) |",
            "|---|---|---|---|---|---|---|"]
    for m in models:
        cards = [("shipped", shipped_path(dataset, m).with_suffix(".json"))]
        cards += [(str(s), run_dir(dataset, m, s) / f"{m}.json") for s in seeds]
        for seed, path in cards:
            if not path.exists():
                rows.append(f"| {m} | {seed} | – | not run | | | |")
                continue
            c = json.loads(path.read_text())
            if seed == "shipped":
                seed = f"{c['train_config']['seed']} (shipped)"
            t, v = c["metrics"]["test"], c["metrics"]["val"]
            rows.append(f"| {m} | {seed} | {c['device']} | {t['f_mse']:.4f} | {t['a_mse']:.4f} "
                        f"| {v['f_mse']:.4f} | {c['epochs_run']} ({c['best_epoch']}) |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset")
    ap.add_argument("--seeds", type=int, nargs="+", required=True)
    ap.add_argument("--models", nargs="+", default=["egno", "egnn", "egnn-s"])
    ap.add_argument("--device", help="e.g. cuda (default: the CPU, one thread per run)")
    ap.add_argument("--jobs", type=int, default=1, help="runs at once")
    ap.add_argument("--table", action="store_true", help="only print the table")
    a = ap.parse_args()
    if not a.table:
        todo = []
        for m in a.models:
            card = shipped_card(a.dataset, m, required=True)
            todo += [rerun_command(card, s, run_dir(a.dataset, m, s), a.device) for s in a.seeds]

        run_commands(todo, a.jobs, ROOT)
    print(f"**{a.dataset}**\n")
    print(table(a.dataset, a.models, a.seeds))


if __name__ == "__main__":
    main()
