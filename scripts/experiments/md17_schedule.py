"""Tune the md17 training schedule on validation before retraining the molecules on rotation-free
data (docs/results/molecules.md): the shipped schedule (EMA 0.999, patience 60) against EMA 0.99
and no EMA (patience 100), the same for every model named, on one molecule's regenerated data.
Prints each run's best validation F-MSE beside the validation split's no-motion F-MSE, and its
test F-MSE and radius-of-gyration ratio. Resumable (finished runs are kept).

    EGNO_DATA=/path/to/rotation-free/data python scripts/experiments/md17_schedule.py ethanol
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCHEDULES = {"shipped": ["--ema", "0.999", "--patience", "60"],
             "ema0.99": ["--ema", "0.99", "--patience", "100"],
             "no-ema": ["--patience", "100"]}


def no_motion(dataset: str) -> float:
    """The validation split's no-motion F-MSE (every atom left where it is)."""
    from egno import get_dataset
    from egno.run.evaluate import frame_mse

    val = get_dataset(dataset).load("val")
    return float(frame_mse(val.x.expand_as(val.target), val.target)[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("molecule")
    ap.add_argument("--models", nargs="+", default=["egno", "egnn"])
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--time-limit", type=float, default=10.0, help="minutes per run")
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "md17_schedule")
    a = ap.parse_args()
    dataset = f"md17/{a.molecule}"
    rows = []
    for model in a.models:
        for name, options in SCHEDULES.items():
            run = a.out / a.molecule / f"{model}-{name}"
            if not (run / f"{model}.pt").exists():
                cmd = [sys.executable, "-m", "egno", "train", "--dataset", dataset, "--model", model,
                       "--threads", "1", "--quiet", "--epochs", str(a.epochs), "--time-limit",
                       str(a.time_limit), *options, "--out", str(run)]
                print(" ".join(cmd[1:]), flush=True)
                subprocess.run(cmd, cwd=ROOT, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
            card = json.loads((run / f"{model}.json").read_text())
            best = min(h["val_f_mse"] for h in card["history"])
            test = card["metrics"]["test"]
            rows.append((model, name, best, test["f_mse"], test.get("gyration_ratio"), card["best_epoch"],
                         card["epochs_run"], card["wall_time_s"], card["stop_reason"]))
    still = no_motion(dataset)
    print(f"\n{dataset}: validation no-motion F-MSE {still:.5g} Å²\n")
    print("| model | schedule | best val F-MSE (× no motion) | test F-MSE | gyration ratio "
          "| best / run epochs | s | stop |")
    print("|---|---|---|---|---|---|---|---|")
    for model, name, best, test, gyr, be, er, wall, stop in rows:
        gyration = "–" if gyr is None else f"{gyr:.3f}"
        print(f"| {model} | {name} | {best:.5g} ({best / still:.2f}) | {test:.5g} | {gyration} | {be} / {er} | "
              f"{wall:.0f} | {stop} |")


if __name__ == "__main__":
    main()
