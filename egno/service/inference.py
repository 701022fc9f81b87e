"""The small API the app calls: samples, predictions, symmetry checks, resolution sweeps, exports.

Nothing here imports streamlit; every function works on Windows and loaded checkpoints and returns
arrays, dicts or pandas tables the app only draws.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Callable

import numpy as np
import pandas as pd
import torch

from egno.run.checkpoint import LoadedModel
from egno.data.base import DatasetFamily, Windows, test_windows, uniform_times  # noqa: F401 (the app's)
from egno.align import rmsd, superpose
from egno.run.evaluate import frame_mse, metrics, predict
from egno.run.ensemble import member_predictions
from egno.run.uncertainty import calibration_scale, predict_with_variance
from egno.service.results import EquivarianceCheck, Prediction


def predict_one(loaded: LoadedModel, w: Windows, index: int = 0,
                timesteps: int | None = None, device="cpu") -> Prediction:
    """Prediction for sample ``index`` of ``w``: input x (N, 3), pred and truth (P, N, 3), times,
    per-frame MSE, the per-frame MSE of predicting no motion (the input at every time), and the
    per-node error of every frame (P, N)."""
    one = w.select([index])
    if timesteps and timesteps != one.timesteps:
        one = replace(one, t=torch.tensor(uniform_times(timesteps), dtype=torch.float32), target=None)
    pred = predict(loaded.model, one, device=device)
    out = Prediction(x=one.x.numpy(), v=one.v.numpy(), pred=pred.numpy(), t=one.t.numpy(), window=one.window)
    if one.target is not None:
        out.truth = one.target.numpy()
        out.frame_mse = frame_mse(pred, one.target).numpy()
        out.still_mse = frame_mse(one.x.expand_as(one.target), one.target).numpy()
        out.node_error = ((pred - one.target) ** 2).mean(-1).numpy()
    return out


def with_variance(out: Prediction, loaded: LoadedModel | None, w: Windows, index: int = 0,
                  device="cpu") -> Prediction:
    """``out`` with the variance ``loaded`` (a model with a variance head, e.g.
    ``variant_checkpoint(dataset, 'uncertainty')``) predicts for sample ``index`` of ``w``,
    scaled by the recalibration on validation its card records; unchanged without one."""
    if loaded is None:
        return out
    one = replace(w.select([index]), t=torch.as_tensor(out.t, dtype=torch.float32))
    _, var = predict_with_variance(loaded.model, one, device=device)
    return out.with_(variance=(calibration_scale(loaded.card) * var).numpy())


def with_members(out: Prediction, members: list[LoadedModel], w: Windows, index: int = 0,
                 device="cpu") -> Prediction:
    """``out`` with every member of a deep ensemble (``ensemble_paths``' checkpoints, loaded)
    predicting sample ``index`` of ``w`` at ``out``'s times: alternative futures, (K, P, N, 3)."""
    one = replace(w.select([index]), t=torch.as_tensor(out.t, dtype=torch.float32), target=None)
    return out.with_(members=member_predictions([m.model for m in members], one, device=device))


def predicted_rmse(variance: np.ndarray) -> np.ndarray:
    """The RMSE per frame (P,) the predicted Gaussians expect: √(mean σ² over the nodes)."""
    return np.sqrt(np.asarray(variance, np.float64).mean(-1))


def mse_band(variance: np.ndarray, level: float = 0.9, draws: int = 400, seed: int = 0
             ) -> tuple[np.ndarray, np.ndarray]:
    """The central ``level`` range (low, high per frame) of a sample's MSE per frame if its
    positions were drawn from the predicted Gaussians (σ² per node and coordinate, (P, N)),
    from ``draws`` seeded draws."""
    var = np.asarray(variance, np.float64)
    z = np.random.default_rng(seed).standard_normal((draws, *var.shape, 3))
    mse = (z ** 2 * var[None, ..., None]).mean(axis=(2, 3))  # draws, P
    return np.quantile(mse, (1 - level) / 2, axis=0), np.quantile(mse, (1 + level) / 2, axis=0)


def superposed(out: Prediction) -> Prediction:
    """The prediction with each frame superposed on the true one (Kabsch), its errors recomputed,
    and ``rmsd`` / ``aligned_rmsd`` per frame; unchanged without truth."""
    if out.truth is None:
        return out
    aligned = superpose(out.pred, out.truth)
    sq = ((aligned - out.truth) ** 2).mean(-1)
    return out.with_(pred=aligned.astype(out.pred.dtype), node_error=sq, frame_mse=sq.mean(-1),
                     rmsd=rmsd(out.pred, out.truth), aligned_rmsd=rmsd(aligned, out.truth))


# a prediction is called diverged when its error is not finite or over this many times the error
# of predicting no motion at all. On the test sets the shipped models' F-MSE is at most 72× it
# (linear extrapolation on md17, the README's tables)
DIVERGED_FACTOR = 100.0


def best_model(errors: dict[str, np.ndarray]) -> str | None:
    """The model with the lowest final-frame error among ``errors`` (per-frame errors by model),
    non-finite errors never best; None when none is finite."""
    finite = {m: float(e[-1]) for m, e in errors.items() if math.isfinite(float(e[-1]))}
    return min(finite, key=finite.get) if finite else None


def diverged(mse: float, still_mse: float) -> bool:
    """Whether an error ``mse`` is a diverged prediction, next to the no-motion error."""
    return not math.isfinite(mse) or mse > DIVERGED_FACTOR * max(still_mse, 1e-12)


def prediction_warning(out: Prediction) -> str | None:
    """A sentence for the user when a prediction (``predict_one``'s output) cannot be trusted:
    not finite; with ground truth, its final-frame error over DIVERGED_FACTOR × that of no
    motion; without, its nodes moving over ten times the size of the input system plus the
    input velocity's reach. None when nothing is off."""
    pred = out.pred
    if not np.isfinite(pred).all():
        return "The prediction is not finite (NaN or inf): the model diverged on this input."
    if out.frame_mse is not None:
        f_mse, still = float(out.frame_mse[-1]), float(out.still_mse[-1])
        if diverged(f_mse, still):
            return (f"The final-frame error ({f_mse:.4g}) is over {DIVERGED_FACTOR:g}× that of "
                    f"predicting no motion at all ({still:.4g}): this prediction is far off; the "
                    "model probably diverged on an input unlike its training data.")
        return None
    return runaway(out)


def runaway(out: Prediction) -> str | None:
    """Why a finite prediction without ground truth has run away (a node moved over ten times the
    size of the input system plus the input velocity's reach), or None."""
    pred, x0 = out.pred, out.x
    size = float(np.linalg.norm(x0 - x0.mean(0), axis=-1).max())
    reach = float(np.linalg.norm(out.v, axis=-1).max() * out.window * float(out.t[-1]))
    moved = float(np.linalg.norm(pred - x0[None], axis=-1).max())
    if moved > 10 * (size + reach) + 1e-9:
        return (f"The prediction moves a node by {moved:.4g}, over ten times the size of the input "
                f"system ({size:.4g}) plus the distance its velocity covers ({reach:.4g}): the "
                "model probably diverged on this input, which is unlike its training data.")
    return None


# ---------------------------------------------------------------- symmetry checks
def rotation_from_euler(alpha: float, beta: float, gamma: float) -> np.ndarray:
    """Rotation R = Rz(alpha) Ry(beta) Rx(gamma), angles in degrees."""
    a, b, c = (math.radians(v) for v in (alpha, beta, gamma))
    rz = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    ry = np.array([[math.cos(b), 0, math.sin(b)], [0, 1, 0], [-math.sin(b), 0, math.cos(b)]])
    rx = np.array([[1, 0, 0], [0, math.cos(c), -math.sin(c)], [0, math.sin(c), math.cos(c)]])
    return rz @ ry @ rx


def euler_from_rotation(R: np.ndarray) -> tuple[float, float, float]:
    """Inverse of rotation_from_euler (degrees), for showing a random rotation on the sliders."""
    beta = math.asin(-max(-1.0, min(1.0, R[2, 0])))
    alpha = math.atan2(R[1, 0], R[0, 0])
    gamma = math.atan2(R[2, 1], R[2, 2])
    return tuple(round(math.degrees(v), 1) for v in (alpha, beta, gamma))


def random_rotation(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else q @ np.diag([1.0, 1.0, -1.0])


def transform_windows(w: Windows, R: np.ndarray, shift=(0.0, 0.0, 0.0),
                      perm: np.ndarray | None = None) -> Windows:
    """Rotate (x, v, targets and the up vector by R), translate (x, targets) and permute the nodes
    of a one-sample Windows (node i of the result is node perm[i] of the input)."""
    assert len(w) == 1, "transform one sample at a time"
    Rt = torch.as_tensor(np.asarray(R), dtype=w.x.dtype)
    s = torch.as_tensor(np.asarray(shift), dtype=w.x.dtype)
    n = w.x.shape[0]
    perm_t = torch.arange(n) if perm is None else torch.as_tensor(perm, dtype=torch.long)
    inverse = torch.argsort(perm_t)
    return replace(
        w, h=w.h[perm_t], x=w.x[perm_t] @ Rt.T + s, v=w.v[perm_t] @ Rt.T,
        edge_index=inverse[w.edge_index],
        target=None if w.target is None else w.target[:, perm_t] @ Rt.T + s,
        up=None if w.up is None else w.up @ Rt.T,
        spin=None if w.spin is None else w.spin.moved(np.asarray(R, dtype=np.float64),
                                                      np.asarray(shift, dtype=np.float64)),
    )


def equivariance_check(loaded: LoadedModel, w: Windows, index: int, R, shift=(0, 0, 0),
                       perm=None, device="cpu") -> EquivarianceCheck:
    """f(g·input) against g·f(input) for one sample: both trajectories and their deviation."""
    one = w.select([index])
    moved = transform_windows(one, R, shift, perm)
    pred = predict(loaded.model, one, device=device)
    pred_moved = predict(loaded.model, moved, device=device)
    R_t = torch.as_tensor(np.asarray(R), dtype=pred.dtype)
    perm_t = torch.arange(pred.shape[1]) if perm is None else torch.as_tensor(perm)
    expected = pred[:, perm_t] @ R_t.T + torch.as_tensor(np.asarray(shift), dtype=pred.dtype)
    diff = (pred_moved - expected).double()
    scale = float((pred - one.x[None]).double().norm(dim=-1).mean())
    return EquivarianceCheck(pred_on_transformed=pred_moved.numpy(), transformed_pred=expected.numpy(),
                             input=moved.x.numpy(), max_dev=float(diff.abs().max()),
                             rms_dev=float(diff.pow(2).mean().sqrt()), motion_scale=scale)


# ---------------------------------------------------------------- resolution sweep
def resolution_sweep(models: dict[str, LoadedModel], family: DatasetFamily, timesteps: list[int],
                     windows_at: Callable[[int], Windows] | None = None, device="cpu",
                     on_step: Callable[[int, int], None] | None = None,
                     chunk: int = 500) -> pd.DataFrame:
    """F-MSE / A-MSE of each model at each P on the test split (models that cannot run at a P,
    such as egnn-s, are left out of that row). Samples are predicted ``chunk`` at a time and
    ``on_step(done, total, cost_done, cost_total)`` reports progress in samples (summed over P and
    models) and in cost (samples × P: a prediction's cost grows with its frames)."""
    windows_at = windows_at or (lambda p: family.load("test", p))
    rows, done, cost = [], 0, 0
    sets = {p: windows_at(p) for p in timesteps}
    total = sum(len(w) for w in sets.values()) * len(models)
    cost_total = sum(len(w) * p for p, w in sets.items()) * len(models)
    for p, w in sets.items():
        still = metrics(w.x.expand_as(w.target), w.target)
        for name, loaded in models.items():
            try:
                frames = _chunked_frame_mse(loaded, w, chunk, device, lambda k: on_step(
                    done + k, total, cost + k * p, cost_total) if on_step else None)
                rows.append({"model": name, "P": p, "f_mse": frames[-1], "a_mse": frames.mean(),
                             "no_motion_f_mse": still["f_mse"],
                             "diverged": diverged(frames[-1], still["f_mse"]),
                             "trained_P": loaded.config.timesteps, "n_samples": len(w)})
            except ValueError:
                pass
            done += len(w)
            cost += len(w) * p
            if on_step:
                on_step(done, total, cost, cost_total)
    return pd.DataFrame(rows)


def _chunked_frame_mse(loaded: LoadedModel, w: Windows, chunk: int, device,
                       report: Callable[[int], None]) -> np.ndarray:
    """Per-frame MSE (P,) over all samples of ``w``, predicted ``chunk`` samples at a time (the
    node-weighted mean of the chunks' errors equals the error over all nodes)."""
    total, nodes = None, 0
    for start in range(0, len(w), chunk):
        part = w.select(range(start, min(start + chunk, len(w))))
        err = frame_mse(predict(loaded.model, part, chunk, device), part.target).double().numpy()
        n = part.x.shape[0]
        total = err * n if total is None else total + err * n
        nodes += n
        report(start + len(part))
    return total / nodes
