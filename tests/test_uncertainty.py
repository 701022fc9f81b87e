"""Predicted uncertainty (egno.run.uncertainty): scores on cases with known answers, the variance
head's invariance, β-NLL, and training a head that leaves the positions alone."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy import stats

from egno import ModelConfig, get_dataset, load_checkpoint
from egno.data import collate
from egno.nn.zoo import build_model
from egno.run import uncertainty
from egno.service.inference import random_rotation
from test_train_checkpoint import egno, tiny_train_args


def gaussian_case(sigma_true: float, n: int = 4000, frames: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    pred = rng.standard_normal((frames, n, 3))
    truth = pred + sigma_true * rng.standard_normal((frames, n, 3))
    return pred, truth, np.arange(0, n + 1, 40)


def test_a_calibrated_gaussian_scores_as_theory_says():
    pred, truth, ptr = gaussian_case(0.3)
    c = uncertainty.calibration(pred, truth, np.full(pred.shape[:2], 0.09), ptr)
    assert c["coverage_50"] == pytest.approx(0.5, abs=0.01) and c["coverage_90"] == pytest.approx(0.9, abs=0.01)
    assert c["miscalibration_area"] < 0.01
    assert c["nll"] == pytest.approx(0.5 * np.log(2 * np.pi * 0.09) + 0.5, abs=0.01)
    # CRPS of N(0, σ²) against its own draws: σ / √π
    assert c["crps"] == pytest.approx(0.3 / np.sqrt(np.pi), rel=0.02)
    assert c["rms_sigma"] == pytest.approx(0.3) and c["rmse"] == pytest.approx(0.3, rel=0.02)


def test_the_nll_is_scoringrules_log_score_and_stays_finite_far_in_the_tail():
    import scoringrules

    pred, truth, ptr = gaussian_case(0.3, n=400)
    var = np.full(pred.shape[:2], 0.05)
    c = uncertainty.calibration(pred, truth, var, ptr)
    assert c["nll"] == pytest.approx(scoringrules.logs_normal(truth, pred, np.sqrt(0.05)).mean(), rel=1e-9)
    truth[0, 0, 0] += 1e3  # an error of ~4500 σ: the density underflows, the NLL must not
    assert np.isfinite(uncertainty.calibration(pred, truth, var, ptr)["nll"])


def test_an_overconfident_spread_undercovers_and_recalibration_finds_the_factor():
    pred, truth, ptr = gaussian_case(0.3)
    narrow = np.full(pred.shape[:2], 0.09 / 4)  # σ half the truth's
    c = uncertainty.calibration(pred, truth, narrow, ptr)
    assert c["coverage_90"] == pytest.approx(2 * stats.norm.cdf(1.645 / 2) - 1, abs=0.01)
    assert c["miscalibration_area"] > 0.1
    s = uncertainty.recalibration(pred, truth, narrow)
    assert s == pytest.approx(4.0, rel=0.03)
    assert uncertainty.calibration(pred, truth, s * narrow, ptr)["coverage_90"] == pytest.approx(0.9, abs=0.01)
    # one σ² per frame broadcasts over the nodes, and the baseline is the per-frame MSE
    frame = uncertainty.frame_variance(pred, truth)
    assert frame.shape == (3,) and np.allclose(frame, 0.09, rtol=0.05)
    assert uncertainty.calibration(pred, truth, frame, ptr)["coverage_90"] == pytest.approx(0.9, abs=0.01)


def test_spread_that_follows_the_error_ranks_samples_alike():
    rng = np.random.default_rng(1)
    scale = np.repeat(rng.uniform(0.05, 1.0, 100), 5)  # 100 samples of 5 nodes, each its own σ
    pred = np.zeros((2, 500, 3))
    truth = scale[None, :, None] * rng.standard_normal((2, 500, 3))
    ptr = np.arange(0, 501, 5)
    informed = uncertainty.calibration(pred, truth, np.broadcast_to(scale ** 2, (2, 500)), ptr)
    flat = uncertainty.calibration(pred, truth, np.full((2, 500), (scale ** 2).mean()), ptr)
    assert informed["spearman_spread_error"] > 0.8 and np.isnan(flat["spearman_spread_error"])
    assert informed["nll"] < flat["nll"]


def test_beta_nll_is_the_gaussian_nll_and_weights_by_the_variance():
    pred, target = torch.zeros(2, 4, 3), torch.ones(2, 4, 3)
    log_var = torch.full((2, 4), np.log(0.5))
    plain = uncertainty.nll_loss(pred, log_var, target, beta=0.0)
    assert plain.item() == pytest.approx(0.5 * (3 * np.log(0.5) + 3 / 0.5))
    assert uncertainty.nll_loss(pred, log_var, target, beta=1.0).item() == pytest.approx(0.5 * plain.item())


def test_beta_nll_leaves_out_frames_without_truth():
    """A chained window past its trajectory's end has NaN truth: those frames neither count nor
    poison the gradient."""
    pred = torch.zeros(3, 4, 3, requires_grad=True)
    log_var = torch.zeros(3, 4, requires_grad=True)
    target = torch.ones(3, 4, 3)
    target[2] = float("nan")
    loss = uncertainty.nll_loss(pred, log_var, target, beta=0.5)
    assert loss.item() == pytest.approx(uncertainty.nll_loss(pred[:2], log_var[:2], target[:2], 0.5).item())
    loss.backward()
    assert torch.isfinite(pred.grad).all() and (pred.grad[2] == 0).all() and (log_var.grad[2] == 0).all()


def variance_model(length_scale: float = 1.0):
    torch.manual_seed(0)
    model = build_model(ModelConfig(model="egno", node_features=1, edge_features=2, hidden=16, layers=2,
                                    timesteps=5, vector_conv_init="random", variance_head=True,
                                    length_scale=length_scale)).eval()
    with torch.no_grad():  # a head that is not constant, as a trained one is not
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return model


@pytest.mark.parametrize("length_scale", [1.0, 10.0])
def test_spread_is_invariant_and_the_mean_equivariant_under_rotation_shift_and_permutation(tiny_nbody, length_scale):
    w = get_dataset("nbody", tiny_nbody).load("test", 5).select(torch.arange(3))
    model = variance_model(length_scale)
    x, log_var = model.forward_variance(collate(w))
    assert log_var.shape == x.shape[:2] and log_var.std() > 1e-3
    R = torch.as_tensor(random_rotation(3), dtype=torch.float32)
    shift = torch.tensor([0.7, -1.2, 2.0])
    b = collate(w)
    moved = type(b)(**{**b.__dict__, "x": b.x @ R.T + shift, "v": b.v @ R.T})
    x2, log_var2 = model.forward_variance(moved)
    assert torch.allclose(log_var2, log_var, atol=1e-5)
    assert torch.allclose(x2, x @ R.T + shift, atol=1e-4 * float(x.detach().abs().max()))
    perm = torch.randperm(5)  # the first sample's nodes in another order
    b = collate(w)
    order = torch.cat([perm, torch.arange(5, b.x.shape[0])])
    inverse = torch.argsort(order)
    edges = inverse[b.edge_index]
    permuted = type(b)(**{**b.__dict__, "h": b.h[order], "x": b.x[order], "v": b.v[order],
                          "graph": b.graph[order], "edge_index": edges})
    _, log_var3 = model.forward_variance(permuted)
    assert torch.allclose(log_var3, log_var[:, order], atol=1e-5)


def test_a_variance_head_trained_on_a_frozen_mean_keeps_the_positions(tiny_nbody, tmp_path, env_with_data):
    first = tmp_path / "mean"
    egno(*tiny_train_args(tiny_nbody, first, "--model", "egno", "--epochs", "1"), env=env_with_data)
    head = tmp_path / "head"
    egno(*tiny_train_args(tiny_nbody, head, "--model", "egno", "--epochs", "2", "--variance-head",
                          "--nll-beta", "0.5", "--freeze-mean", "--lr", "1e-3", "--init", str(first / "egno.pt")),
         env=env_with_data)
    a, b = load_checkpoint(first / "egno.pt"), load_checkpoint(head / "egno.pt")
    w = get_dataset("nbody", tiny_nbody).load("test", 5)
    with torch.no_grad():
        assert torch.equal(a.model(collate(w)), b.model(collate(w)))
    card = json.loads((head / "egno.json").read_text())
    report = card["metrics"]["calibration"]
    assert set(report) == {"scale", "head", "head_raw", "per_frame"} and report["scale"] > 0
    assert {"nll", "crps", "coverage_50", "coverage_90", "miscalibration_area", "rms_sigma", "rmse",
            "spearman_spread_error"} <= set(report["head"])
    assert card["history"][1]["val_f_mse"] < card["history"][0]["val_f_mse"] + 1.0  # the NLL, scored
    res = egno("evaluate", "--dataset", "nbody", "--data-dir", str(tiny_nbody), "--checkpoint",
               str(head / "egno.pt"), "--json", "--quiet", env=env_with_data)
    row = json.loads(res.stdout.strip().splitlines()[-1])
    assert row["calibration"]["head"]["nll"] == pytest.approx(report["head"]["nll"], rel=1e-4)
    plain = egno(*tiny_train_args(tiny_nbody, tmp_path / "bad", "--model", "gnn", "--epochs", "1",
                                  "--variance-head"), env=env_with_data, check=False)
    assert plain.returncode != 0 and "no variance head" in plain.stderr


def test_the_predicted_error_range_and_rmse_follow_the_variances():
    from egno.service.inference import mse_band, predicted_rmse

    var = np.full((3, 50), 0.04)
    var[2] = 0.16
    assert np.allclose(predicted_rmse(var), [0.2, 0.2, 0.4])
    lo, hi = mse_band(var)
    # the MSE of 150 squared N(0, σ²) draws: mean σ², spread σ² √(2/150) → 90 % within ±1.645 of it
    half = 1.645 * np.sqrt(2 / 150)
    assert np.allclose(lo, var.mean(1) * (1 - half), rtol=0.06) and np.allclose(hi, var.mean(1) * (1 + half), rtol=0.06)
