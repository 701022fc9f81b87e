"""Does a molecule model keep the molecule's shape? Per checkpoint, on one split of an md17
molecule: F-MSE, the final frame's radius-of-gyration ratio, the mean bond-length error there (Å,
against the true frame) and the share of windows whose final frame the Long horizon page would
flag (more than half of the bonds off by > 0.1 Å: ``egno.data.physics``).

    python scripts/experiments/shape_check.py md17/malonaldehyde --split val \\
        rerun=runs/schedule/md17/malonaldehyde/egno-rerun/egno.pt \\
        shape0.1=runs/schedule/md17/malonaldehyde/egno-shape0.1/egno.pt
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from egno.data import collate, get_dataset
from egno.data.physics import BOND_OFF, LIMITS, MD17_BOND
from egno.run.checkpoint import load_checkpoint
from egno.run.evaluate import gyration_ratio, metrics, predict


def bond_errors(final: torch.Tensor, truth: torch.Tensor, w) -> tuple[np.ndarray, np.ndarray]:
    """Per window: mean |bond length − true bond length| (Å) and the share of bonds off by more
    than ``BOND_OFF``, on the final frame (N, 3) of every window."""
    batch = collate(w)  # edge indices over all windows' nodes, and each node's window
    i, j = batch.edge_index[:, batch.edge_attr[:, MD17_BOND] > 0.5]
    keep = i < j  # each bond once
    i, j = i[keep], j[keep]
    err = ((final[i] - final[j]).norm(dim=-1) - (truth[i] - truth[j]).norm(dim=-1)).abs().double()
    window = batch.graph[i]
    count = torch.bincount(window, minlength=len(w)).double()
    mean = torch.bincount(window, err, minlength=len(w)) / count
    off = torch.bincount(window, (err > BOND_OFF).double(), minlength=len(w)) / count
    return mean.numpy(), off.numpy()


def check(model, w) -> dict:
    pred = predict(model, w)
    mean, off = bond_errors(pred[-1], w.target[-1], w)
    return {"f_mse": metrics(pred, w.target)["f_mse"], "gyration": gyration_ratio(pred, w.target, w.node_ptr),
            "bond_error": float(mean.mean()), "flagged": float((off > LIMITS["bonds_off"]).mean())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", help="md17/<molecule>")
    ap.add_argument("--split", default="val", choices=("train", "val", "test"))
    ap.add_argument("checkpoints", nargs="+", metavar="NAME=PATH")
    a = ap.parse_args()
    torch.set_num_threads(1)
    family = get_dataset(a.dataset)
    family.ensure(progress=False)
    w = None
    print(f"| {a.dataset} ({a.split}) | F-MSE (Å²) | gyration ratio | bond error, final frame (Å) "
          "| windows flagged |\n|---|---|---|---|---|")
    for arg in a.checkpoints:
        name, _, path = arg.partition("=")
        lm = load_checkpoint(path)
        w = w if w is not None else family.load(a.split, lm.config.timesteps)
        r = check(lm.model, w)
        print(f"| {name} | {r['f_mse']:.5f} | {r['gyration']:.3f} | {r['bond_error']:.4f} | {r['flagged']:.1%} |")


if __name__ == "__main__":
    main()
