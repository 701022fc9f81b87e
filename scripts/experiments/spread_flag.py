"""Does the predicted spread warn before a chained rollout diverges? (docs/results/uncertainty.md)

EGNO with its variance head (assets/checkpoints/<dataset>/uncertainty/egno.pt, the shipped EGNO's
positions) is chained K windows; each sample's accumulated spread after window k is
√(Σ_{j≤k} mean σ² at window j's end) (egno.run.rollout.accumulated_spread). The threshold is
chosen on the validation long-horizon data — the smallest that flags at most --false-rate of the
rollouts that never diverge — then applied to the test long-horizon data, where it reports how
many diverging rollouts were flagged before they diverged, and how early.

    python scripts/experiments/spread_flag.py --dataset nbody --windows 20
"""
from __future__ import annotations

import argparse
import json

import numpy as np

from egno import get_dataset
from egno.data.long import long_windows
from egno.run.checkpoint import variant_checkpoint
from egno.run.rollout import accumulated_spread, chain_with_spread, first_unpredictable, per_sample_checks


RULE = "accumulated"


def measure(family, split: str, windows: int, model, samples: int | None) -> tuple[np.ndarray, list]:
    """Accumulated spread (S, K) and the window each sample diverged in (None: never)."""
    p = model.config.timesteps
    w = long_windows(family, windows, p, split)
    if samples:
        w = w.select(range(min(samples, len(w))))
    pred, var = chain_with_spread(model.model, w, windows, p, family.name)
    spread = accumulated_spread(var, w.node_ptr, p)
    if RULE == "relative":  # each window's own spread against the first window's
        own = np.sqrt(np.diff(np.concatenate([np.zeros((len(spread), 1)), spread ** 2], 1), axis=1))
        spread = own / own[:, :1]
    broken = [c["first_broken"] for c in per_sample_checks(w, pred, family.name)]
    return spread, [None if b is None else (max(b, 1) - 1) // p + 1 for b in broken]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="nbody")
    ap.add_argument("--windows", type=int, default=20)
    ap.add_argument("--samples", type=int, help="at most this many test long-horizon samples")
    ap.add_argument("--val-samples", type=int, default=1000, help="validation systems to choose the threshold on")
    ap.add_argument("--false-rate", type=float, default=0.1)
    ap.add_argument("--rule", choices=("accumulated", "relative"), default="accumulated",
                    help="accumulated spread, or each window's spread over the first window's")
    a = ap.parse_args()
    global RULE
    RULE = a.rule
    family = get_dataset(a.dataset)
    model = variant_checkpoint(a.dataset, "uncertainty")
    assert model is not None, f"no assets/checkpoints/{a.dataset}/uncertainty/egno.pt"
    spread, diverged = measure(family, "val", a.windows, model, a.val_samples)
    calm = np.array([d is None for d in diverged])
    candidates = np.unique(spread)
    threshold = float(candidates[-1])
    for tau in candidates:  # smallest threshold flagging at most false_rate of the calm rollouts
        flagged = np.array([f is not None for f in first_unpredictable(spread[calm], tau)]) if calm.any() else []
        if not calm.any() or np.mean(flagged) <= a.false_rate:
            threshold = float(tau)
            break
    t_spread, t_diverged = measure(family, "test", a.windows, model, a.samples)
    flags = first_unpredictable(t_spread, threshold)
    diverging = [(f, d) for f, d in zip(flags, t_diverged) if d is not None]
    before = [d - f for f, d in diverging if f is not None and f < d]
    calm_flags = [f for f, d in zip(flags, t_diverged) if d is None and f is not None]
    print(json.dumps({
        "dataset": a.dataset, "windows": a.windows, "rule": a.rule, "threshold": threshold,
        "val": {"samples": len(diverged), "diverged": int(sum(d is not None for d in diverged)),
                "calm_flagged": int(sum(f is not None for f, d in zip(first_unpredictable(spread, threshold), diverged)
                                        if d is None))},
        "test": {"samples": len(t_diverged), "diverged": len(diverging),
                 "flagged_before_divergence": len(before),
                 "windows_early_median": float(np.median(before)) if before else None,
                 "windows_early_min_max": [int(min(before)), int(max(before))] if before else None,
                 "flagged_at_or_after": sum(1 for f, d in diverging if f is not None and f >= d),
                 "never_flagged": sum(1 for f, _ in diverging if f is None),
                 "calm": len(t_diverged) - len(diverging), "calm_flagged": len(calm_flags)},
    }, indent=1))


if __name__ == "__main__":
    main()
