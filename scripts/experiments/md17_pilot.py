"""A quick look at one molecule's data before the hours of a full generation: the test split
alone, a few segments and floor windows, with the production the full data use (no net rotation
unless ``--rotation thermal``). Prints the split's angular momentum, the no-motion F-MSE before
and after removing the rigid motion (Kabsch), and the floors.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/experiments/md17_pilot.py ethanol --out /tmp/pilot
    OMP_NUM_THREADS=1 .venv/bin/python scripts/experiments/md17_pilot.py aspirin --out /tmp/pilot
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from egno.data.md17_sim import MOLECULES, ROTATIONS, generate_molecule


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("molecule", choices=MOLECULES)
    ap.add_argument("--out", type=Path, required=True, help="folder for <molecule>/ (test.npz, card.json)")
    ap.add_argument("--windows", type=int, default=40, help="test windows (default 40)")
    ap.add_argument("--segments", type=int, default=2)
    ap.add_argument("--floor-windows", type=int, default=4)
    ap.add_argument("--rotation", choices=ROTATIONS, default="zero")
    ap.add_argument("--engine", choices=("xtb", "mmff"), default="xtb")
    a = ap.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"
    start = time.time()
    folder = generate_molecule(a.out / a.molecule, a.molecule, a.engine, sizes={"test": a.windows},
                               splits=("test",), segments=a.segments, progress=False,
                               floor_windows=a.floor_windows, rotation=a.rotation)
    card = json.loads((folder / "card.json").read_text())
    test = card["splits"]["test"]
    keys = ("angular_momentum", "no_motion_f_mse", "no_motion_internal_f_mse", "rigid_share_of_no_motion",
            "mean_temperature_K", "steps")
    print(json.dumps({"molecule": a.molecule, "rotation": a.rotation, "wall_time_s": round(time.time() - start),
                      **{k: test[k] for k in keys}, "floors": card.get("floors")}, indent=1))


if __name__ == "__main__":
    main()
