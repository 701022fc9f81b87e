"""The Equivariance and Long horizon pages' work on an upload, run inside the upload worker
(egno/uploads/worker.py, modes 'equivariance' and 'rollout'), never in the server: the same symmetry check
and chained rollout as on the test samples, returned as plain arrays and numbers.
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Callable

import numpy as np
import torch

from egno.run.checkpoint import chaining_checkpoint, resolve_checkpoint, shipped_models
from egno.data.base import Windows
from egno.service.inference import equivariance_check
from egno.run.rollout import chain_one, per_sample_checks

EQUIVARIANCE_MODELS = ("egno", "gnn")         # next to the chosen model, as on the Equivariance page
ROLLOUT_MODELS = ("egno", "egnn-r", "linear")  # as on the Long horizon page
PERMUTATION_SEED = 0                           # the upload's random node order


def equivariance(dataset: str, model: str, w: Windows, job: dict, device: str = "cpu") -> dict:
    """f(g·input) against g·f(input) on the upload's window ``w`` for ``model`` and the models in
    EQUIVARIANCE_MODELS shipped for ``dataset``. ``job``: ``rotation`` (3×3), ``shift`` (3,) in
    length units, ``permute`` (a seeded random node order). Returns ``checks`` ({model: the fields
    of egno.service.inference.equivariance_check's EquivarianceCheck}), ``perm`` (N,) or None,
    ``t`` (P,), ``window``."""
    R = np.asarray(job["rotation"], dtype=np.float64).reshape(3, 3)
    assert abs(np.linalg.det(R) - 1) < 1e-6, "the rotation must be proper (det +1)"
    shift = np.asarray(job.get("shift", (0.0, 0.0, 0.0)), dtype=np.float64).reshape(3)
    n = w.x.shape[0]
    perm = np.random.default_rng(PERMUTATION_SEED).permutation(n) if job.get("permute") else None
    shipped = shipped_models(dataset)
    checks = {}
    for name in [model] + [m for m in EQUIVARIANCE_MODELS if m != model and m in shipped]:
        try:
            check = equivariance_check(resolve_checkpoint(dataset, name, device), w, 0, R, shift, perm, device)
            checks[name] = asdict(check)
        except ValueError:  # a model that cannot run at this P (egnn-s)
            continue
    return {"checks": checks, "perm": perm, "t": w.t.numpy(), "window": float(w.window),
            "has_up": w.up is not None}


def rollout(dataset: str, model: str, window_at: Callable[[int, int], Windows], windows: int,
            device: str = "cpu") -> dict:
    """``model`` and the ROLLOUT_MODELS shipped for ``dataset`` chained ``windows`` windows of the
    chosen model's P from the upload's input frame (``window_at(P, K)``: the upload's window with
    the file's frames as truth, NaN where it has none). Per model (``runs``): ``pred`` (K·P, N, 3),
    ``frame_mse`` and ``node_error`` (NaN where the file has no frame), the physical ``checks``
    (input first) and ``first_broken``; with ``x``, ``truth``, ``truth_checks``, ``t`` (fractions
    of ΔT), ``window``, ``timesteps`` and ``truth_frames`` (how many frames are scored)."""
    assert 1 <= windows <= 100, f"chain 1 to 100 windows, not {windows}"
    shipped = shipped_models(dataset)
    names = [m for m in ROLLOUT_MODELS if m in shipped] + ([model] if model not in ROLLOUT_MODELS else [])
    loaded = {name: chaining_checkpoint(dataset, name, device) for name in names}
    p = loaded[model].config.timesteps
    w = window_at(p, windows)
    have = torch.isfinite(w.target).all(-1).all(-1)
    runs = {}
    for name, one in loaded.items():
        try:
            runs[name] = chain_one(one.model, w, windows, p, dataset, device=device)
        except ValueError:  # a model that cannot run at this P
            continue
    truth_checks = per_sample_checks(w, w.target, dataset)[0]["checks"] if bool(have.any()) else {}
    return {"runs": runs, "x": w.x.numpy(), "truth": w.target.numpy(), "truth_checks": truth_checks,
            "t": w.t.numpy(), "window": float(w.window), "timesteps": p, "windows": windows,
            "truth_frames": int(have.sum())}
