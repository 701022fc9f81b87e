"""Is a ranking of shipped md17 models beyond the test split's noise? Scores every shipped model of
each molecule per test segment (10 independent NVE segments; windows within one are strongly
correlated) and prints mean ± standard error over segments, and EGNO against each model segment by
segment (paired: the same windows); the md17/all EGNO is scored beside them.

    .venv/bin/python scripts/experiments/segment_spread.py md17/salicylic md17/naphthalene
"""
from __future__ import annotations

import argparse

import numpy as np

from egno.run.checkpoint import resolve_checkpoint, shipped_models
from egno.data import get_dataset
from egno.run.evaluate import segment_f_mse

MODELS = ("egno", "egnn", "egnn-s", "egnn-r", "gnn")


def scores(dataset: str) -> dict[str, np.ndarray]:
    """Test F-MSE per test segment (Å²) of every shipped model of ``dataset`` but the linear fit,
    and of the one EGNO trained on all eight molecules (``egno, md17/all``)."""
    family = get_dataset(dataset)
    test, segment = family.load("test"), family.segments("test")
    got = {m: segment_f_mse(resolve_checkpoint(dataset, m).model, test, segment)
           for m in MODELS if m in shipped_models(dataset)}
    if "egno" in shipped_models("md17/all"):
        got["egno, md17/all"] = segment_f_mse(resolve_checkpoint("md17/all", "egno").model, test, segment)
    return got


def table(dataset: str) -> str:
    got = scores(dataset)
    se = {m: v.std(ddof=1) / np.sqrt(len(v)) for m, v in got.items()}
    lines = [f"**{dataset}** (test F-MSE per segment, {len(next(iter(got.values())))} segments; Å²)", "",
             "| model | mean ± standard error | EGNO − model, paired | EGNO lower on |", "|---|---|---|---|"]
    for m, v in got.items():
        if m == "egno":
            lines.append(f"| egno | {v.mean():.4g} ± {se[m]:.2g} | | |")
            continue
        d = got["egno"] - v
        lines.append(f"| {m} | {v.mean():.4g} ± {se[m]:.2g} | {d.mean():+.2g} ± {d.std(ddof=1) / np.sqrt(len(d)):.2g} "
                     f"| {(d < 0).sum()} of {len(d)} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("datasets", nargs="+", help="md17/<molecule> with deterministic data")
    for dataset in ap.parse_args().datasets:
        print(table(dataset) + "\n")


if __name__ == "__main__":
    main()
