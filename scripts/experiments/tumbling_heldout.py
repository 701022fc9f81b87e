"""A molecule that tumbles, predicted by models trained on rotation-free data: held-out segments
(seeds no split uses) simulated with GFN2-xTB like the data but keeping the thermal angular
momentum the equilibration leaves (``--rotation thermal``), written as all-atom npz files (R, z,
time), and scored the way `python -m egno evaluate --data FILE` scores them: with each window's
rigid rotation split off and carried analytically (egno.data.rigid), beside the same windows with
the rotation left in the input, and no motion.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/experiments/tumbling_heldout.py benzene --out runs/tumbling
    python -m egno evaluate --dataset md17/benzene --data runs/tumbling/benzene-900000.npz   # one file
"""
from __future__ import annotations

import argparse
from pathlib import Path
from unittest import mock

import numpy as np
import torch

from egno import get_dataset, resolve_checkpoint
from egno.data.md17_sim import MOLECULES, STRIDE, TIMESTEP_FS, WINDOW_STEPS, simulate_segment
from egno.run.evaluate import evaluate, frame_mse

SEED = 900_000  # the splits use 100000+, 200000+ and 300000+


def simulate(name: str, segments: int, windows: int, out: Path) -> list[Path]:
    """``segments`` thermal-rotation segments of ``windows`` windows each (one every 30 steps)."""
    frames = WINDOW_STEPS // STRIDE + 2 * windows + 2
    paths = []
    for k in range(segments):
        path = out / f"{name}-{SEED + k}.npz"
        if not path.exists():
            seg = simulate_segment(MOLECULES[name], "xtb", SEED + k, frames, rotation="thermal")
            np.savez(path, R=seg["positions"], z=seg["z"], time=np.arange(frames) * STRIDE * TIMESTEP_FS)
            print(f"{path.name}: {frames} frames in {seg['wall_time_s']:.0f} s", flush=True)
        paths.append(path)
    return paths


def scores(dataset: str, models: list[str], path: Path) -> dict:
    family = get_dataset(dataset)
    carried = family.read_file(path)
    with mock.patch("egno.data.md17.carry_rotation", lambda w, *args, **kw: w):
        left_in = family.read_file(path)
    still = float(frame_mse(carried.x.expand_as(carried.target), carried.target)[-1])
    row = {"windows": len(carried), "turn_rad": float(np.mean(carried.meta["turn_rad"])), "no motion": still}
    for m in models:
        model = resolve_checkpoint(dataset, m).model
        a, b = evaluate(model, carried, 500), evaluate(model, left_in, 500)
        row[m] = (a["f_mse"], b["f_mse"], a.get("gyration_ratio"))
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("molecule", choices=MOLECULES)
    ap.add_argument("--segments", type=int, default=2)
    ap.add_argument("--windows", type=int, default=30, help="windows per segment")
    ap.add_argument("--models", nargs="+", default=["egno", "egnn"])
    ap.add_argument("--out", type=Path, default=Path("runs/tumbling"))
    a = ap.parse_args()
    torch.set_num_threads(1)
    a.out.mkdir(parents=True, exist_ok=True)
    print("| file | windows | turn per window (rad, mean) | no motion (Å²) | "
          + " | ".join(f"{m} carried (× no motion) | {m} left in | {m} gyration ratio" for m in a.models) + " |")
    print("|---" * (4 + 3 * len(a.models)) + "|")
    for path in simulate(a.molecule, a.segments, a.windows, a.out):
        r = scores(f"md17/{a.molecule}", a.models, path)
        cells = [f"{r[m][0]:.4g} ({r[m][0] / r['no motion']:.2g}) | {r[m][1]:.4g} | "
                 + ("–" if r[m][2] is None else f"{r[m][2]:.3f}") for m in a.models]
        print(f"| {path.name} | {r['windows']} | {r['turn_rad']:.2f} | {r['no motion']:.4g} | "
              + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
