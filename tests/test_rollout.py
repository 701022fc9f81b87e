"""Chained long-horizon rollout, physical checks, the rollout command and the Long horizon page."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import torch

from conftest import ROOT
from egno import ModelConfig, get_dataset
from egno.data.nbody import build_windows
from egno.data.long import generate_nbody_long, long_windows
from egno.data.physics import first_broken, molecule_checks, nbody_checks, skeleton_checks
from egno.run import rollout
from egno.run.rollout import chain, check_restate, window_summary
from egno.nn.zoo import build_model


@pytest.fixture(scope="module")
def long_nbody(tmp_path_factory):
    """A tiny long-horizon nbody file (4 systems, 3 windows) in its own data dir."""
    family = get_dataset("nbody", tmp_path_factory.mktemp("long") / "nbody")
    generate_nbody_long(family, n_systems=4, windows=3, seed=1)
    return family


def test_linear_rollout_of_constant_velocity_system_is_exact():
    # two particles far apart (no truth needed): positions x0 + v t at every chained frame
    x0 = np.array([[[0.0, 0.0, 0.0], [5.0, 1.0, -2.0]]])
    v0 = np.array([[[0.3, -0.1, 0.2], [-0.2, 0.4, 0.1]]])
    w = build_windows(x0, v0, np.array([[1.0, -1.0]]), None, np.array([0.2, 0.4, 0.6, 0.8, 1.0]))
    model = build_model(ModelConfig(model="linear"))
    pred = chain(model, w, windows=20, timesteps=5, family="nbody")
    t = torch.arange(1, 101, dtype=torch.float64) / 5 * w.window
    expected = torch.as_tensor(x0[0])[None] + torch.as_tensor(v0[0])[None] * t[:, None, None]
    assert pred.shape == (100, 2, 3)
    torch.testing.assert_close(pred.double(), expected, atol=1e-5, rtol=0)


def test_long_truth_continues_the_protocol_and_restate_matches_features(long_nbody):
    w = long_windows(long_nbody, 3, 5)
    assert w.target.shape == (15, 4 * 5, 3) and torch.isfinite(w.target).all()
    check_restate(replace(w, target=None, t=w.t[:5]), "nbody")
    # the linear chain is scored per window and never diverges on a bound system's first windows
    pred = chain(build_model(ModelConfig(model="linear")), w, 3, 5, "nbody")
    s = window_summary(w, pred, 3, 5, "nbody")
    assert len(s["f_mse"]) == 3 and s["n_with_truth"] == [4, 4, 4]
    assert s["f_mse"][0] < s["f_mse"][2]


def test_rigid_rotation_keeps_bonds_and_bones():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3)) * 1.4
    bonds = np.array([[0, 1, 2, 3, 4], [1, 2, 3, 4, 5]])
    angles = np.linspace(0, np.pi, 7)
    rot = np.stack([np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
                    for a in angles])
    frames = np.einsum("fij,nj->fni", rot, x) + 0.5
    m = molecule_checks(frames, frames[:1].repeat(7, 0), bonds)  # the unrotated input as reference
    assert np.allclose(m["bond_error"], 0, atol=1e-12) and not m["bonds_off"].any()
    assert np.allclose(m["angle_error"], 0, atol=1e-5)
    assert np.allclose(skeleton_checks(frames, bonds)["bone_drift"], 0, atol=1e-12)
    assert first_broken({**m, **skeleton_checks(frames, bonds)}) is None


def test_stretched_bond_is_flagged():
    x = np.array([[0.0, 0, 0], [1.5, 0, 0], [3.0, 0, 0]])
    bonds = np.array([[0, 1], [1, 2]])
    frames = np.stack([x, x, x])
    frames[2, 2, 0] += 0.3  # bond 1–2 stretched by 0.3 Å in the last frame
    m = molecule_checks(frames, np.stack([x, x, x]), bonds)
    assert m["bonds_off"].tolist() == [0.0, 0.0, 0.5]
    assert m["bond_error"][2] == pytest.approx(0.15)
    assert first_broken(m) is None  # half the bonds: at, not past, the limit
    frames[2, 0, 0] -= 0.3
    assert first_broken(molecule_checks(frames, np.stack([x, x, x]), bonds)) == 2
    drift = skeleton_checks(frames, bonds)["bone_drift"]
    assert drift[2] == pytest.approx(0.2)


def test_symmetric_pair_conserves_momentum_and_flags_a_push():
    # two opposite charges moving apart symmetrically: total momentum stays zero
    t = np.arange(6)[:, None] * 0.1
    a = np.concatenate([-1 - 0.5 * t, 0 * t, 0 * t], axis=1)
    frames = np.stack([a, -a], axis=1)  # F, 2, 3
    v0 = np.array([[-0.5, 0, 0], [0.5, 0, 0]])
    edges, qq = np.array([[0, 1], [1, 0]]), np.array([-1.0, -1.0])
    c = nbody_checks(frames, v0, edges, qq, 0.1)
    assert np.allclose(c["momentum_drift"], 0, atol=1e-12)
    pushed = frames.copy()
    pushed[:, :, 1] += t * 3.0  # both pushed along y: momentum gained
    assert first_broken(nbody_checks(pushed, v0, edges, qq, 0.1)) is not None


def test_rollout_command_json(long_nbody):
    from egno.run.checkpoint import chaining_checkpoint

    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "egno", "rollout", "--dataset", "nbody", "--model", "egno", "linear",
         "--windows", "3", "--samples", "2", "--threads", "1", "--json",
         "--data-dir", str(long_nbody.data_dir)], capture_output=True, text=True, env=env, check=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["windows"] == 3 and r["n_samples"] == 2 and set(r["models"]) == {"egno", "linear"}
    for m in r["models"].values():
        assert len(m["f_mse"]) == 3 and len(m["diverged"]) == 3
        assert set(m["checks"]) == {"momentum_drift", "energy_drift"}
    assert r["models"]["egno"]["f_mse"][0] < r["models"]["linear"]["f_mse"][0]
    for name, m in r["models"].items():  # the checkpoint Long horizon chains: nbody's long/ EGNO
        assert m["checkpoint"] == str(chaining_checkpoint("nbody", name).path)
    common = r["common"]  # two models: their means on the samples both keep
    assert set(common["f_mse"]) == {"egno", "linear"} and len(common["n"]) == 3
    assert all(0 <= n <= 2 for n in common["n"])
    assert set(common["checks"]["egno"]) == {"momentum_drift", "energy_drift"}
    assert all(len(v) == 3 for v in common["checks"]["linear"].values())


def test_common_means_compare_models_on_the_samples_all_keep():
    """Each model's own mean leaves out what it lost: a model that loses the hard samples looks
    better there. On the samples both keep, the means compare."""
    p, inf, nan = 2, np.inf, np.nan
    # 3 samples × 2 windows of P = 2 frames; the window ends are columns 1 and 3
    careful = np.array([[0, 1.0, 0, 2.0], [0, 1.0, 0, 9.0], [0, 3.0, 0, nan]])
    loses_hard = np.array([[0, 2.0, 0, 4.0], [0, 5.0, 0, inf], [0, 1.0, 0, nan]])
    got = rollout.common_means({"careful": careful, "loses": loses_hard}, p)
    assert got["n"] == [3, 1]  # window 2: sample 1 lost by one model, sample 2 without truth
    assert got["f_mse"]["careful"] == pytest.approx([5 / 3, 2.0], rel=1e-5)  # 6 significant digits
    assert got["f_mse"]["loses"] == pytest.approx([8 / 3, 4.0], rel=1e-5)
    assert rollout.common_means({"a": np.full((2, 2), inf), "b": np.zeros((2, 2))}, 2)["f_mse"]["b"] == [None]
    drift = {"careful": [{"checks": {"energy_drift": [0, 0, 0.1, 0, 0.2]}} for _ in range(3)],
             "loses": [{"checks": {"energy_drift": [0, 0, d, 0, 5.0]}} for d in (0.3, 0.6, 0.9)]}
    got = rollout.common_means({"careful": careful, "loses": loses_hard}, p, drift)
    assert got["checks"]["careful"]["energy_drift"] == pytest.approx([0.1, 0.2])
    assert got["checks"]["loses"]["energy_drift"] == pytest.approx([0.6, 5.0])  # window 2: sample 0 only


def test_long_horizon_page(long_nbody, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from helpers import app_figures

    monkeypatch.setenv("EGNO_DATA", str(long_nbody.data_dir.parent))
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=300)
    at.query_params["dataset"] = "nbody"
    at.run()
    at.switch_page("views/long_horizon.py").run()
    assert not at.exception, at.exception
    at.slider(key="lh_windows").set_value(3).run()
    assert not at.exception, at.exception
    figs = app_figures(at)
    assert len(figs) == 3  # trajectory, error versus horizon, physical checks
    assert len(figs[0]["frames"]) == 16  # the input + 3 windows × P = 5
    boundaries = [s for s in figs[1]["layout"].get("shapes", []) if s.get("line", {}).get("dash") == "dot"]
    assert len(boundaries) == 2
    names = {t.get("name") for t in figs[1]["data"]}
    assert {"egno", "egnn-r", "linear"} <= names
    assert at.success or at.error or at.warning  # a diverged flag or its all-clear, per model
    assert any(c.value.startswith("A rollout counts as diverged") for c in at.caption)  # the rule
    if (ROOT / "assets/checkpoints/nbody/long/egno.pt").exists():  # the chained-trained EGNO, said
        from egno.run.checkpoint import chaining_checkpoint

        assert chaining_checkpoint("nbody", "egno").path.parent.name == "long"
        assert chaining_checkpoint("nbody", "linear").path.parent.name == "nbody"
        long_r = (ROOT / "assets/checkpoints/nbody/long/egnn-r.pt").exists()
        assert (chaining_checkpoint("nbody", "egnn-r").path.parent.name == "long") == long_r
        assert any("trained to be chained" in i.value and "long/egno.pt" in i.value
                   and ("long/egnn-r.pt" in i.value) == long_r for i in at.info)
        from egno.run.checkpoint import shipped_card

        cost = (f"one-window test F-MSE {shipped_card('nbody', 'long/egno')['metrics']['test']['f_mse']:.3g}, "
                f"Explore's {shipped_card('nbody', 'egno')['metrics']['test']['f_mse']:.3g}")
        assert any(cost in i.value for i in at.info)  # what chaining-trained costs for one window
    if (ROOT / "assets/checkpoints/nbody/uncertainty/egno.pt").exists():  # EGNO's predicted range
        long_egno = (ROOT / "assets/checkpoints/nbody/long/egno.pt").exists()  # the head is Explore's EGNO's
        band = "Explore's egno: predicted 90 % range" if long_egno else "egno: predicted 90 % range"
        assert any(t.get("name") == band for t in figs[1]["data"])
        said = "not for the EGNO trained to be chained drawn here"
        assert any(c.value.startswith("Shaded:") and (said in c.value) == long_egno for c in at.caption)
    checks = figs[2]
    assert "energy drift (relative)" in [a["text"] for a in checks["layout"]["annotations"]]
    if (ROOT / "assets/checkpoints/nbody/ensemble/egno-flag.json").exists():  # the ensemble's flag
        spread = next(t for t in figs[1]["data"] if t.get("name") == "ensemble spread² (members apart)")
        from helpers import values

        assert len(values(spread["x"])) == 3 and np.isfinite(values(spread["y"])).all()
        threshold = json.loads((ROOT / "assets/checkpoints/nbody/ensemble/egno-flag.json").read_text())["threshold"]
        notes = [m.value for m in (*at.success, *at.warning)]
        assert any(n.startswith(("Predictable for all 3 windows", "**No longer predictable from window"))
                   and f"threshold {threshold:.3g}" in n for n in notes)


def test_long_horizon_says_when_a_chained_checkpoint_was_scored_on_another_test_split(tmp_path, monkeypatch):
    """md17/uracil's chained models were trained on longer segments and scored on a longer test
    split of the same seeds: the page gives each one-window F-MSE with its split's size."""
    from streamlit.testing.v1 import AppTest

    from egno.run.checkpoint import chaining_checkpoint, shipped_card

    assert chaining_checkpoint("md17/uracil", "egno").path.parent.name == "long"
    monkeypatch.setenv("EGNO_DATA", str(tmp_path))  # the committed test split only
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=300)
    at.query_params["dataset"] = "md17/uracil"
    at.run()
    at.switch_page("views/long_horizon.py").run()
    assert not at.exception, at.exception
    for model in ("egno", "egnn-r"):
        mine = shipped_card("md17/uracil", f"long/{model}")["metrics"]["test"]
        explore = shipped_card("md17/uracil", model)["metrics"]["test"]
        assert mine["n_samples"] != explore["n_samples"]
        said = (f"one-window test F-MSE {mine['f_mse']:.3g} on its own test split of {mine['n_samples']:,} windows, "
                f"Explore's {explore['f_mse']:.3g} on {explore['n_samples']:,}")
        assert any(said in i.value and f"long/{model}.pt" in i.value for i in at.info)


