"""Training a model to be chained: the options ``TrainConfig.chain_windows``, ``input_noise`` and
``velocity_loss`` (``python -m egno train --chain-windows K --input-noise σ --velocity-loss λ``).

Pushforward (Brandstetter et al. 2022): each step draws k in 0..K−1, runs the model k windows
from the true input without gradients (each window's last frame and its backward-difference
velocity become the next input, as the Long horizon rollout does) and puts the loss on window
k + 1 against its truth, so the model learns from the states it will meet when chained.
Input noise (Sanchez-Gonzalez et al. 2020): Gaussian noise of σ on the input positions and of
σ / (ΔT/P) on the velocities, the error a one-frame difference of positions off by σ carries.
With a pushforward limit D, samples whose unrolled input is more than D (RMS) off their truth,
or not finite, are left out of that step: a lost rollout's next-window truth is not where the
model should go from where it is, and one exploded input dominates a batch's loss.
Later starts (nbody, ``start_windows`` = W): the training inputs also include the true state at
the start of windows 2..W, so the model sees systems as spread out as a chained rollout's.
Velocity loss: λ times the squared error of the velocity handed to the next window (the
difference of the last two predicted frames) against the truth's central difference there,
multiplied by ΔT/P so it is in squared length units like the position loss.

Letters: K windows, P frames per window, N nodes of the batch.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from egno.data import Windows, collate
from egno.data.base import uniform_times
from egno.data.long import long_windows
from egno.nn.config import TrainConfig
from egno.run.evaluate import window_f_mse
from egno.run.rollout import backward_velocity, chain, lost_by_window, per_sample_checks, sample_errors

VAL_SAMPLES = 500  # chained validation: the first this many validation systems


def chained(cfg: TrainConfig) -> bool:
    """Whether ``cfg`` trains on chained windows (any of the three options)."""
    return (cfg.chain_windows > 1 or cfg.input_noise > 0 or cfg.velocity_loss > 0
            or cfg.start_windows > 1 or bool(cfg.val_windows))


def truth_windows(cfg: TrainConfig) -> int:
    """Windows of truth a training sample needs: K, and one more for the velocity loss's
    central difference at window K's end."""
    return cfg.chain_windows + (1 if cfg.velocity_loss > 0 else 0)


def train_windows(family, timesteps: int, cfg: TrainConfig) -> Windows:
    """Training inputs with their truth for ``truth_windows(cfg)`` windows."""
    return long_windows(family, truth_windows(cfg), timesteps, "train", cfg.train_starts,
                        cfg.start_windows)


def val_windows(family, timesteps: int, cfg: TrainConfig) -> Windows:
    """Validation inputs with their truth for K windows (``val_windows`` where set; the first
    ``VAL_SAMPLES``)."""
    w = long_windows(family, cfg.val_windows or cfg.chain_windows, timesteps, "val")
    return w.select(torch.arange(min(VAL_SAMPLES, len(w))))


def step_batch(model, family, w: Windows, index: torch.Tensor, cfg: TrainConfig,
               g: torch.Generator, device):
    """(GraphBatch, k): the batch for one step on samples ``index`` of ``w`` (truth for K or
    K + 1 windows): its input is the state after k unrolled windows (k drawn in 0..K−1) with
    noise, its target window k + 1's P frames, then with the velocity loss the frame after."""
    p = model_timesteps(model)
    sub = w.select(index)
    state = replace(sub, t=torch.as_tensor(uniform_times(p), dtype=torch.float32), target=None)
    k = int(torch.randint(cfg.chain_windows, (1,), generator=g))
    dt = state.window / p
    with torch.no_grad():
        for _ in range(k):
            pred = model(collate(state).to(device)).cpu()
            state = family.restate(state, pred[-1], backward_velocity(state.x, pred, dt))
    if k and cfg.pushforward_limit is not None:
        kept = on_track(state.x, sub.target[k * p - 1], sub.node_ptr, cfg.pushforward_limit)
        if not kept.any():  # every rollout lost: train this step on the true inputs
            return step_batch(model, family, w, index, replace(cfg, chain_windows=1), g, device)
        kept = kept.nonzero()[:, 0]
        sub, state = sub.select(kept), state.select(kept)
    if cfg.input_noise > 0:
        sigma = cfg.input_noise
        noise_x = torch.randn(state.x.shape, generator=g) * sigma
        noise_v = torch.randn(state.v.shape, generator=g) * (sigma / dt)
        state = family.restate(state, state.x + noise_x, state.v + noise_v)
    frames = p + (1 if cfg.velocity_loss > 0 else 0)
    target = sub.target[k * p:k * p + frames]
    batch = collate(state)
    return replace(batch, target=target).to(device), k


