"""When is a chained rollout no longer predictable? A spread per sample and window, a threshold on
it chosen on the validation long-horizon data, and how early it fires before the divergences of
egno.data.physics on the test long-horizon data (docs/results/uncertainty.md).

Spreads (S samples × K windows), each window's at its last frame:
  head       a variance head chained with its model, √(Σ over windows so far of the mean σ²):
             ``rollout.accumulated_spread``;
  relative   the head's own σ at each window over the first window's;
  ensemble   a deep ensemble's members each chained on its own predictions from the same input,
             √(mean over the sample's nodes of their variance about their mean): how far apart
             equally good models have drifted. A member that is no longer finite makes it NaN,
             which passes every threshold;
  clock      the window's number, the same for every sample: the flag that knows nothing of the
             sample, the baseline the others must beat.
A flag is premature where it fires more than ``horizon`` windows before its rollout diverges, or
at all on one that never does; the threshold is the smallest whose premature flags are at most
``false_rate`` of the validation rollouts. The rollout whose divergence it must foresee is the
first model's (the shipped one).
"""
from __future__ import annotations

import numpy as np
import torch

from egno.data import Windows
from egno.run.ensemble import spread as members_variance
from egno.run.rollout import accumulated_spread, chain, chain_with_spread, first_unpredictable, per_sample_checks

SOURCES = ("head", "relative", "ensemble", "clock")


def ensemble_spread(preds: torch.Tensor | np.ndarray, node_ptr: torch.Tensor, timesteps: int) -> np.ndarray:
    """(S, K): √ of the members' variance about their mean (x, y, z averaged) at each window's last
    frame, averaged over each sample's nodes; ``preds`` (M, K·P, N, 3) chained members."""
    ends = np.asarray(preds, np.float64)[:, timesteps - 1::timesteps]  # M, K, N, 3
    with np.errstate(invalid="ignore", over="ignore"):
        var = members_variance(ends)  # K, N
        per = [var[:, a:b].mean(-1) for a, b in zip(node_ptr[:-1].tolist(), node_ptr[1:].tolist())]
        return np.sqrt(np.stack(per))


def chained_spread(source: str, models: list, w: Windows, windows: int, timesteps: int, family: str,
                   device="cpu") -> tuple[np.ndarray, torch.Tensor]:
    """(spread (S, K), the first model's chained positions (K·P, N, 3)) of ``source``: ``models`` is
    [the model with the variance head] for "head" and "relative", the members for "ensemble"."""
    if source == "ensemble":
        if len(models) < 2:
            raise ValueError(f"an ensemble needs at least two members, not {len(models)}")
        preds = torch.stack([chain(m, w, windows, timesteps, family, device=device) for m in models])
        return ensemble_spread(preds.double().numpy(), w.node_ptr, timesteps), preds[0]
    assert source in SOURCES, f"source must be one of {SOURCES}, not {source}"
    if source == "clock":
        return clock_spread(len(w), windows), chain(models[0], w, windows, timesteps, family, device=device)
    pred, var = chain_with_spread(models[0], w, windows, timesteps, family, device=device)
    spread = accumulated_spread(var, w.node_ptr, timesteps)
    if source == "relative":
        own = np.sqrt(np.diff(np.concatenate([np.zeros((len(spread), 1)), spread ** 2], 1), axis=1))
        spread = own / own[:, :1]
    return spread, pred


def clock_spread(samples: int, windows: int) -> np.ndarray:
    """(S, K): the window's number for every sample, the spread of the flag that ignores the sample."""
    return np.tile(np.arange(1.0, windows + 1), (samples, 1))


