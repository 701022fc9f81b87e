"""Superposition: the rigid motion (Kabsch) that best lays a predicted frame on the true one, so
that a prediction's shape error can be told apart from its orientation and position error."""
from __future__ import annotations

import numpy as np


def kabsch(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation R (3, 3, det +1) and shift t minimising sum |a @ R.T + t - b|² over the N points
    of a and b (N, 3)."""
    assert a.shape == b.shape and a.shape[-1] == 3, f"two (N, 3) point sets, not {a.shape}, {b.shape}"
    ca, cb = a.mean(0), b.mean(0)
    h = (a - ca).T @ (b - cb)
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(vt.T @ u.T)) or 1.0  # no reflections
    R = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    return R, cb - ca @ R.T


def superpose(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Each predicted frame (P, N, 3) moved rigidly onto its true frame (Kabsch per frame)."""
    out = np.empty_like(pred, dtype=np.float64)
    for k, (a, b) in enumerate(zip(pred.astype(np.float64), truth.astype(np.float64))):
        R, t = kabsch(a, b)
        out[k] = a @ R.T + t
    return out


def rmsd(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Root-mean-square distance per frame (P,) between (P, N, 3) point sets, in their unit."""
    return np.sqrt(((pred.astype(np.float64) - truth) ** 2).sum(-1).mean(-1))
