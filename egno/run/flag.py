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
             which passes every threshold.
The threshold is the smallest that flags at most ``false_rate`` of the validation rollouts that
never diverge; the rollout whose divergence it must foresee is the first model's (the shipped one).
"""
from __future__ import annotations

import numpy as np
import torch

from egno.data import Windows
from egno.run.ensemble import spread as members_variance
from egno.run.rollout import accumulated_spread, chain, chain_with_spread, first_unpredictable, per_sample_checks

SOURCES = ("head", "relative", "ensemble")


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
    pred, var = chain_with_spread(models[0], w, windows, timesteps, family, device=device)
    spread = accumulated_spread(var, w.node_ptr, timesteps)
    if source == "relative":
        own = np.sqrt(np.diff(np.concatenate([np.zeros((len(spread), 1)), spread ** 2], 1), axis=1))
        spread = own / own[:, :1]
    return spread, pred


def diverged_windows(w: Windows, pred: torch.Tensor, family: str, timesteps: int) -> list[int | None]:
    """Per sample, the window (1-based) in which its chained rollout ``pred`` first breaks a
    physical limit or stops being finite (egno.data.physics.first_broken); None: never."""
    broken = [c["first_broken"] for c in per_sample_checks(w, pred, family)]
    return [None if b is None else (max(b, 1) - 1) // timesteps + 1 for b in broken]


def choose_threshold(spread: np.ndarray, diverged: list[int | None], false_rate: float) -> float:
    """The smallest spread value that flags at most ``false_rate`` of the rollouts that never
    diverge (every spread value is a candidate); the largest finite one if none are calm."""
    calm = np.array([d is None for d in diverged])
    candidates = np.unique(spread[np.isfinite(spread)])
    if not calm.any() or not len(candidates):
        return float(candidates[-1]) if len(candidates) else float("inf")
    calm_max = np.nan_to_num(spread[calm], nan=np.inf).max(1)  # a calm rollout is flagged where tau < its max
    for tau in candidates:
        if np.mean(calm_max > tau) <= false_rate:
            return float(tau)
    return float(candidates[-1])


def flag_report(spread: np.ndarray, diverged: list[int | None], threshold: float) -> dict:
    """How the flag at ``threshold`` fares against the divergences: of the diverging rollouts, how
    many it flags in an earlier window (and how many windows earlier), in the same window or
    later, or never; of the calm ones, how many it flags."""
    flags = first_unpredictable(spread, threshold)
    diverging = [(f, d) for f, d in zip(flags, diverged) if d is not None]
    early = [d - f for f, d in diverging if f is not None and f < d]
    return {"samples": len(diverged), "diverged": len(diverging),
            "flagged_before_divergence": len(early),
            "windows_early_median": float(np.median(early)) if early else None,
            "windows_early_min_max": [int(min(early)), int(max(early))] if early else None,
            "flagged_at_or_after": sum(1 for f, d in diverging if f is not None and f >= d),
            "never_flagged": sum(1 for f, _ in diverging if f is None),
            "calm": len(diverged) - len(diverging),
            "calm_flagged": sum(1 for f, d in zip(flags, diverged) if d is None and f is not None)}


def flag_study(source: str, models: list, val: Windows, test: Windows, windows: int, family: str,
               false_rate: float = 0.1, device="cpu") -> dict:
    """The threshold chosen on ``val`` and its report there and on ``test`` (long-horizon windows
    of one frame per step: ``long_windows(family, windows, P, split)``)."""
    p = int(round(1 / float(val.t[0])))
    val_spread, val_pred = chained_spread(source, models, val, windows, p, family, device)
    val_div = diverged_windows(val, val_pred, family, p)
    threshold = choose_threshold(val_spread, val_div, false_rate)
    test_spread, test_pred = chained_spread(source, models, test, windows, p, family, device)
    test_div = diverged_windows(test, test_pred, family, p)
    return {"source": source, "windows": windows, "timesteps": p, "false_rate": false_rate,
            "threshold": threshold, "members": len(models),
            "val": flag_report(val_spread, val_div, threshold),
            "test": flag_report(test_spread, test_div, threshold)}