def diverged_windows(w: Windows, pred: torch.Tensor, family: str, timesteps: int) -> list[int | None]:
    """Per sample, the window (1-based) in which its chained rollout ``pred`` first breaks a
    physical limit or stops being finite (egno.data.physics.first_broken); None: never."""
    broken = [c["first_broken"] for c in per_sample_checks(w, pred, family)]
    return [None if b is None else (max(b, 1) - 1) // timesteps + 1 for b in broken]


def premature(flags: list[int | None], diverged: list[int | None], horizon: int) -> np.ndarray:
    """Per rollout: flagged more than ``horizon`` windows before it diverges, or flagged though
    it never diverges."""
    return np.array([f is not None and (d is None or f < d - horizon) for f, d in zip(flags, diverged)])


def choose_threshold(spread: np.ndarray, diverged: list[int | None], false_rate: float, horizon: int) -> float:
    """The smallest spread value (every finite one is a candidate) whose flags are ``premature``
    on at most ``false_rate`` of the rollouts; the largest if none is. A higher threshold flags
    each rollout later or never, so the premature share only falls: a bisection finds it."""
    candidates = np.unique(spread[np.isfinite(spread)])
    if not len(candidates):
        return float("inf")
    lo, hi = 0, len(candidates) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if premature(first_unpredictable(spread, candidates[mid]), diverged, horizon).mean() <= false_rate:
            hi = mid
        else:
            lo = mid + 1
    return float(candidates[lo])


def flag_report(spread: np.ndarray, diverged: list[int | None], threshold: float, horizon: int) -> dict:
    """How the flag at ``threshold`` fares against the divergences: of the diverging rollouts, how
    many it flags in an earlier window (and how many windows earlier), in the same window or
    later, or never; of the calm ones, how many it flags; how many flags are premature."""
    flags = first_unpredictable(spread, threshold)
    diverging = [(f, d) for f, d in zip(flags, diverged) if d is not None]
    early = [d - f for f, d in diverging if f is not None and f < d]
    return {"samples": len(diverged), "diverged": len(diverging),
            "premature": int(premature(flags, diverged, horizon).sum()),
            "flagged_before_divergence": len(early),
            "windows_early_median": float(np.median(early)) if early else None,
            "windows_early_min_max": [int(min(early)), int(max(early))] if early else None,
            "flagged_at_or_after": sum(1 for f, d in diverging if f is not None and f >= d),
            "never_flagged": sum(1 for f, _ in diverging if f is None),
            "calm": len(diverged) - len(diverging),
            "calm_flagged": sum(1 for f, d in zip(flags, diverged) if d is None and f is not None)}


def threshold_study(val_spread: np.ndarray, val_div: list, test_spread: np.ndarray, test_div: list,
                    false_rate: float, horizon: int) -> dict:
    """The threshold chosen on the validation spreads and divergences, and its report on both."""
    threshold = choose_threshold(val_spread, val_div, false_rate, horizon)
    return {"threshold": threshold, "val": flag_report(val_spread, val_div, threshold, horizon),
            "test": flag_report(test_spread, test_div, threshold, horizon)}


def flag_study(source: str, models: list, val: Windows, test: Windows, windows: int, family: str,
               false_rate: float = 0.1, horizon: int = 3, device="cpu", with_clock: bool = False) -> dict:
    """The threshold chosen on ``val`` and its report there and on ``test`` (long-horizon windows
    of one frame per step: ``long_windows(family, windows, P, split)``); ``with_clock``: the clock
    flag's too, under "clock", against the same rollouts' divergences."""
    p = int(round(1 / float(val.t[0])))
    val_spread, val_pred = chained_spread(source, models, val, windows, p, family, device)
    val_div = diverged_windows(val, val_pred, family, p)
    test_spread, test_pred = chained_spread(source, models, test, windows, p, family, device)
    test_div = diverged_windows(test, test_pred, family, p)
    out = {"source": source, "windows": windows, "timesteps": p, "false_rate": false_rate, "horizon": horizon,
           "members": len(models), **threshold_study(val_spread, val_div, test_spread, test_div, false_rate, horizon)}
    if with_clock:
        out["clock"] = threshold_study(clock_spread(len(val), windows), val_div, clock_spread(len(test), windows),
                                       test_div, false_rate, horizon)
    return out
