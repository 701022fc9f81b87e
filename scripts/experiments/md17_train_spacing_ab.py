"""A/B of the training split's window spacing on one md17 molecule.

The shipped data put the 500 training windows 30 MD steps apart along one 10 ps trajectory, so
neighbouring windows share 99% of their frames. Here the windows are ``--spacing`` steps apart
along a longer trajectory of the same seed (its first 10 ps are the shipped split's), with the same
validation and test splits (copied). EGNO, egnn and egnn-s are trained with the commands recorded
in their shipped cards (``egno.checkpoint.rerun_command``, seed 42) and compared with the shipped
models on the same 2000 test windows. Nothing is shipped; resumable like every run.

    .venv/bin/python scripts/experiments/md17_train_spacing_ab.py benzene --spacing 120 \
        [--jobs 2] [--models …] [--data-only]

Needs data/md17/<molecule> (scripts/generate_md17.sh). Writes data/md17-spacing<S>/<molecule> and
runs/spacing<S>/<molecule>/<model>.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from egno.checkpoint import rerun_command, shipped_path
from egno.paths import ROOT

MODELS = ("egno", "egnn", "egnn-s")


def prepare(molecule: str, spacing: int) -> Path:
    """The molecule's validation and test splits and card (without its training split) in a new
    data folder, and a training split with windows ``spacing`` steps apart simulated into it."""
    src, dst = ROOT / "data" / "md17" / molecule, ROOT / "data" / f"md17-spacing{spacing}" / molecule
    dst.mkdir(parents=True, exist_ok=True)
    for split in ("val", "test"):
        if not (dst / f"{split}.npz").exists():
            shutil.copy(src / f"{split}.npz", dst)
    if not (dst / "card.json").exists():
        card = json.loads((src / "card.json").read_text())
        card["splits"].pop("train", None)
        card.get("rejected", {}).pop("train", None)
        card.pop("note", None)
        card["train_spacing_steps"] = spacing
        (dst / "card.json").write_text(json.dumps(card, indent=2))
    subprocess.run([sys.executable, "-m", "egno", "data", "md17", "--molecule", molecule,
                    "--data-dir", str(dst), "--train-spacing", str(spacing), "--quiet"],
                   cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, check=True)
    return dst


def out_dir(molecule: str, spacing: int, model: str) -> Path:
    return ROOT / "runs" / f"spacing{spacing}" / molecule / model


def train(molecule: str, spacing: int, model: str, data: Path) -> None:
    card = json.loads(shipped_path(f"md17/{molecule}", model).with_suffix(".json").read_text())
    cmd = rerun_command(card, 42, out_dir(molecule, spacing, model), None) + ["--data-dir", str(data)]
    subprocess.run(cmd, cwd=ROOT, check=True)


def table(molecule: str, spacing: int) -> str:
    rows = [f"md17/{molecule}: test F-MSE / A-MSE (Å²), 2000 test windows, P = 8",
            f"| model | training windows 30 steps apart (shipped) | {spacing} steps apart "
            f"| epochs (best), shipped / {spacing} |",
            "|---|---|---|---|"]
    for m in MODELS:
        a = json.loads(shipped_path(f"md17/{molecule}", m).with_suffix(".json").read_text())
        path = out_dir(molecule, spacing, m) / f"{m}.json"
        if not path.exists():
            fa = a["metrics"]["test"]
            rows.append(f"| {m} | {fa['f_mse']:.4f} / {fa['a_mse']:.4f} | not run | |")
            continue
        b = json.loads(path.read_text())
        fa, fb = a["metrics"]["test"], b["metrics"]["test"]
        rows.append(f"| {m} | {fa['f_mse']:.4f} / {fa['a_mse']:.4f} | {fb['f_mse']:.4f} / "
                    f"{fb['a_mse']:.4f} | {a['epochs_run']} ({a['best_epoch']}) / "
                    f"{b['epochs_run']} ({b['best_epoch']}) |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("molecule")
    ap.add_argument("--spacing", type=int, default=120)
    ap.add_argument("--jobs", type=int, default=1, help="trainings at once (one core each)")
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS,
                    help="train only these (a finished run is not trained again)")
    ap.add_argument("--table", action="store_true", help="only print the table")
    ap.add_argument("--data-only", action="store_true", help="only simulate the training split")
    a = ap.parse_args()
    if a.data_only:
        print(f"wrote {prepare(a.molecule, a.spacing)}")
        return
    if not a.table:
        data = prepare(a.molecule, a.spacing)
        with ThreadPoolExecutor(a.jobs) as pool:
            list(pool.map(lambda m: train(a.molecule, a.spacing, m, data), a.models))
    print(table(a.molecule, a.spacing))


if __name__ == "__main__":
    main()