def on_track(x: torch.Tensor, truth: torch.Tensor, node_ptr: torch.Tensor, limit: float) -> torch.Tensor:
    """(S,) bool: the samples whose unrolled positions x (N, 3) are finite and within ``limit``
    (RMS over nodes) of the truth there. A rollout that has lost its trajectory is no input for
    that trajectory's next window: its truth no longer says where the model should go from there."""
    rms = (3 * window_f_mse(x[None], truth[None], node_ptr)).sqrt()  # F-MSE averages x, y, z
    return torch.isfinite(rms) & (rms <= limit)


def model_timesteps(model) -> int:
    """The P a model (or its DDP wrapper) was trained at."""
    return getattr(model, "module", model).config.timesteps


def chained_loss(pred: torch.Tensor, batch, velocity_loss: float) -> torch.Tensor:
    """MSE of the P predicted frames against the truth there (NaN truth, past a trajectory's
    end, left out), plus the velocity term with ``velocity_loss`` > 0 (the batch's target then
    holds the frame after the window as its last)."""
    p = pred.shape[0]
    target = batch.target[:p]
    have = torch.isfinite(target)
    loss = ((pred - target.nan_to_num()) ** 2 * have).sum() / have.sum().clamp(min=1)
    if velocity_loss > 0:
        dt = batch.window / p
        before = batch.target[p - 2] if p > 1 else batch.x
        v_true = (batch.target[p] - before) / (2 * dt)
        v_pred = backward_velocity(batch.x, pred, dt)
        ok = torch.isfinite(v_true)
        loss = loss + velocity_loss * (((v_pred - v_true.nan_to_num()) * dt) ** 2 * ok).sum() \
            / ok.sum().clamp(min=1)
    return loss


@torch.no_grad()
def chained_val(model, w: Windows, family, device, checks: bool = False) -> dict:
    """Validation of a chained run: the F-MSE after each of the K chained windows (the Long
    horizon rollout, ``egno.run.rollout.chain``; mean over the samples, inf once a prediction is
    not finite) and ``score``, their mean. With ``checks`` a rollout past a physical limit (the
    page's divergence rule) is lost: from its window on its error counts as that window's
    largest over the validation starts, so an epoch whose rollouts break scores worse than its
    F-MSE alone says; ``diverged`` is the share of rollouts lost by the last window and
    ``unchecked_score`` the score without the checks, from the same rollout."""
    p = model_timesteps(model)
    k = int(round(float(w.t[-1])))
    pred = chain(getattr(model, "module", model), replace(w, target=None), k, p, family.name,
                 device=device, batch_size=VAL_SAMPLES)
    plain = _plain_val(w, pred, p, k)
    if checks:
        return _checked_val(w, pred, family, p, k) | {"unchecked_score": plain["score"]}
    return plain


def _plain_val(w: Windows, pred: torch.Tensor, p: int, k: int) -> dict:
    errors = []
    for j in range(k):
        end, truth = pred[(j + 1) * p - 1], w.target[(j + 1) * p - 1]
        have = torch.isfinite(truth)
        err = float((((end - truth.nan_to_num()) ** 2) * have).sum() / have.sum().clamp(min=1))
        errors.append(err if np.isfinite(err) and (j == 0 or np.isfinite(errors[-1])) else float("inf"))
    return {"window_f_mse": errors, "score": float(np.mean(errors))}


def _checked_val(w: Windows, pred: torch.Tensor, family, p: int, k: int) -> dict:
    err = sample_errors(pred, w.target, w.node_ptr)[:, p - 1::p]  # S, K; NaN: no truth there
    lost = lost_by_window(per_sample_checks(w, pred, family.name), p, k) | np.isinf(err)
    errors = []
    for j in range(k):
        col, scored = err[:, j], ~np.isnan(err[:, j])
        finite = col[scored & np.isfinite(col)]
        worst = finite.max() if len(finite) else np.inf
        col = np.where(lost[:, j] & scored, np.maximum(col, worst), col)
        errors.append(float(col[scored].mean()) if scored.any() else float("nan"))
    return {"window_f_mse": errors, "score": float(np.nanmean(errors)), "diverged": float(lost[:, -1].mean())}
