"""Chained checkpoints side by side on the long-horizon test data (docs/results/long_horizon.md):
the rollout's summary (means over the samples within the physical limits, medians with a diverged
sample as the largest, counts), the median and the mean over every sample with truth whatever the
limits say (a prediction that is not finite as the largest; the mean then inf), and
the mean over the samples that every compared checkpoint keeps within the limits (the same
samples for all, so the means compare). The first check (nbody: energy drift) at 10 windows also as
a median, and on the common samples how many are below the first row's; beside them the same
check of the true trajectories (its floor: finite-difference velocities).

    python scripts/experiments/chained_compare.py --dataset nbody \\
        egno=assets/checkpoints/nbody/egno.pt egnn-r=assets/checkpoints/nbody/egnn-r.pt \\
        egno-long=assets/checkpoints/nbody/long/egno.pt egnn-r-long=assets/checkpoints/nbody/long/egnn-r.pt
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from egno.data import get_dataset
from egno.data.long import long_windows
from egno.run.checkpoint import load_checkpoint
from egno.run.rollout import (chain, lost_by_window, per_sample_checks, sample_errors, window_end_checks,
                              window_summary)

AT = (1, 2, 5, 10, 20)


def _fmt(v) -> str:
    return "–" if v is None or not np.isfinite(v) else f"{v:.3g}"


def _per_window(checks: dict[str, np.ndarray], mask: np.ndarray, stat) -> dict[str, list]:
    """Each check's ``stat`` per window over the samples ``mask`` (S, K) keeps there (None: none)."""
    return {name: [float(stat(v[mask[:, k], k])) if mask[:, k].any() else None for k in range(v.shape[1])]
            for name, v in checks.items()}


def compare(dataset: str, named: dict[str, Path], windows: int, starts: int = 1,
            data_dir: Path | None = None) -> dict:
    family = get_dataset(dataset, data_dir)
    loaded = {name: load_checkpoint(path) for name, path in named.items()}
    p = next(iter(loaded.values())).config.timesteps
    w = long_windows(family, windows, p, starts=starts)
    rows = {}
    for name, lm in loaded.items():
        pred = chain(lm.model, w, windows, p, dataset)
        err = sample_errors(pred, w.target, w.node_ptr)[:, p - 1::p]  # S, K: each window's last frame
        samples = per_sample_checks(w, pred, dataset)
        within = ~lost_by_window(samples, p, windows)
        rows[name] = {"card": lm.card, "summary": window_summary(w, pred, windows, p, dataset, samples),
                      "err": err, "within": within & np.isfinite(err), "checks": window_end_checks(samples, p, windows)}
    common = np.logical_and.reduce([r["within"] for r in rows.values()])  # S, K
    out = {"dataset": dataset, "samples": len(w), "windows": windows, "starts": starts, "models": {}}
    for name, r in rows.items():
        scored = [r["err"][~np.isnan(r["err"][:, k]), k] for k in range(windows)]  # inf: not finite
        out["models"][name] = {
            "checkpoint": str(named[name]), "test_f_mse": r["card"]["metrics"]["test"]["f_mse"],
            **{key: r["summary"][key] for key in ("f_mse", "f_mse_median", "not_finite", "diverged")},
            "checks": r["summary"]["checks"],
            "median_all": [float(np.median(e)) if len(e) else None for e in scored],
            # every sample with truth, nothing left out (inf if one is not finite)
            "mean_all": [float(np.mean(e)) if len(e) else None for e in scored],
            "common_mean": [float(r["err"][common[:, k], k].mean()) if common[:, k].any() else None
                            for k in range(windows)],
            "common_n": [int(common[:, k].sum()) for k in range(windows)],
            "common_checks": _per_window(r["checks"], common, np.mean),
            # a few systems decide a mean of drifts that may reach the limit: medians and counts beside it
            "checks_median": _per_window(r["checks"], r["within"], np.median),
            "checks_all": _per_window(r["checks"], np.ones_like(r["within"]), np.mean),  # none left out
            "checks_median_all": _per_window(r["checks"], np.ones_like(r["within"]), np.median),
            "common_checks_median": _per_window(r["checks"], common, np.median),
            "common_checks_max": _per_window(r["checks"], common, np.max)}
    if w.target is not None:  # the input held still: the error a model must beat at each window
        still = sample_errors(w.x[None].expand(len(w.target), -1, -1), w.target, w.node_ptr)[:, p - 1::p]
        out["no_motion"] = {"mean_all": [float(np.nanmean(e)) if np.isfinite(e).any() else None for e in still.T],
                            "median_all": [float(np.nanmedian(e)) if np.isfinite(e).any() else None
                                           for e in still.T]}
        # the truth's own checks
        checks = window_end_checks(per_sample_checks(w, w.target, dataset), p, windows)
        has = np.isfinite(next(iter(checks.values())))
        out["truth"] = {"checks": _per_window(checks, has, np.mean),
                        "checks_median": _per_window(checks, has, np.median),
                        "common_checks": _per_window(checks, common & has, np.mean),
                        "common_checks_median": _per_window(checks, common & has, np.median)}
    base = next(iter(rows.values()))["err"]
    for name, r in rows.items():  # paired over the same starts: the first row minus this row
        both = np.isfinite(base) & np.isfinite(r["err"])
        d = [base[both[:, k], k] - r["err"][both[:, k], k] for k in range(windows)]
        out["models"][name]["paired_first_minus"] = [
            {"n": len(x), "mean": float(x.mean()) if len(x) else None,
             "se": float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else None,
             "first_lower": int((x < 0).sum())} for x in d]
    first = next(iter(rows.values()))["checks"]
    for name, r in rows.items():  # on the common samples: how often each row's check is below the first row's
        out["models"][name]["common_checks_below_first"] = {
            check: [int((v[common[:, k], k] < first[check][common[:, k], k]).sum()) for k in range(windows)]
            for check, v in r["checks"].items()}
    return out


