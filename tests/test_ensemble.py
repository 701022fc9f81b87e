"""The deep ensemble (egno.run.ensemble): its spread and scores on cases with known answers, an
invariant spread and equivariant mean, and shipping members that only the seed sets apart."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from egno import ModelConfig, get_dataset
from egno.nn.zoo import build_model
from egno.run import checkpoint, ensemble
from egno.service.inference import random_rotation, transform_windows
from test_train_checkpoint import egno, tiny_train_args


def test_the_spread_is_the_members_unbiased_variance_per_coordinate():
    a = np.zeros((2, 3, 3))
    b = np.zeros((2, 3, 3))
    b[..., 0] = 2.0  # the two members 2 apart in x only
    var = ensemble.spread(np.stack([a, b]))
    assert var.shape == (2, 3) and np.allclose(var, (2.0 ** 2 / 2) / 3)  # ddof 1, averaged over x, y, z
    with pytest.raises(ValueError, match="at least two"):
        ensemble.spread(a[None])


def test_members_on_the_truth_score_zero_and_draws_of_the_truths_law_cover_it():
    rng = np.random.default_rng(0)
    truth = rng.standard_normal((2, 300, 3))
    ptr = np.arange(0, 301, 30)
    exact = ensemble.ensemble_scores(np.stack([truth] * 3), truth, np.full((2, 300), 1e-6), ptr)
    assert exact["energy_score"] == pytest.approx(0.0, abs=1e-12)
    assert exact["crps_ensemble"] == pytest.approx(0.0, abs=1e-12)
    assert exact["f_mse"] == pytest.approx(0.0, abs=1e-20)
    # 40 members and the truth drawn alike around a centre: the truth is one more member
    centre = rng.standard_normal((2, 300, 3))
    members = centre + 0.5 * rng.standard_normal((40, 2, 300, 3))
    truth = centre + 0.5 * rng.standard_normal((2, 300, 3))
    scores = ensemble.ensemble_scores(members, truth, ensemble.spread(members) * (1 + 1 / 40), ptr)
    assert scores["coverage_90"] == pytest.approx(0.9, abs=0.02)
    assert scores["crps_ensemble"] == pytest.approx(0.5 / np.sqrt(np.pi), rel=0.06)  # N(0, σ²): σ/√π
    narrow = ensemble.ensemble_scores(0.2 * (members - centre) + centre, truth, 0.04 * ensemble.spread(members), ptr)
    assert narrow["energy_score"] > scores["energy_score"] and narrow["coverage_90"] < 0.5


def member(seed: int):
    torch.manual_seed(seed)
    return build_model(ModelConfig(model="egno", node_features=1, edge_features=2, hidden=16, layers=2,
                                   timesteps=5, vector_conv_init="random")).eval()


def test_the_spread_is_invariant_and_the_mean_equivariant(tiny_nbody):
    w = get_dataset("nbody", tiny_nbody).load("test", 5).select([2])
    models = [member(s) for s in (0, 1, 2)]
    R, shift = random_rotation(4), np.array([0.7, -1.2, 2.0])
    perm = np.random.default_rng(0).permutation(w.x.shape[0])
    preds = ensemble.member_predictions(models, w)
    moved = ensemble.member_predictions(models, transform_windows(w, R, shift, perm))
    var, var_moved = ensemble.spread(preds), ensemble.spread(moved)
    assert var.std() > 1e-6  # the members disagree, and not alike on every node
    assert np.allclose(var_moved, var[:, perm], atol=1e-5 * var.max())
    assert np.allclose(moved.mean(0), preds.mean(0)[:, perm] @ R.T + shift, atol=1e-4)


def test_members_are_shipped_only_from_the_shipped_command_with_another_seed(tiny_nbody, tmp_path, env_with_data,
                                                                              monkeypatch):
    runs = {}
    for name, extra in {"shipped": ["--seed", "42"], "seed5": ["--seed", "5"],
                        "other": ["--seed", "6", "--lr", "1e-3"]}.items():
        runs[name] = tmp_path / name
        egno(*tiny_train_args(tiny_nbody, runs[name], "--model", "egno", "--epochs", "1", *extra), env=env_with_data)
    assets = tmp_path / "assets"
    monkeypatch.setattr(checkpoint, "CHECKPOINTS", assets)
    (assets / "nbody").mkdir(parents=True)
    for suffix in (".pt", ".json"):
        shutil.copyfile(runs["shipped"] / f"egno{suffix}", assets / "nbody" / f"egno{suffix}")
    assert checkpoint.ensemble_paths("nbody") == [] and checkpoint.ensemble_card("nbody") is None
    with pytest.raises(ValueError, match="not trained by nbody/egno's shipped command"):
        ensemble.ship_members("nbody", "egno", [runs["other"] / "egno.pt"])
    with pytest.raises(ValueError, match="seed 42 is the shipped model's own"):
        ensemble.ship_members("nbody", "egno", [runs["shipped"] / "egno.pt"])
    shipped = ensemble.ship_members("nbody", "egno", [runs["seed5"] / "egno.pt"])
    assert [p.name for p in shipped] == ["egno-5.pt"] and shipped[0].with_suffix(".json").exists()
    paths = checkpoint.ensemble_paths("nbody")
    assert paths == [assets / "nbody" / "egno.pt", assets / "nbody" / "ensemble" / "egno-5.pt"]
    family = get_dataset("nbody", tiny_nbody)
    models = [checkpoint.load_checkpoint(p).model for p in paths]
    report = ensemble.ensemble_report(models, family.load("val"), family.load("test"))
    assert report["members"] == 2 and report["scale"] > 0 and len(report["member_f_mse"]) == 2
    single = json.loads((runs["shipped"] / "egno.json").read_text())["metrics"]["test"]["f_mse"]
    assert report["member_f_mse"][0] == pytest.approx(single, rel=1e-4)  # the shipped model, as its card says
    for name in ("ensemble", "ensemble_raw"):
        assert {"nll", "coverage_90", "energy_score", "crps_ensemble", "f_mse"} <= set(report[name])
    # recalibrated on validation, the NLL on test cannot be far off the raw spread's
    assert np.isfinite(report["ensemble"]["nll"])


def test_alternative_futures_are_drawn_as_faint_trails_one_legend_entry():
    from app.figures import animated_figure

    rng = np.random.default_rng(0)
    x0, members = rng.standard_normal((4, 3)), rng.standard_normal((3, 5, 4, 3))
    fig = animated_figure(x0, members[0], None, None, np.linspace(0.2, 1.0, 5), "s", members=members)
    drawn = [t for t in fig.data if t.legendgroup == "members"]
    assert len(drawn) == 2 and [t.showlegend for t in drawn] == [True, False]
    # the second member's first node: from the input through its five frames, then a break
    path = np.concatenate([x0[None], members[2]])[:, 0]
    assert np.allclose(np.array(drawn[1].x[:6], float), path[:, 0]) and np.isnan(drawn[1].x[6])
    assert not [t for t in animated_figure(x0, members[0], None, None, np.linspace(0.2, 1.0, 5), "s").data
                if t.legendgroup == "members"]


SHIPPED = [d for d in ("nbody", "mocap/walk", "md17/uracil", "protein/adk") if checkpoint.ensemble_paths(d)]
SLOW = ("protein/adk",)  # five members over the protein's test split: a minute


@pytest.mark.skipif(not SHIPPED, reason="no shipped ensemble")
@pytest.mark.parametrize("dataset", [pytest.param(d, marks=pytest.mark.slow) if d in SLOW else d for d in SHIPPED])
def test_a_shipped_ensemble_reproduces_its_card_on_the_committed_test_split(dataset):
    from egno.service.inference import test_windows

    card = checkpoint.ensemble_card(dataset)
    paths = checkpoint.ensemble_paths(dataset)
    assert card["members"] == [p.name for p in paths] and len(paths) == 5
    w = test_windows(get_dataset(dataset), generate=True)
    preds = ensemble.member_predictions([checkpoint.load_checkpoint(p).model for p in paths], w)
    truth = w.target.double().numpy()
    got = ensemble.ensemble_scores(preds, truth, card["scale"] * ensemble.spread(preds), w.node_ptr.numpy())
    want = card["metrics"]["test"]["ensemble"]
    for key in ("f_mse", "nll", "coverage_90", "energy_score"):
        assert got[key] == pytest.approx(want[key], rel=2e-3, abs=1e-6), key
    # the first member is the shipped model, as Explore draws it
    single = checkpoint.load_checkpoint(checkpoint.shipped_path(dataset, "egno")).card["metrics"]["test"]["f_mse"]
    assert card["metrics"]["test"]["member_f_mse"][0] == pytest.approx(single, rel=2e-3)