def test_the_ensemble_spread_is_drawn_squared_at_window_ends_with_its_threshold():
    from app.figures import MEMBER_COLOUR
    from app.figures_rollout import horizon_chart

    errors = {"egno": np.full(6, 0.01)}
    fig = horizon_chart(errors, np.arange(1, 7) / 2, 3, 1.0, "s", "m", spread=np.array([0.1, 0.2, np.nan]),
                        threshold=0.15)
    trace = next(t for t in fig.data if t.name == "ensemble spread² (members apart)")
    assert list(trace.x) == [1.0, 2.0, 3.0] and np.allclose(trace.y[:2], [0.01, 0.04])
    line = [s for s in fig.layout.shapes if s.line.color == MEMBER_COLOUR]
    assert len(line) == 1 and line[0].y0 == pytest.approx(0.0225)
    assert "no longer predictable above" in [a.text for a in fig.layout.annotations]


def test_long_horizon_frames_are_labelled_with_their_window():
    """The player's labels of a chained view say which window each predicted frame is in."""
    import plotly.graph_objects as go

    from app.figures_rollout import label_windows

    fig = go.Figure(frames=[go.Frame(name=str(k)) for k in range(7)],
                    layout={"meta": {"frame_labels": [f"t={k}" for k in range(7)]}})
    labels = label_windows(fig, 3).layout.meta["frame_labels"]
    assert labels == ["t=0", "w1 · t=1", "w1 · t=2", "w1 · t=3", "w2 · t=4", "w2 · t=5", "w2 · t=6"]