def table(result: dict) -> str:
    at = [k for k in AT if k <= result["windows"]]
    drift = next(iter(next(iter(result["models"].values()))["checks"]), None)
    head = ["checkpoint", "test F-MSE (1 window)"]
    head += [f"mean @{k}" for k in at] + [f"median of all @{k}" for k in at]
    head += [f"mean of all @{k}" for k in at if k >= 10]
    head += [f"mean on the common samples @{k}" for k in at if k > 1]
    head += ["not finite @10 / @20", "diverged @10 / @20"]
    if drift:
        words = drift.replace("_", " ")
        head += [f"{words} @10: mean / median", f"{words} @10, mean of all",
                 f"{words} on the common samples @10: mean / median",
                 "... below the first row's on"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    last = result["windows"] - 1
    for name, m in result["models"].items():
        row = [name, f"{m['test_f_mse']:.4g}"]
        row += [_fmt(m["f_mse"][k - 1]) for k in at] + [_fmt(m["median_all"][k - 1]) for k in at]
        row += [_fmt(m["mean_all"][k - 1]) for k in at if k >= 10]
        row += [f"{_fmt(m['common_mean'][k - 1])} ({m['common_n'][k - 1]})" for k in at if k > 1]
        row += [f"{m['not_finite'][min(9, last)]} / {m['not_finite'][last]}",
                f"{m['diverged'][min(9, last)]:.0%} / {m['diverged'][last]:.0%}"]
        if drift:
            k = min(9, last)
            row += [f"{_fmt(m['checks'][drift][k])} / {_fmt(m['checks_median'][drift][k])}",
                    _fmt(m["checks_all"][drift][k]),
                    f"{_fmt(m['common_checks'][drift][k])} / {_fmt(m['common_checks_median'][drift][k])}",
                    f"{m['common_checks_below_first'][drift][k]} of {m['common_n'][k]}"]
        lines.append("| " + " | ".join(row) + " |")
    if "no_motion" in result:
        n = result["no_motion"]
        row = ["no motion (the input held)", ""] + [""] * len(at) + [_fmt(n["median_all"][k - 1]) for k in at]
        row += [_fmt(n["mean_all"][k - 1]) for k in at if k >= 10]
        lines.append("| " + " | ".join(row + [""] * (len(head) - len(row))) + " |")
    if drift and "truth" in result:
        t, k = result["truth"], min(9, last)
        row = ["truth (the data's own check)"] + [""] * (len(head) - 5)
        row += [f"{_fmt(t['checks'][drift][k])} / {_fmt(t['checks_median'][drift][k])}", "",
                f"{_fmt(t['common_checks'][drift][k])} / {_fmt(t['common_checks_median'][drift][k])}", ""]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def checks_table(result: dict) -> str:
    """Each physical check's median over every sample (none left out) at windows 1, 2, 5, 10, 20,
    and the share of samples past a limit by then: how long a chained model keeps the physics."""
    at = [k for k in AT if k <= result["windows"]]
    names = list(next(iter(result["models"].values()))["checks"])
    head = ["checkpoint", "check"] + [f"@{k}" for k in at]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, m in result["models"].items():
        for check in names:
            lines.append("| " + " | ".join([name, check.replace("_", " ") + ", median"]
                                           + [_fmt(m["checks_median_all"][check][k - 1]) for k in at]) + " |")
        lines.append("| " + " | ".join([name, "past a limit"] + [f"{m['diverged'][k - 1]:.0%}" for k in at]) + " |")
    return "\n".join(lines)


def paired_table(result: dict) -> str:
    """The first row's F-MSE minus each other row's, per sample over the starts both score (mean ±
    standard error, and on how many the first is lower), at windows 1, 2, 5, 10, 20."""
    at = [k for k in AT if k <= result["windows"]]
    names = list(result["models"])
    lines = [f"| {names[0]} minus | " + " | ".join(f"@{k}" for k in at) + " |", "|---|" + "---|" * len(at)]
    for name in names[1:]:
        cells = []
        for k in at:
            c = result["models"][name]["paired_first_minus"][k - 1]
            cells.append("–" if c["se"] is None else
                         f"{c['mean']:.2g} ± {c['se']:.2g} (lower on {c['first_lower']} of {c['n']})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="nbody")
    ap.add_argument("--windows", type=int, default=20)
    ap.add_argument("--starts", type=int, default=1,
                    help="starts per window where the family has them (mocap test: overlapping "
                         "rollouts from more phases of the same trials; default one every window)")
    ap.add_argument("--json", type=Path, help="also write the numbers here")
    ap.add_argument("--data-dir", type=Path, help="the family's data (default data/<dataset>)")
    ap.add_argument("--checks", action="store_true", help="also each check's median per window, all samples")
    ap.add_argument("--paired", action="store_true", help="also the first row minus each other row, per sample")
    ap.add_argument("checkpoints", nargs="+", metavar="NAME=PATH")
    a = ap.parse_args()
    torch.set_num_threads(1)
    named = dict(arg.split("=", 1) for arg in a.checkpoints)
    result = compare(a.dataset, {k: Path(v) for k, v in named.items()}, a.windows, a.starts, a.data_dir)
    if a.json:
        a.json.write_text(json.dumps(result, indent=1))
    print(table(result))
    if a.checks:
        print()
        print(checks_table(result))
    if a.paired:
        print()
        print(paired_table(result))


if __name__ == "__main__":
    main()
