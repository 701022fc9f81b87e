"""Checkpoints scored on the chained validation that training keeps its epoch by (egno.run.chained):
the mean F-MSE over W chained windows of the validation starts, and the same with the physical
checks (``--val-checks``: a rollout past a limit counts as the window's worst) with the share lost.
A run's own history holds these numbers for the epoch it kept; this recomputes them for any
checkpoint, so runs compare on one footing.

    python scripts/experiments/chained_val.py --dataset mocap/walk --windows 10 \\
        egno=assets/checkpoints/mocap/walk/long/egno.pt egnn-r=assets/checkpoints/mocap/walk/long/egnn-r.pt
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from egno.data import get_dataset
from egno.nn.config import TrainConfig
from egno.run import chained
from egno.run.checkpoint import load_checkpoint


def scores(dataset: str, named: dict[str, str], windows: int, data_dir: Path | None = None) -> dict[str, dict]:
    family = get_dataset(dataset, data_dir)
    out, w = {}, None
    for name, path in named.items():
        lm = load_checkpoint(path)
        if w is None:
            w = chained.val_windows(family, lm.config.timesteps, TrainConfig(val_windows=windows))
        checked = chained.chained_val(lm.model, w, family, "cpu", checks=True)  # one rollout, both scores
        out[name] = {"plain": checked["unchecked_score"], "checked": checked["score"],
                     "diverged": checked["diverged"]}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="mocap/walk")
    ap.add_argument("--windows", type=int, default=10)
    ap.add_argument("--data-dir", type=Path, help="the data the runs were trained on (default data/<dataset>)")
    ap.add_argument("checkpoints", nargs="+", metavar="NAME=PATH")
    a = ap.parse_args()
    torch.set_num_threads(1)
    result = scores(a.dataset, dict(arg.split("=", 1) for arg in a.checkpoints), a.windows, a.data_dir)
    print("| checkpoint | chained validation | with the checks | lost by the last window |\n|---|---|---|---|")
    for name, r in result.items():
        print(f"| {name} | {r['plain']:.4g} | {r['checked']:.4g} | {r['diverged']:.0%} |")


if __name__ == "__main__":
    main()