def test_chained_frame_error_is_inf_where_the_prediction_is_not_finite_and_nan_without_truth(monkeypatch):
    # frames 2 (NaN) and 3 (inf) of the chain diverged; the file's truth ends after frame 4
    truth = np.zeros((1, 6, 2, 3))
    truth[0, 5:] = np.nan
    w = build_windows(np.zeros((1, 2, 3)), np.zeros((1, 2, 3)), np.array([[1.0, -1.0]]), truth,
                      np.arange(1, 7) / 3)
    pred = torch.ones(6, 2, 3)
    pred[2, 0, 1], pred[3, 1, 2] = float("nan"), float("inf")
    monkeypatch.setattr(rollout, "chain", lambda *args, **kwargs: pred)
    out = rollout.chain_one(build_model(ModelConfig(model="linear")), w, 2, 3, "nbody")
    np.testing.assert_array_equal(out["frame_mse"], [1.0, 1.0, np.inf, np.inf, 1.0, np.nan])


def test_shown_frame_marker_spans_the_finite_errors_of_a_diverged_comparison():
    from app.figures import animated_figure

    x0 = np.zeros((2, 3))
    pred = np.ones((3, 2, 3))
    errors = {"egno": np.array([0.1, 0.2, 0.3]), "egnn-r": np.array([0.05, np.inf, np.nan])}
    fig = animated_figure(x0, pred, pred, np.zeros((3, 2)), np.arange(1, 4), "s", errors=errors)
    marker = [tr for tr in fig.data if tr.name == "shown frame"]
    assert len(marker) == 1 and tuple(marker[0].y) == (0.05, 0.3)


