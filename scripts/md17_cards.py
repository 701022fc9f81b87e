"""Print the md17 data cards (data/md17/<molecule>/card.json) as the README's tables.

    python scripts/md17_cards.py [--data-dir data/md17]

Per molecule and split: mean temperature (target 500 K ± 10%), energy drift of the production
runs, the spread of angular momentum over segments, the no-motion F-MSE; the two floors measured
on test windows rerun from their stored state; and what the generation cost.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from egno.data.md17_sim import MOLECULES, temperature_ok

SPLITS = ("train", "val", "test")


def split_cell(facts: dict | None) -> str:
    if not facts:
        return "–"
    t = facts["mean_temperature_K"]
    return f"{t:.0f} K{'' if temperature_ok(t) else ' (outside ±10%)'}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[1] / "data" / "md17")
    a = ap.parse_args()
    cards = {m: json.loads((a.data_dir / m / "card.json").read_text())
             for m in MOLECULES if (a.data_dir / m / "card.json").exists()}
    print("| molecule | production | T train / val / test | energy drift (eV/ps/atom, max) | "
          "angular momentum (amu Å²/fs, mean ± sd) | blocks redrawn (temperature) | steps | "
          "wall time (core-min) |")
    print("|---|---|---|---|---|---|---|---|")
    for name in MOLECULES:
        card = cards.get(name)
        if card is None or "segments" not in card:
            print(f"| {name} | {'older data' if card else 'not generated'} | | | | | | |")
            continue
        splits = card["splits"]
        drift = max(splits[s]["energy_drift_eV_per_ps_per_atom"]["max_abs"] for s in splits)
        ang = splits.get("test", next(iter(splits.values())))["angular_momentum"]
        # a block of seeds redrawn for its temperature cost as much as the split it was drawn for
        redrawn = [(s, r) for s in splits for r in card.get("rejected", {}).get(s, [])]
        steps = (sum(splits[s]["steps"] for s in splits) + sum(splits[s]["steps"] for s, _ in redrawn)
                 + card.get("floors", {}).get("steps", 0))
        wall = (sum(splits[s]["wall_time_s"] for s in splits) + sum(r.get("wall_time_s", 0) for _, r in redrawn)
                + card.get("floors", {}).get("wall_time_s", 0))
        untimed = sum("wall_time_s" not in r for _, r in redrawn)
        print(f"| {name} | {card['production']}, {card['segments']} segments/split | "
              f"{' / '.join(split_cell(splits.get(s)) for s in SPLITS)} | {drift:.1e} | "
              f"{ang['mean']:.2f} ± {ang['std']:.2f} | {len(redrawn)} | {steps:,} | {wall / 60:.0f}"
              f"{f' + {untimed} redrawn block(s) not timed' if untimed else ''} |")
    print()
    print("| molecule | no-motion F-MSE test (Å²) | full-state floor (Å²) | heavy-atom floor (Å²) | "
          "heavy-atom floor / no motion | floor windows |")
    print("|---|---|---|---|---|---|")
    for name, card in cards.items():
        floors = card.get("floors")
        if not floors:
            continue
        print(f"| {name} | {card['splits']['test']['no_motion_f_mse']:.3f} | {floors['full_state_f_mse']:.1e} | "
              f"{floors['heavy_atom_f_mse']:.3f} | {floors['heavy_atom_fraction_of_no_motion']:.2f} | "
              f"{floors['windows']} |")


if __name__ == "__main__":
    main()
