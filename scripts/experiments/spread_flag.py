"""Does the predicted spread warn before a chained rollout diverges? (docs/results/uncertainty.md)

A spread per sample and window (egno.run.flag: EGNO's variance head accumulated over windows, or
its own σ over the first window's, or the shipped deep ensemble's members chained apart, or the
window's number alone as the baseline), a threshold chosen on the validation long-horizon data —
the smallest whose premature flags (more than --horizon windows before the divergence, or on a
rollout that never diverges) are at most --false-rate of the rollouts — then applied to the test
long-horizon data: how many diverging rollouts it flags before they diverge, and how early.

    python scripts/experiments/spread_flag.py --dataset nbody --windows 20                   # head
    python scripts/experiments/spread_flag.py --dataset nbody --windows 20 --rule relative
    python scripts/experiments/spread_flag.py --dataset nbody --windows 20 --rule ensemble
    python scripts/experiments/spread_flag.py --dataset nbody --windows 20 --rule clock
"""
from __future__ import annotations

import argparse
import json

from egno import get_dataset
from egno.data.long import long_windows
from egno.run.checkpoint import ensemble_paths, load_checkpoint, variant_checkpoint
from egno.run.flag import SOURCES, flag_study


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="nbody")
    ap.add_argument("--windows", type=int, default=20)
    ap.add_argument("--samples", type=int, help="at most this many test long-horizon samples")
    ap.add_argument("--val-samples", type=int, help="at most this many validation systems to choose the threshold on")
    ap.add_argument("--false-rate", type=float, default=0.1)
    ap.add_argument("--horizon", type=int, default=3, help="windows ahead of a divergence a flag may fire")
    ap.add_argument("--rule", choices=SOURCES, default="head",
                    help="the head's accumulated spread, its own σ over the first window's, the ensemble's, "
                         "or the window's number")
    a = ap.parse_args()
    family = get_dataset(a.dataset)
    if a.rule in ("ensemble", "clock"):  # the clock flag foresees the shipped EGNO's divergences
        paths = ensemble_paths(a.dataset, "egno")
        assert paths, f"no EGNO ensemble is shipped for {a.dataset}"
        models = [load_checkpoint(p).model for p in paths]
    else:
        head = variant_checkpoint(a.dataset, "uncertainty")
        assert head is not None, f"no assets/checkpoints/{a.dataset}/uncertainty/egno.pt"
        models = [head.model]
    p = models[0].config.timesteps
    val, test = (long_windows(family, a.windows, p, split) for split in ("val", "test"))
    if a.val_samples:
        val = val.select(range(min(a.val_samples, len(val))))
    if a.samples:
        test = test.select(range(min(a.samples, len(test))))
    print(json.dumps({"dataset": a.dataset, **flag_study(a.rule, models, val, test, a.windows, a.dataset,
                                                          a.false_rate, a.horizon)}, indent=1))


if __name__ == "__main__":
    main()