def test_divergence_flag_says_when_and_why_and_stays_quiet_within_limits():
    from egno.data.physics import LIMITS, NOT_FINITE, TITLES, broken_at, divergence_rule

    calm = {"momentum_drift": np.array([0.0, 0.01, 0.2, 0.49]), "energy_drift": np.array([0.0, 1.0, 5.0, 19.9])}
    assert broken_at(calm) is None and first_broken(calm) is None
    past = {**calm, "energy_drift": np.array([0.0, 1.0, 25.0, 1e9])}
    assert broken_at(past) == (2, "energy_drift")
    gone = {**past, "momentum_drift": np.array([0.0, 0.01, np.nan, np.nan])}
    assert broken_at(gone) == (2, NOT_FINITE)  # not finite wins a tie
    assert broken_at({"ca_ca": np.array([3.8, np.inf])}) == (1, NOT_FINITE)  # a check without a limit
    assert broken_at({"ca_ca": np.array([3.8, 100.0])}) is None
    rule = divergence_rule()
    assert "not finite" in rule and all(f"{TITLES[n]} above {v:g}" in rule for n, v in LIMITS.items())


def test_a_diverged_sample_is_left_out_of_the_means_and_counted(long_nbody):
    w = long_windows(long_nbody, 2, 5).select([0, 1, 2])
    pred = w.target.clone()  # a perfect rollout ...
    pred[:, w.sample_nodes(1)] += 0.01  # ... one sample a little off, within every limit
    pred[6:, w.sample_nodes(2)] *= 1e6  # ... and one that blows up (finite) in window 2
    pred[9:, w.sample_nodes(2)] = float("nan")  # then stops being finite
    s = window_summary(w, pred, 2, 5, "nbody")
    assert s["diverged"] == [0.0, pytest.approx(1 / 3)]
    assert s["left_out"] == [0, 1] and s["not_finite"] == [0, 1] and s["n_with_truth"] == [3, 3]
    # window 2's mean is over the two that did not diverge: (0 + 1e-4) / 2
    assert s["f_mse"][1] == pytest.approx(0.5e-4, rel=1e-3)
    assert s["f_mse_median"][1] == pytest.approx(1e-4, rel=1e-3)
    assert all(v is None or v < 1 for v in s["checks"]["energy_drift"])


