"""How far to trust a prediction: a predicted Gaussian per node and frame, its recalibration on
validation and its scores on test (docs/results/uncertainty.md).

Each node's predicted position at each frame is an isotropic Gaussian: the mean the model
predicts and one variance σ² for each of x, y, z. Two ways to get σ²:
  variance head  EGNO's own (``ModelConfig.variance_head``): one invariant log σ² per node and
                 frame, trained with β-NLL (Seitzer et al., ICLR 2022) on a frozen mean;
  per-frame σ    the baseline: one σ² per frame, the validation MSE of that frame, the same for
                 every node (no per-node information).
Either is recalibrated by one scalar s (σ² → s σ²) fitted on validation: the s that minimises the
Gaussian NLL there, s = mean(Δ² / σ²).

Scores, over every node, frame and coordinate of the test split (``calibration``): the Gaussian
NLL (closed form) and CRPS (scoringrules), the coverage of the 50 % and 90 % central intervals, the
miscalibration area (the mean gap between the expected and observed coverage of central
intervals at 99 levels, as uncertainty-toolbox defines it), the spread–skill pair (RMS of the
predicted σ against the RMSE) and the Spearman rank correlation between each sample's predicted
spread and its actual error at the final frame.

Letters: P frames, N nodes of all samples, S samples.
"""
from __future__ import annotations

import numpy as np
import torch

from egno.data import Windows, collate

LEVELS = np.linspace(0.01, 0.99, 99)  # central-interval levels for the miscalibration area


def nll_loss(pred: torch.Tensor, log_var: torch.Tensor, target: torch.Tensor, beta: float) -> torch.Tensor:
    """β-NLL of isotropic Gaussians per node and frame: the Gaussian NLL of the three coordinates
    weighted by a stop-gradient σ^{2β} (β = 0: plain NLL; β = 1: the mean's gradient as MSE's).
    Frames with non-finite truth (past a chained trajectory's end) are left out."""
    target = target[:pred.shape[0]]
    have = torch.isfinite(target).all(-1)
    var = log_var.exp()
    nll = 0.5 * (3 * log_var + ((pred - target.nan_to_num()) ** 2).sum(-1) / var)
    if beta:
        nll = nll * var.detach() ** beta
    return (nll * have).sum() / have.sum().clamp(min=1)


@torch.no_grad()
def predict_with_variance(model, windows: Windows, batch_size: int = 100, device="cpu"
                          ) -> tuple[torch.Tensor, torch.Tensor]:
    """Positions (P, N, 3) and variances σ² (P, N) per coordinate of every sample of ``windows``."""
    model.eval()
    preds, variances = [], []
    for s in range(0, len(windows), batch_size):
        batch = collate(windows, torch.arange(s, min(s + batch_size, len(windows)))).to(device)
        x, log_var = model.forward_variance(batch)
        preds.append(x.cpu())
        variances.append(log_var.double().exp().cpu())  # float32 would underflow to 0 past e^-103
    return torch.cat(preds, dim=1), torch.cat(variances, dim=1)


def frame_variance(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """The per-frame σ² baseline (P,): the mean squared error per coordinate of each frame."""
    return ((np.asarray(pred, np.float64) - truth) ** 2).mean(axis=(1, 2))


def recalibration(pred: np.ndarray, truth: np.ndarray, var: np.ndarray) -> float:
    """The scalar s for which s σ² has the lowest Gaussian NLL on these predictions: mean(Δ²/σ²)."""
    sq = (np.asarray(pred, np.float64) - truth) ** 2
    return float((sq / np.broadcast_to(var, sq.shape[:-1])[..., None]).mean())


def _per_sample(values: np.ndarray, node_ptr: np.ndarray) -> np.ndarray:
    return np.array([values[..., a:b].mean() for a, b in zip(node_ptr[:-1], node_ptr[1:])])


def calibration(pred: np.ndarray, truth: np.ndarray, var: np.ndarray, node_ptr: np.ndarray) -> dict:
    """The scores of Gaussians N(pred, var) per node, frame and coordinate against ``truth``:
    pred, truth (P, N, 3); var (P, N) or (P,) (one σ² per frame); node_ptr (S + 1,)."""
    # here, not at the top: scipy's OpenBLAS reserves memory per thread on import, and the
    # upload worker (which predicts variances but scores nothing) runs under a memory cap
    import scoringrules
    from scipy import stats

    pred, truth = np.asarray(pred, np.float64), np.asarray(truth, np.float64)
    var = np.broadcast_to(var if np.ndim(var) == 2 else np.asarray(var)[:, None], pred.shape[:2])
    sigma = np.sqrt(np.broadcast_to(var[..., None], pred.shape))
    err = truth - pred
    z = np.abs(err) / sigma
    observed = np.array([(z <= stats.norm.ppf(0.5 + level / 2)).mean() for level in LEVELS])
    final_sq = (err[-1] ** 2).mean(-1)  # final frame, per node
    spread = np.sqrt(_per_sample(var[-1], node_ptr))
    skill = np.sqrt(_per_sample(final_sq, node_ptr))
    rho = stats.spearmanr(spread, skill).statistic if len(spread) > 2 and np.ptp(spread) > 0 else float("nan")
    return {
        # closed form: scoringrules' log score takes the log of the density, which underflows to
        # log 0 for errors past ~38 σ (a heavy tail every model has), and its NLL turns infinite
        "nll": float((0.5 * np.log(2 * np.pi * sigma ** 2) + 0.5 * z ** 2).mean()),
        "crps": float(scoringrules.crps_normal(truth, pred, sigma).mean()),
        "coverage_50": float((z <= stats.norm.ppf(0.75)).mean()),
        "coverage_90": float((z <= stats.norm.ppf(0.95)).mean()),
        "miscalibration_area": float(np.abs(observed - LEVELS).mean()),
        "rms_sigma": float(np.sqrt(var.mean())),
        "rmse": float(np.sqrt((err ** 2).mean())),
        "spearman_spread_error": float(rho),
    }


def calibration_scale(card: dict) -> float:
    """The recalibration factor s a checkpoint's card records (1 where it records none)."""
    return float(card.get("metrics", {}).get("calibration", {}).get("scale", 1.0))


def has_variance(model) -> bool:
    return bool(getattr(model.config, "variance_head", False))


def calibration_report(model, val: Windows, test: Windows, batch_size: int = 500, device="cpu") -> dict:
    """The variance head's scores on ``test`` after its recalibration on ``val`` (and before:
    ``raw``), beside the per-frame σ baseline fitted on ``val``; ``scale``: the factor s."""
    val_pred, val_var = predict_with_variance(model, val, batch_size, device)
    scale = recalibration(val_pred.numpy(), val.target.numpy(), val_var.numpy())
    frame_var = frame_variance(val_pred.numpy(), val.target.numpy())
    pred, var = predict_with_variance(model, test, batch_size, device)
    pred, var, truth, ptr = pred.numpy(), var.numpy(), test.target.numpy(), test.node_ptr.numpy()
    return {"scale": scale, "head": calibration(pred, truth, scale * var, ptr),
            "head_raw": calibration(pred, truth, var, ptr),
            "per_frame": calibration(pred, truth, frame_var, ptr)}
