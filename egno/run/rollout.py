"""Chained long-horizon rollout: a model applied window after window past its trained ΔT.

Each window's last predicted positions become the next window's input state, with the input's
state-dependent features recomputed (``restate``: the speed node feature and the squared edge
length; the graph itself stays the first input's). The next input's velocity:
  egno, egnn  ``velocity`` = "fd" (default): backward difference of the window's last two frames,
              (x_P − x_{P−1}) / (ΔT/P); "fd2": second order, (3 x_P − 4 x_{P−1} + x_{P−2}) /
              (2 ΔT/P); "fine": the model run again zero-shot at P·10 and the difference of its
              last two frames (ΔT/(10P) apart). "fd" had the lowest chained error on nbody and
              mocap/walk; "fine" the highest: zero-shot frames that close together are not
              smooth enough to differentiate (docs/results/long_horizon.md).
  egnn-r      its own last step (x_P − x_{P−1}) / (ΔT/P), so it keeps stepping as it was trained;
  linear      its input velocity, unchanged: the chained rollout is exact constant velocity.

Letters: K windows, P frames per window, N nodes of all samples, S samples.
"""
from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import torch
from torch import nn

from egno.data import Windows
from egno.data.base import uniform_times
from egno.run.evaluate import predict
from egno.data import get_dataset
from egno.data.physics import first_broken

VELOCITIES = ("fd", "fd2", "fine")
FINE = 10  # "fine" velocity: the model evaluated at P · FINE

def restate(w: Windows, x: torch.Tensor, v: torch.Tensor, family: str) -> Windows:
    """``w`` with positions x and velocities v (N, 3) as its input state and the features that
    depend on them recomputed for ``family`` (its ``DatasetFamily.restate``)."""
    return get_dataset(family).restate(w, x, v)


def check_restate(w: Windows, family: str, atol: float = 1e-4) -> None:
    """AssertionError unless ``restate`` on the windows' own state gives back their features
    (guards a family's restate against a change in its feature layout)."""
    again = restate(w, w.x, w.v, family)
    assert torch.allclose(again.h, w.h, atol=atol, rtol=1e-4), f"{family}: speed feature differs"
    assert torch.allclose(again.edge_attr, w.edge_attr, atol=atol, rtol=1e-4), \
        f"{family}: squared edge length feature differs"


def backward_velocity(x0: torch.Tensor, pred: torch.Tensor, dt: float) -> torch.Tensor:
    """The velocity at a window's end from its last two frames (the input before the first)."""
    before = pred[-2] if pred.shape[0] > 1 else x0
    return (pred[-1] - before) / dt


def next_velocity(model: nn.Module, state: Windows, pred: torch.Tensor, velocity: str,
                  device, batch_size: int) -> torch.Tensor:
    """The velocity (N, 3) of the state at the end of a window predicted as ``pred`` (P, N, 3)."""
    kind = model.config.model
    p = pred.shape[0]
    dt = state.window / p
    frames = torch.cat([state.x[None], pred])  # input, then P frames
    if kind == "linear":
        return state.v
    if kind == "egnn-r" or velocity == "fd" or (velocity == "fd2" and p < 2):
        return backward_velocity(state.x, pred, dt)
    if velocity == "fd2":
        return (3 * frames[-1] - 4 * frames[-2] + frames[-3]) / (2 * dt)
    assert velocity == "fine", f"velocity must be one of {VELOCITIES}, not {velocity}"
    fine_t = torch.as_tensor(uniform_times(p * FINE), dtype=torch.float32)
    fine = predict(model, replace(state, t=fine_t), batch_size, device)
    return (fine[-1] - fine[-2]) / (state.window / (p * FINE))


