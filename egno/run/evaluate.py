"""Metrics (docs/design.md §1): F-MSE = MSE of the final frame, A-MSE = MSE averaged over the P frames.

Both are means over all nodes of the split and over x, y, z (node-weighted when graphs differ in
size), in the dataset's length unit squared.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from egno.data import Windows, collate


@torch.no_grad()
def predict(model: nn.Module, windows: Windows, batch_size: int = 100,
            device: str | torch.device = "cpu", progress: bool = False) -> torch.Tensor:
    """Positions (P, N, 3) predicted for every sample of ``windows`` at times ``windows.t``."""
    model.eval()
    out = []
    starts = range(0, len(windows), batch_size)
    for s in tqdm(starts, desc="predicting", disable=not progress, leave=False):
        batch = collate(windows, torch.arange(s, min(s + batch_size, len(windows)))).to(device)
        out.append(model(batch).cpu())
    pred = torch.cat(out, dim=1)
    if windows.spin is not None:  # the rigid rotation split off the input, carried analytically
        times = windows.t.double().numpy() * windows.window
        pred = torch.as_tensor(windows.spin.carry(pred.double().numpy(), windows.node_ptr.numpy(), times),
                               dtype=pred.dtype)
    return pred


def frame_mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """MSE per frame (P,), averaged over nodes and x, y, z."""
    return ((pred.double() - target.double()) ** 2).mean(dim=(1, 2))


def metrics(pred: torch.Tensor, target: torch.Tensor) -> dict:
    per_frame = frame_mse(pred, target)
    return {"f_mse": float(per_frame[-1]), "a_mse": float(per_frame.mean()),
            "frame_mse": [float(v) for v in per_frame]}


def window_f_mse(pred: torch.Tensor, target: torch.Tensor, node_ptr: torch.Tensor) -> torch.Tensor:
    """F-MSE of each sample (S,): the final frame's squared error averaged over the sample's nodes
    and x, y, z (the split's F-MSE weights samples by their node counts)."""
    err = ((pred[-1].double() - target[-1].double()) ** 2).mean(-1)
    sizes = node_ptr[1:] - node_ptr[:-1]
    owner = torch.repeat_interleave(torch.arange(len(sizes)), sizes)
    return torch.zeros(len(sizes), dtype=torch.float64).index_add_(0, owner, err) / sizes


def segment_f_mse(model: nn.Module, windows: Windows, segment: np.ndarray, batch_size: int = 500,
                  device: str | torch.device = "cpu") -> np.ndarray:
    """F-MSE of ``model`` per segment (``segment``: each window's segment, as ``MD17.segments``
    gives it): the mean of its windows' F-MSE, one value per segment."""
    window = window_f_mse(predict(model, windows, batch_size, device), windows.target, windows.node_ptr)
    return per_segment(window, segment)


def per_segment(values: torch.Tensor, segment: np.ndarray) -> np.ndarray:
    """The mean of per-window ``values`` over each segment's windows."""
    return np.bincount(segment, values.numpy()) / np.bincount(segment)


def radius_of_gyration(x: torch.Tensor) -> torch.Tensor:
    """Radius of gyration (...,) of point sets (..., N, 3), every node weighted alike."""
    return ((x - x.mean(-2, keepdim=True)) ** 2).sum(-1).mean(-1).sqrt()


def window_gyration(pred: torch.Tensor, target: torch.Tensor, node_ptr: torch.Tensor) -> torch.Tensor:
    """Predicted / true radius of gyration at the final frame, per sample (S,)."""
    return torch.stack([radius_of_gyration(pred[-1, a:b].double()) / radius_of_gyration(target[-1, a:b].double())
                        for a, b in zip(node_ptr[:-1].tolist(), node_ptr[1:].tolist())])


def gyration_ratio(pred: torch.Tensor, target: torch.Tensor, node_ptr: torch.Tensor) -> float:
    """Mean over samples of predicted / true radius of gyration at the final frame: below 1, the
    predictions are shrunk toward their centre (an average over uncertain orientations)."""
    return float(window_gyration(pred, target, node_ptr).mean())


def segment_scores(model: nn.Module, windows: Windows, segment: np.ndarray, batch_size: int = 500,
                   device: str | torch.device = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """F-MSE and the final frame's gyration ratio of ``model`` per segment (as ``segment_f_mse``),
    from one prediction."""
    pred = predict(model, windows, batch_size, device)
    return (per_segment(window_f_mse(pred, windows.target, windows.node_ptr), segment),
            per_segment(window_gyration(pred, windows.target, windows.node_ptr), segment))


def evaluate(model: nn.Module, windows: Windows, batch_size: int = 100,
             device: str | torch.device = "cpu", progress: bool = False) -> dict:
    """F-MSE, A-MSE and per-frame MSE of ``model`` on ``windows`` (which must have targets)."""
    assert windows.target is not None, "these windows have no ground truth to evaluate against"
    pred = predict(model, windows, batch_size, device, progress)
    return {"n_samples": len(windows), "timesteps": windows.timesteps, **metrics(pred, windows.target),
            "gyration_ratio": gyration_ratio(pred, windows.target, windows.node_ptr)}