def test_checks_chart_titles_in_words_log_drifts_and_a_limit_unlike_any_model():
    from app.figures import MODEL_COLOURS
    from app.figures_rollout import LIMIT_LINE, checks_chart, cut_at
    from egno.data.physics import LIMITS, LOG_SCALE, TITLES

    t = np.arange(1, 6) * 0.2
    checks = {"egno": {"energy_drift": np.array([0, 1e-3, 1e-2, 1e-1, 1.0, 10.0]),
                       "momentum_drift": np.zeros(6)}, "linear": {"energy_drift": np.zeros(6)}}
    fig = checks_chart(checks, t, 1, 1.0, "s", LIMITS, TITLES, LOG_SCALE).to_dict()
    titles = [a["text"] for a in fig["layout"]["annotations"]]
    assert "energy drift (relative)" in titles and "momentum drift (relative)" in titles
    assert "energy_drift" not in titles and titles.count("limit") == 2
    assert fig["layout"]["yaxis"]["type"] == "log" and fig["layout"]["yaxis2"]["type"] == "log"
    limits = [s for s in fig["layout"]["shapes"] if s["line"].get("dash") == LIMIT_LINE["dash"]]
    assert len(limits) == 2 and LIMIT_LINE["color"] not in MODEL_COLOURS.values()
    cut = cut_at(np.array([1.0, 2.0, 3.0]), 1)
    assert cut[0] == 1.0 and np.isnan(cut[1:]).all()


def test_accumulated_spread_adds_each_windows_variance_and_flags_where_it_passes():
    from egno.run.rollout import accumulated_spread, accumulated_variance, first_unpredictable

    # 2 samples (2 and 1 nodes), 3 windows of P = 2; σ² 1 everywhere but sample 1's node: 4
    var = torch.ones(6, 3)
    var[:, 2] = 4.0
    acc = accumulated_variance(var, 2)
    assert acc[:, 0].tolist() == [1, 1, 2, 2, 3, 3]  # the frame's own plus earlier windows' ends
    spread = accumulated_spread(var, torch.tensor([0, 2, 3]), 2)
    assert np.allclose(spread, np.sqrt([[1, 2, 3], [4, 8, 12]]))
    assert first_unpredictable(spread, 1.5) == [3, 1]
    assert first_unpredictable(spread, 10.0) == [None, None]


def test_mocap_walk_chains_the_models_trained_over_eight_windows():
    """mocap/walk's Long horizon chains EGNO and EGNN-R fine-tuned alike (pushforward over eight
    windows, kept by ten-window validation); linear has no chained variant."""
    from egno.run.checkpoint import chaining_checkpoint, shipped_card

    for model in ("egno", "egnn-r"):
        if not (ROOT / f"assets/checkpoints/mocap/walk/long/{model}.pt").exists():
            continue
        assert chaining_checkpoint("mocap/walk", model).path.parent.name == "long"
        tc = shipped_card("mocap/walk", f"long/{model}")["train_config"]
        assert (tc["chain_windows"], tc["val_windows"]) == (8, 10)
    assert chaining_checkpoint("mocap/walk", "linear").path.parent.name == "walk"


def test_mocap_test_starts_more_phases_of_the_same_trials(tmp_path):
    """starts > 1 on mocap's test: overlapping rollouts every window / starts frames; the
    back-to-back starts are among them with the same truth."""
    family = get_dataset("mocap/walk", tmp_path / "walk")  # the committed test split
    once, dense = long_windows(family, 3, 5), long_windows(family, 3, 5, starts=6)
    per_input = once.x.shape[0] // len(once)
    assert 5 * len(once) < len(dense) < 7 * len(once)
    xs = dense.x.reshape(len(dense), per_input, 3)
    for i in range(len(once)):
        hits = [j for j in range(len(dense)) if torch.equal(xs[j], once.x[i * per_input:(i + 1) * per_input])]
        assert len(hits) == 1
        a = once.target[:, i * per_input:(i + 1) * per_input]
        b = dense.target[:, hits[0] * per_input:(hits[0] + 1) * per_input]
        assert torch.equal(a.isnan(), b.isnan()) and torch.equal(a.nan_to_num(), b.nan_to_num())
    for bad in (0, 31):
        with pytest.raises(ValueError, match="starts per window"):
            long_windows(family, 3, 5, starts=bad)