@torch.no_grad()
def chain(model: nn.Module, start: Windows, windows: int, timesteps: int, family: str,
          velocity: str = "fd", device="cpu", batch_size: int = 500) -> torch.Tensor:
    """Positions (K·P, N, 3) of ``windows`` chained windows of ``timesteps`` frames from the input
    states of ``start`` (its targets are ignored)."""
    assert windows >= 1 and timesteps >= 1
    t = torch.as_tensor(uniform_times(timesteps), dtype=torch.float32)
    state = replace(start, t=t, target=None)
    out = []
    for _ in range(windows):
        pred = predict(model, state, batch_size, device)
        v = next_velocity(model, state, pred, velocity, device, batch_size)
        out.append(pred)
        if state.spin is None:
            state = restate(state, pred[-1], v, family)
            continue
        spin = state.spin.advanced(state.window)  # the carried rotation goes on into the next window
        v = torch.as_tensor(spin.internal_velocities(pred[-1].double().numpy(), v.double().numpy(),
                                                     state.node_ptr.numpy()))
        state = replace(restate(state, pred[-1], v, family), spin=spin)
    return torch.cat(out)


@torch.no_grad()
def chain_with_spread(model: nn.Module, start: Windows, windows: int, timesteps: int, family: str,
                      device="cpu", batch_size: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
    """``chain`` with a model that has a variance head: positions (K·P, N, 3) and the σ² it
    predicts for each frame (K·P, N), each window's from its own (chained) input."""
    from egno.run.uncertainty import predict_with_variance

    t = torch.as_tensor(uniform_times(timesteps), dtype=torch.float32)
    state = replace(start, t=t, target=None, spin=None)
    preds, variances = [], []
    for _ in range(windows):
        pred, var = predict_with_variance(model, state, batch_size, device)
        preds.append(pred)
        variances.append(var)
        state = restate(state, pred[-1], next_velocity(model, state, pred, "fd", device, batch_size), family)
    return torch.cat(preds), torch.cat(variances)


def accumulated_spread(variance: torch.Tensor, node_ptr: torch.Tensor, timesteps: int) -> np.ndarray:
    """Per sample and window (S, K): √(Σ over windows so far of the mean σ² over the sample's
    nodes at each window's end): a chained rollout's spread if each window added its own
    independent error to the last."""
    ends = accumulated_variance(variance, timesteps)[timesteps - 1::timesteps]  # K, N
    per = np.stack([ends[:, a:b].mean(-1) for a, b in zip(node_ptr[:-1].tolist(), node_ptr[1:].tolist())])
    return np.sqrt(per)


def accumulated_variance(variance: torch.Tensor, timesteps: int) -> np.ndarray:
    """Per frame and node (K·P, N): the frame's σ² plus the σ² at the end of every earlier window
    (each window's own error added to what it started from, independently)."""
    var = variance.double().numpy()
    ends = var[timesteps - 1::timesteps]  # K, N
    before = np.concatenate([np.zeros((1, var.shape[1])), np.cumsum(ends, axis=0)[:-1]])  # K, N
    return var + np.repeat(before, timesteps, axis=0)


def first_unpredictable(spread: np.ndarray, threshold: float) -> list[int | None]:
    """Per sample, the first window (1-based) whose accumulated spread passes ``threshold``; None
    if none does."""
    out = []
    for row in spread:
        over = np.flatnonzero(~(row <= threshold))
        out.append(int(over[0]) + 1 if len(over) else None)
    return out


def chain_one(model: nn.Module, one: Windows, windows: int, timesteps: int, family: str,
              device="cpu") -> dict:
    """``chain`` on one sample ``one`` scored against its target (K·P, N, 3; NaN where the data end):
    ``pred``, per-frame ``frame_mse`` (as ``sample_errors``: NaN without truth, inf where the
    prediction is not finite), per-node ``node_error``, the physical ``checks`` (input first) and
    ``first_broken``."""
    pred = chain(model, one, windows, timesteps, family, device=device)
    checks = per_sample_checks(one, pred, family)[0]
    squared = (pred.double() - one.target.double()) ** 2
    mse = sample_errors(pred, one.target, one.node_ptr)[0]
    return {"pred": pred.numpy(), "frame_mse": mse, "node_error": squared.mean(-1).numpy(),
            "checks": checks["checks"], "first_broken": checks["first_broken"]}


def sample_errors(pred: torch.Tensor, truth: torch.Tensor, node_ptr: torch.Tensor) -> np.ndarray:
    """MSE per sample and frame (S, F) over the sample's nodes and x, y, z: NaN where the data
    have no truth, inf where the prediction is not finite."""
    out = []
    for a, b in zip(node_ptr[:-1].tolist(), node_ptr[1:].tolist()):
        p, t = pred[:, a:b].double(), truth[:, a:b].double()
        mse = ((p - t) ** 2).mean((1, 2))
        mse[~torch.isfinite(p).all(-1).all(-1)] = np.inf
        mse[~torch.isfinite(t).all(-1).all(-1)] = np.nan
        out.append(mse.numpy())
    return np.stack(out)


def _spread(values: np.ndarray) -> tuple:
    """Mean over the finite values, median over all scored (inf counts as the largest), and how
    many are not finite, of per-sample errors with NaN where unscored."""
    scored = values[~np.isnan(values)]
    finite = scored[np.isfinite(scored)]
    mean = finite.mean() if len(finite) else np.nan
    median = np.median(scored) if len(scored) else np.nan
    return _num(mean), _num(median), int(len(scored) - len(finite)), int(len(scored))


def per_sample_checks(w: Windows, pred: torch.Tensor, family: str) -> list[dict]:
    """Physical checks of every sample: frames are the input then the K·P predictions; with
    ``first_broken`` the first broken frame (None: never)."""
    results = []
    dt = float(w.window * w.t[0])
    fam = get_dataset(family)
    for i in range(len(w)):
        nodes = w.sample_nodes(i)
        one = w.select([i])
        frames = torch.cat([w.x[None, nodes], pred[:, nodes]]).double().numpy()
        truth = None
        if w.target is not None:
            truth = torch.cat([w.x[None, nodes], w.target[:, nodes]]).double().numpy()
        checks = fam.physical_checks(one, frames, truth, dt)
        results.append({"checks": checks, "first_broken": first_broken(checks)})
    return results


def lost_by_window(samples: list[dict], timesteps: int, windows: int) -> np.ndarray:
    """(S, K): whether each sample (``per_sample_checks``) has passed a limit by the end of
    window k (frame (k + 1)·P, the input being frame 0)."""
    ends = (np.arange(windows) + 1) * timesteps
    return np.array([[s["first_broken"] is not None and s["first_broken"] <= e for e in ends]
                     for s in samples], dtype=bool).reshape(len(samples), windows)


def window_end_checks(samples: list[dict], timesteps: int, windows: int) -> dict[str, np.ndarray]:
    """Each physical check (S, K) of ``per_sample_checks`` at the last frame of every window."""
    names = samples[0]["checks"] if samples else {}
    return {c: np.array([[s["checks"][c][(k + 1) * timesteps] for k in range(windows)] for s in samples])
            for c in names}


def _lost_as_inf(err: np.ndarray, samples: list[dict]) -> np.ndarray:
    """``err`` (S, K·P), in place: inf from where each sample diverged, NaN (no truth) kept."""
    for i, s in enumerate(samples):  # frame b (input = 0) is prediction b − 1
        if (b := s["first_broken"]) is not None:
            err[i, max(b - 1, 0):] = np.where(np.isnan(err[i, max(b - 1, 0):]), np.nan, np.inf)
    return err


def scored_errors(w: Windows, pred: torch.Tensor, samples: list[dict]) -> np.ndarray:
    """Per-sample F-MSE (S, K·P) of each predicted frame, inf from where the sample diverged
    (``samples``: ``per_sample_checks``), NaN where there is no truth."""
    return _lost_as_inf(sample_errors(pred, w.target, w.node_ptr), samples)


def common_means(errors: dict[str, np.ndarray], timesteps: int,
                 samples: dict[str, list[dict]] | None = None) -> dict:
    """Per window, the mean F-MSE of each model over the samples that every model keeps within
    the limits there (``errors``: name -> ``scored_errors``): the same samples for all, so the
    means compare, where each model's own mean leaves out the samples it lost. With ``samples``
    (name -> ``per_sample_checks``) each physical check's mean at the window ends too."""
    ends = {name: e[:, timesteps - 1::timesteps] for name, e in errors.items()}
    kept = np.logical_and.reduce([np.isfinite(e) for e in ends.values()])  # S, K

    def means(values: np.ndarray) -> list:
        return [_num(values[kept[:, k], k].mean()) if kept[:, k].any() else None for k in range(kept.shape[1])]

    out = {"n": [int(n) for n in kept.sum(0)], "f_mse": {name: means(e) for name, e in ends.items()}}
    if samples:
        out["checks"] = {name: {c: means(v) for c, v in sorted(window_end_checks(ss, timesteps, kept.shape[1]).items())}
                         for name, ss in samples.items()}
    return out


def window_summary(w: Windows, pred: torch.Tensor, windows: int, timesteps: int,
                   family: str, samples: list[dict] | None = None) -> dict:
    """Per window k = 1..K: F-MSE (the window's last frame) and A-MSE (its P frames), as the mean
    over the samples not diverged by then and the median over all (a diverged one counts as the
    largest), over the samples with truth there; how many are not finite, how many diverged
    (``divergence_rule``: left out of the means) and how many have truth; the mean of each
    physical check at the window's last frame and the fraction of samples diverged by then.
    ``samples``: ``per_sample_checks(w, pred, family)`` where the caller has them already."""
    out: dict = {}
    samples = per_sample_checks(w, pred, family) if samples is None else samples
    lost = lost_by_window(samples, timesteps, windows)
    if w.target is not None:
        err = sample_errors(pred, w.target, w.node_ptr)
        not_finite = np.isinf(err)
        err = _lost_as_inf(err, samples)
        for k in range(windows):
            window_err = err[:, k * timesteps:(k + 1) * timesteps]
            f_mean, f_median, left_out, n = _spread(window_err[:, -1])
            with np.errstate(invalid="ignore"):
                a_mean, a_median, _, _ = _spread(window_err.mean(1))
            bad = int(not_finite[:, (k + 1) * timesteps - 1].sum())
            for key, value in (("f_mse", f_mean), ("f_mse_median", f_median), ("a_mse", a_mean),
                               ("a_mse_median", a_median), ("not_finite", bad), ("left_out", left_out),
                               ("n_with_truth", n)):
                out.setdefault(key, []).append(value)
    out["checks"] = {name: [_mean_of(v[~lost[:, k], k]) for k in range(windows)]
                     for name, v in sorted(window_end_checks(samples, timesteps, windows).items())}
    out["diverged"] = [float(v) for v in lost.mean(0)]
    return out


def _mean_of(values: list) -> float | None:
    """Mean of the finite values (the samples still within their limits); None for none."""
    finite = [v for v in values if np.isfinite(v)]
    return _num(np.mean(finite)) if finite else None


def _num(x) -> float | None:
    """A float for JSON (6 significant digits), None where not finite."""
    x = float(x)
    return float(f"{x:.6g}") if np.isfinite(x) else None


def run(loaded_models: dict, w: Windows, windows: int, family: str, velocity: str = "fd",
        device="cpu") -> dict:
    """Chained rollouts of every model in ``loaded_models`` (name -> LoadedModel) on ``w`` (from
    ``egno.data.long.long_windows``): per-model window summaries and wall times; with two or more
    models, ``common``: each one's mean F-MSE over the samples every model keeps (``common_means``)."""
    check_restate(replace(w, target=None, t=w.t[:1]), family)
    p = int(round(1 / float(w.t[0])))
    result = {"windows": windows, "timesteps": p, "n_samples": len(w), "velocity": velocity,
              "window": w.window, "models": {}}
    errors, checked = {}, {}
    for name, loaded in loaded_models.items():
        start = time.perf_counter()
        pred = chain(loaded.model, w, windows, p, family, velocity, device)
        seconds = time.perf_counter() - start
        samples = per_sample_checks(w, pred, family)
        result["models"][name] = {"seconds": round(seconds, 3),
                                  **window_summary(w, pred, windows, p, family, samples)}
        if w.target is not None:
            errors[name], checked[name] = scored_errors(w, pred, samples), samples
    if len(errors) > 1:
        result["common"] = common_means(errors, p, checked)
    return result
