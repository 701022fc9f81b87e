"""Print the README's table of the md17 dataset cards (data/md17/<molecule>/card.json).

    .venv/bin/python scripts/md17_cards.py

Mean temperature of each split (the target is 500 K ± 10%; a split simulated again with another
seed after missing it shows the rejected seed and temperature), steps, wall time of the kept runs
(one core, shared with other jobs) and the NVE drift.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from egno.data.md17 import MOLECULES, temperature_ok  # noqa: E402


def main() -> None:
    print("| molecule | engine | train | validation | test | steps (train / val / test) | "
          "wall time | NVE drift (eV/ps/atom) |")
    print("|---|---|---|---|---|---|---|---|")
    for name in MOLECULES:
        path = ROOT / "data" / "md17" / name / "card.json"
        if not path.exists():
            print(f"| {name} | not generated | | | | | | |")
            continue
        card = json.loads(path.read_text())
        splits = card["splits"]
        temps = []
        for split in ("train", "val", "test"):
            t = splits.get(split, {}).get("mean_temperature_K")
            flag = "" if t is None or temperature_ok(t) else " (outside ±10%)"
            rejected = card.get("rejected", {}).get(split, [])
            redrawn = (" (after seeds " + ", ".join(f"{r['seed']}: {r['mean_temperature_K']:.0f} K"
                                                     for r in rejected) + ")") if rejected else ""
            temps.append("–" if t is None else f"{t:.0f} K{flag}{redrawn}")
        steps = " / ".join(f"{splits[s]['steps']:,}" for s in ("train", "val", "test") if s in splits)
        walls = [splits[s].get("wall_time_s") for s in splits]
        # older cards timed only the last run of a split resumed after an interruption: "≥"
        exact = all("resumed" in splits[s] for s in splits) and None not in walls
        wall = (f"{sum(walls) / 60:.0f} min" if exact
                else f"≥ {sum(w for w in walls if w) / 60:.0f} min")
        drift = card.get("nve_check", {}).get("drift_eV_per_ps_per_atom")
        print(f"| {name} | {card['engine']} | {' | '.join(temps)} | {steps} | {wall} | "
              f"{'–' if drift is None else f'{drift:.1e}'} |")


if __name__ == "__main__":
    main()
