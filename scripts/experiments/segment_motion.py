"""How much does each md17 segment move, and how does a model do on it? Per split (train, val,
test; the splits found in the data folder), per segment: its temperature (the card's), its
no-motion F-MSE and the model's F-MSE as a fraction of it, and the correlations. A split's
segments are its independent samples: where they range from quiet to large conformational
changes, two splits of 10 segments can disagree on which schedule is better.

    .venv/bin/python scripts/experiments/segment_motion.py md17/aspirin --model egno
"""
from __future__ import annotations

import argparse

import numpy as np

from egno.data import get_dataset
from egno.run.checkpoint import load_checkpoint, resolve_checkpoint
from egno.run.evaluate import segment_f_mse, window_f_mse


def split_rows(family, model, split: str) -> dict[str, np.ndarray]:
    """Per segment of ``split``: temperature (K), no-motion F-MSE and the model's F-MSE (Å²)."""
    w, segment = family.load(split), family.segments(split)
    still = window_f_mse(w.x.expand_as(w.target), w.target, w.node_ptr).numpy()
    return {"temperature": np.array(family.generation_card()["splits"][split]["segment_temperature_K"]),
            "no_motion": np.bincount(segment, still) / np.bincount(segment),
            "model": segment_f_mse(model, w, segment)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset", help="md17/<molecule>")
    ap.add_argument("--model", default="egno")
    ap.add_argument("--checkpoint", help="a checkpoint file instead of the shipped --model")
    a = ap.parse_args()
    loaded = load_checkpoint(a.checkpoint, "cpu") if a.checkpoint else resolve_checkpoint(a.dataset, a.model)
    family = get_dataset(a.dataset)
    rows = {split: split_rows(family, loaded.model, split) for split in ("train", "val", "test")
            if (family.data_dir / f"{split}.npz").exists()}
    print(f"**{a.dataset}**, {loaded.path.name}: segments of each split (F-MSE in Å²)\n")
    print("| split | no motion per segment: min – max | model ÷ no motion per segment: min – max | "
          "split's model ÷ split's no motion | corr(no motion, ratio) | corr(temperature, no motion) |")
    print("|---|---|---|---|---|---|")
    for split, r in rows.items():
        ratio = r["model"] / r["no_motion"]
        print(f"| {split} | {r['no_motion'].min():.3f} – {r['no_motion'].max():.3f} | "
              f"{ratio.min():.2f} – {ratio.max():.2f} | {r['model'].mean() / r['no_motion'].mean():.2f} | "
              f"{np.corrcoef(r['no_motion'], ratio)[0, 1]:+.2f} | "
              f"{np.corrcoef(r['temperature'], r['no_motion'])[0, 1]:+.2f} |")
    print("\nper segment, in the data's order: temperature / no motion / model ÷ no motion")
    for split, r in rows.items():
        print(f"- {split}: " + "; ".join(f"{t:.0f} K / {n:.3f} / {m / n:.2f}"
                                         for t, n, m in zip(r["temperature"], r["no_motion"], r["model"])))


if __name__ == "__main__":
    main()