def test_chained_compare_puts_the_truths_own_drift_beside_the_models():
    """The data's own finite-difference drift is the floor a model's drift is read against: it is
    the truth's (the simulator keeps momentum to within 1 %), scored like a model's, per window."""
    from helpers import load_script
    cc = load_script("scripts/experiments/chained_compare.py")
    out = cc.compare("nbody", {"egno": ROOT / "assets/checkpoints/nbody/long/egno.pt"}, 2)
    truth, model = out["truth"], out["models"]["egno"]
    assert len(truth["checks"]["energy_drift"]) == len(model["checks"]["energy_drift"]) == 2
    assert max(truth["checks"]["momentum_drift"]) < 0.01
    assert all(0 < d < 20 for d in truth["checks"]["energy_drift"])
    assert "truth (the data's own check)" in cc.table(out)
    # the mean over every sample with truth leaves none out, the rollout's mean only the diverged
    from egno.data.long import long_windows
    from egno.run.checkpoint import load_checkpoint
    from egno.run.rollout import chain, sample_errors
    lm = load_checkpoint(ROOT / "assets/checkpoints/nbody/long/egno.pt")
    p = lm.config.timesteps
    w = long_windows(get_dataset("nbody"), 2, p)
    pred = chain(lm.model, w, 2, p, "nbody")
    err = sample_errors(pred, w.target, w.node_ptr)[:, p - 1::p]
    assert out["samples"] == len(err) == 100
    np.testing.assert_allclose(model["mean_all"], err.mean(0), rtol=1e-6)
    assert "mean of all @" not in cc.table(out)  # the F-MSE read at 10 and 20 windows only
    from egno.run.rollout import per_sample_checks, window_end_checks
    drift = window_end_checks(per_sample_checks(w, pred, "nbody"), p, 2)["energy_drift"]
    np.testing.assert_allclose(model["checks_median_all"]["energy_drift"], np.median(drift, 0), rtol=1e-6)
    # the input held still: over every sample, the same error as a model predicting no motion
    held = sample_errors(w.x[None].expand(len(w.target), -1, -1), w.target, w.node_ptr)[:, p - 1::p]
    np.testing.assert_allclose(out["no_motion"]["mean_all"], held.mean(0), rtol=1e-6)
    assert out["no_motion"]["mean_all"][0] > 10 * model["mean_all"][0]
    assert "| no motion (the input held) |" in cc.table(out)
    rows = cc.checks_table(out).splitlines()
    assert len(rows) == 2 + len(model["checks"]) + 1 and rows[-1].startswith("| egno | past a limit |")


def test_chained_compare_pairs_each_row_with_the_first_over_the_same_starts():
    from helpers import load_script

    from egno.data.long import long_windows
    from egno.run.checkpoint import load_checkpoint
    from egno.run.rollout import chain, sample_errors

    cc = load_script("scripts/experiments/chained_compare.py")
    named = {m: ROOT / f"assets/checkpoints/nbody/long/{m}.pt" for m in ("egno", "egnn-r")}
    out = cc.compare("nbody", named, 1)
    err = {}
    for name, path in named.items():
        lm = load_checkpoint(path)
        w = long_windows(get_dataset("nbody"), 1, lm.config.timesteps)
        err[name] = sample_errors(chain(lm.model, w, 1, lm.config.timesteps, "nbody"), w.target, w.node_ptr)[:, -1]
    d = err["egno"] - err["egnn-r"]
    got = out["models"]["egnn-r"]["paired_first_minus"][0]
    assert got["n"] == 100 and got["first_lower"] == int((d < 0).sum())
    assert got["mean"] == pytest.approx(d.mean(), rel=1e-6) and got["se"] == pytest.approx(d.std(ddof=1) / 10, rel=1e-6)
    assert out["models"]["egno"]["paired_first_minus"][0]["mean"] == 0
    assert cc.paired_table(out).splitlines()[2].startswith("| egnn-r | ")
