"""A deep ensemble (Lakshminarayanan et al., NeurIPS 2017): K checkpoints of one model trained by
the same command with different seeds, read as a predicted Gaussian per node and frame and as K
alternative futures (docs/results/uncertainty.md).

The Gaussian: the members' mean as its mean, the members' variance about that mean (unbiased,
averaged over x, y, z: one invariant σ² per node and frame) as its variance, recalibrated by one
scalar fitted on validation like the variance head (egno.run.uncertainty). The members themselves
are scored as an ensemble forecast too: the energy score of each node's 3D position and the
ensemble CRPS of each coordinate (scoringrules).

Letters: K members, P frames, N nodes of all samples.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import torch

from egno.data import Windows
from egno.run.evaluate import frame_mse, predict
from egno.run.uncertainty import calibration, frame_variance, recalibration


def member_predictions(models, windows: Windows, batch_size: int = 500, device="cpu") -> np.ndarray:
    """Every member's positions for every sample of ``windows``: (K, P, N, 3), float64."""
    return np.stack([predict(m, windows, batch_size, device).double().numpy() for m in models])


def spread(preds: np.ndarray) -> np.ndarray:
    """σ² (P, N) per coordinate: the members' unbiased variance about their mean, averaged over
    x, y, z (rotation-invariant, as the members' mean is equivariant when each member is)."""
    if len(preds) < 2:
        raise ValueError(f"an ensemble needs at least two members, not {len(preds)}")
    return np.asarray(preds, np.float64).var(axis=0, ddof=1).mean(-1)


def ensemble_scores(preds: np.ndarray, truth: np.ndarray, var: np.ndarray, node_ptr: np.ndarray) -> dict:
    """``calibration``'s scores of the Gaussian N(mean of ``preds``, ``var``) against ``truth``,
    with the members' own energy score (per node, over x, y, z), ensemble CRPS (per coordinate)
    and the F-MSE of their mean."""
    import scoringrules

    preds, truth = np.asarray(preds, np.float64), np.asarray(truth, np.float64)
    mean = preds.mean(0)
    members_last = np.moveaxis(preds, 0, -2)  # P, N, K, 3
    return {**calibration(mean, truth, var, node_ptr),
            "energy_score": float(scoringrules.es_ensemble(truth, members_last, m_axis=-2, v_axis=-1).mean()),
            "crps_ensemble": float(scoringrules.crps_ensemble(truth, np.moveaxis(preds, 0, -1)).mean()),
            "f_mse": float(frame_mse(torch.as_tensor(mean), torch.as_tensor(truth))[-1])}


def ensemble_report(models, val: Windows, test: Windows, batch_size: int = 500, device="cpu") -> dict:
    """The ensemble's scores on ``test`` after its recalibration on ``val`` (``ensemble``; before
    it: ``ensemble_raw``), beside the per-frame σ baseline fitted on ``val`` around the members'
    mean; ``scale``: the factor s; ``member_f_mse``: each member's own test F-MSE."""
    val_preds = member_predictions(models, val, batch_size, device)
    val_truth = val.target.double().numpy()
    scale = recalibration(val_preds.mean(0), val_truth, spread(val_preds))
    frame_var = frame_variance(val_preds.mean(0), val_truth)
    preds = member_predictions(models, test, batch_size, device)
    truth, ptr, var = test.target.double().numpy(), test.node_ptr.numpy(), spread(preds)
    members = [float(frame_mse(torch.as_tensor(p), torch.as_tensor(truth))[-1]) for p in preds]
    return {"scale": scale, "members": len(models), "member_f_mse": members,
            "ensemble": ensemble_scores(preds, truth, scale * var, ptr),
            "ensemble_raw": ensemble_scores(preds, truth, var, ptr),
            "per_frame": calibration(preds.mean(0), truth, frame_var, ptr)}


def ship_members(dataset: str, model: str, paths: list[Path]) -> list[Path]:
    """Copy trained checkpoints (and their cards) into the shipped ensemble's folder as
    ``<model>-<seed>.pt``, after checking that each was trained by the shipped model's command
    with only its seed (and output folder, threads, device) changed."""
    from egno.run.checkpoint import ensemble_folder, load_checkpoint, rerun_command, shipped_path

    shipped = load_checkpoint(shipped_path(dataset, model)).card
    same = rerun_command(shipped, 0, Path("out"), None)
    folder = ensemble_folder(dataset)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for path in map(Path, paths):
        card = load_checkpoint(path).card
        seed = card["train_config"]["seed"]
        if rerun_command(card, 0, Path("out"), None) != same:
            raise ValueError(f"{path}: not trained by {dataset}/{model}'s shipped command "
                             f"(`{card['command']}` against `{shipped['command']}`)")
        if seed == shipped["train_config"]["seed"]:
            raise ValueError(f"{path}: seed {seed} is the shipped model's own")
        dest = folder / f"{model}-{seed}.pt"
        shutil.copyfile(path, dest)
        shutil.copyfile(path.with_suffix(".json"), dest.with_suffix(".json"))
        out.append(dest)
    return out
