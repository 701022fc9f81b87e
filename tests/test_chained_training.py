"""Training to be chained (egno.run.chained): long training data, pushforward, noise, the
velocity loss, chained validation and fine-tuning from a checkpoint."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from egno import ModelConfig, get_dataset
from egno.data import collate
from egno.data.long import long_windows
from egno.nn.config import TrainConfig
from egno.nn.zoo import build_model
from egno.run import chained
from egno.run.rollout import chain
from test_train_checkpoint import egno, tiny_train_args


@pytest.fixture(scope="module")
def family(tiny_nbody):
    return get_dataset("nbody", tiny_nbody)


def tiny_model(seed: int = 0):
    torch.manual_seed(seed)
    return build_model(ModelConfig(model="egno", node_features=1, edge_features=2, hidden=16,
                                   layers=2, timesteps=5, vector_conv_init="random")).eval()


def test_long_training_data_continue_the_split_systems(family):
    with np.load(family.data_dir / "train.npz", allow_pickle=False) as f:
        loc = f["loc"]
    w = long_windows(family, 3, 5, "train", starts=9)
    assert len(w) == 9 * len(loc) and w.target.shape[0] == 15
    assert torch.isfinite(w.target).all()
    # first start (frame 26): input and the frames of its first window are the split's own
    first = w.select(torch.arange(len(loc)))
    np.testing.assert_allclose(first.x.numpy().reshape(loc.shape[0], -1, 3), loc[:, 26], atol=1e-6)
    np.testing.assert_allclose(first.target[4].numpy().reshape(loc.shape[0], -1, 3), loc[:, 36], atol=1e-6)
    # the protocol's start (frame 30): truth through window 3 goes past the split's saved frames
    mid = w.select(torch.arange(4 * len(loc), 5 * len(loc)))
    np.testing.assert_allclose(mid.x.numpy().reshape(loc.shape[0], -1, 3), loc[:, 30], atol=1e-6)
    assert (family.data_dir / "long_train.json").exists()


def test_long_training_data_follow_a_regenerated_split(tmp_path):
    fam = get_dataset("nbody", tmp_path / "nbody")
    fam.generate(progress=False, seed=3, sizes={"train": 4, "val": 2, "test": 2})
    a = long_windows(fam, 2, 5, "train")
    fam.generate(progress=False, seed=4, sizes={"train": 5, "val": 2, "test": 2})
    b = long_windows(fam, 2, 5, "train")
    assert len(a) == 4 and len(b) == 5 and json.loads((fam.data_dir / "long_train.json").read_text())["seed"] == 41


def test_later_starts_are_the_true_states_at_later_windows(family):
    systems = len(long_windows(family, 1, 5, "train"))
    w = long_windows(family, 2, 5, "train", start_windows=4)
    assert len(w) == 4 * systems and torch.isfinite(w.target).all()
    assert json.loads((family.data_dir / "long_train.json").read_text())["last_saved_frame"] >= 30 + 10 * 5
    protocol = long_windows(family, 4, 5, "train")  # the frame-30 start, truth for 4 windows
    for j in (1, 2, 3):  # start j: the state where the protocol start's window j ends, then its future
        later = w.select(torch.arange(j * systems, (j + 1) * systems))
        np.testing.assert_allclose(later.x.numpy(), protocol.target[5 * j - 1].numpy(), atol=1e-6)
        np.testing.assert_allclose(later.target[:5].numpy(), protocol.target[5 * j:5 * j + 5].numpy(), atol=1e-6)
    assert not torch.allclose(w.select(torch.arange(systems)).x, w.select(torch.arange(systems, 2 * systems)).x)


def test_later_starts_are_refused_where_they_do_not_apply(family):
    with pytest.raises(ValueError, match="not the long test file"):
        long_windows(family, 2, 5, "test", start_windows=3)
    with pytest.raises(ValueError, match="--start-windows is for nbody"):
        get_dataset("md17/ethanol").long_truth(2, 8, "train", 1, 3)


def test_one_window_without_noise_is_the_plain_training_batch(family):
    w = long_windows(family, 1, 5, "train")
    cfg = TrainConfig(chain_windows=1)
    batch, k = chained.step_batch(tiny_model(), family, w, torch.arange(6), cfg,
                                  torch.Generator().manual_seed(0), "cpu")
    plain = collate(family.load("train", 5), torch.arange(6))
    assert k == 0
    for name in ("h", "x", "v", "edge_index", "edge_attr", "target", "t"):
        assert torch.allclose(getattr(batch, name).float(), getattr(plain, name).float(), atol=1e-6), name


def test_pushforward_input_is_the_chained_state(family):
    model = tiny_model()
    w = long_windows(family, 3, 5, "train")
    cfg = TrainConfig(chain_windows=3)
    index = torch.arange(4)
    seen = set()
    for seed in range(12):
        batch, k = chained.step_batch(model, family, w, index, cfg, torch.Generator().manual_seed(seed), "cpu")
        seen.add(k)
        sub = w.select(index)
        if k:  # the input is where k chained windows of the rollout end
            ends = chain(model, replace(sub, target=None), k, 5, "nbody")
            assert torch.allclose(batch.x, ends[-1], atol=1e-5)
        assert torch.equal(batch.target, sub.target[5 * k:5 * k + 5])
    assert seen == {0, 1, 2}


def test_on_track_keeps_the_rollouts_near_their_truth():
    truth = torch.zeros(6, 3)
    x = truth.clone()
    x[2:4] = 2.0  # sample 1: every node 2·√3 off
    x[4, 0] = float("nan")  # sample 2: not finite
    x[1, 0] = 0.5  # sample 0: RMS 0.5 / √2 off
    kept = chained.on_track(x, truth, torch.tensor([0, 2, 4, 6]), limit=1.0)
    assert kept.tolist() == [True, False, False]
    assert chained.on_track(x, truth, torch.tensor([0, 2, 4, 6]), limit=0.3).tolist() == [False, False, False]


def test_pushforward_limit_leaves_out_lost_rollouts(family):
    model = tiny_model()
    w = long_windows(family, 3, 5, "train")
    index = torch.arange(6)
    sub = w.select(index)

    def step(seed, **options):
        g = torch.Generator().manual_seed(seed)
        return chained.step_batch(model, family, w, index, TrainConfig(chain_windows=3, **options), g, "cpu")

    for seed in range(8):
        tight, k = step(seed, pushforward_limit=1e-9)
        # no untrained rollout stays within 1e-9 of its truth: every step falls back to the true input
        assert k == 0 and torch.allclose(tight.x, sub.x) and torch.equal(tight.target, sub.target[:5])
        loose, k = step(seed, pushforward_limit=1e9)
        plain, k2 = step(seed)
        assert k == k2 and torch.equal(loose.x, plain.x) and torch.equal(loose.target, plain.target)
    ends = chain(model, replace(sub, target=None), 2, 5, "nbody")[-1]
    rms = chained.on_track(ends, sub.target[9], sub.node_ptr, 1e9)  # all finite
    assert rms.all()
    err = ((ends - sub.target[9]) ** 2).sum(-1).view(6, -1).mean(-1).sqrt()
    low = err.sort().values
    limit = float(low[2:4].mean())  # between the third and fourth: three samples on track
    for seed in range(20):
        batch, k = step(seed, pushforward_limit=limit)
        if k == 2:
            assert batch.num_graphs == int((err <= limit).sum())
            assert torch.equal(batch.target, sub.select((err <= limit).nonzero()[:, 0]).target[10:15])
            break
    else:
        pytest.fail("k = 2 was never drawn")


def test_noise_has_the_asked_spread_on_positions_and_velocities(family):
    w = long_windows(family, 1, 5, "train")
    sigma = 0.02
    cfg = TrainConfig(input_noise=sigma)
    index = torch.arange(len(w))
    batch, _ = chained.step_batch(tiny_model(), family, w, index, cfg, torch.Generator().manual_seed(1), "cpu")
    clean = collate(w, index)
    dx, dv = batch.x - clean.x, batch.v - clean.v
    assert dx.std().item() == pytest.approx(sigma, rel=0.1)
    assert dv.std().item() == pytest.approx(sigma / (w.window / 5), rel=0.1)
    # features follow the noisy state: speed feature and squared edge lengths
    assert torch.allclose(batch.h[:, -1], batch.v.norm(dim=-1), atol=1e-5)
    assert not torch.allclose(batch.edge_attr[:, 1], clean.edge_attr[:, 1])


def test_velocity_loss_is_zero_for_the_truth_of_uniform_motion_and_counts_otherwise():
    # one node moving at v = (1, 0, 0): frames at dt = 0.2 apart, the frame after the window too
    dt, p = 0.2, 5
    times = dt * torch.arange(1, p + 2, dtype=torch.float32)
    target = torch.stack([times, torch.zeros_like(times), torch.zeros_like(times)], -1)[:, None]
    batch = type("B", (), {"target": target, "window": dt * p, "x": torch.zeros(1, 3)})()
    exact = target[:p].clone()
    assert chained.chained_loss(exact, batch, velocity_loss=1.0).item() == pytest.approx(0.0, abs=1e-10)
    # last frame off by e: position MSE e²/(3P); backward velocity off by e/dt → (e)² / 3 after × dt
    e = 0.03
    off = exact.clone()
    off[-1, 0, 0] += e
    plain = chained.chained_loss(off, batch, velocity_loss=0.0).item()
    with_v = chained.chained_loss(off, batch, velocity_loss=2.0).item()
    assert plain == pytest.approx(e ** 2 / (3 * p), rel=1e-4)
    assert with_v - plain == pytest.approx(2.0 * e ** 2 / 3, rel=1e-4)
    # truth that is missing (past a trajectory's end) is left out, not NaN
    gone = target.clone()
    gone[3:] = float("nan")
    batch.target = gone
    assert np.isfinite(chained.chained_loss(off, batch, velocity_loss=1.0).item())


def test_chained_validation_scores_each_window_and_flags_non_finite(family):
    w = long_windows(family, 3, 5, "val")
    result = chained.chained_val(tiny_model(), w, family, "cpu")
    assert len(result["window_f_mse"]) == 3 and all(np.isfinite(result["window_f_mse"]))
    assert result["score"] == pytest.approx(np.mean(result["window_f_mse"]))
    broken = tiny_model()
    with torch.no_grad():
        for p in broken.parameters():
            p.fill_(float("nan"))
    assert chained.chained_val(broken, w, family, "cpu")["window_f_mse"] == [float("inf")] * 3


def test_checked_validation_counts_a_lost_rollout_as_the_windows_worst(family, monkeypatch):
    """--val-checks: a rollout past a physical limit scores as the worst start of each window from
    its break on, so an epoch that breaks rollouts is not kept for its F-MSE alone."""
    w = long_windows(family, 3, 5, "val")
    model = tiny_model()
    plain = chained.chained_val(model, w, family, "cpu")
    real = chained.chained_val(model, w, family, "cpu", checks=True)
    assert 0 <= real["diverged"] <= 1 and len(real["window_f_mse"]) == 3
    monkeypatch.setattr(chained, "per_sample_checks",
                        lambda w, pred, name: [{"first_broken": None} for _ in range(len(w))])
    kept = chained.chained_val(model, w, family, "cpu", checks=True)
    assert kept["diverged"] == 0
    np.testing.assert_allclose(kept["window_f_mse"], plain["window_f_mse"], rtol=1e-5)  # equal-sized systems
    monkeypatch.setattr(chained, "per_sample_checks",  # the first system breaks in window 2 (frame 7)
                        lambda w, pred, name: [{"first_broken": 7 if i == 0 else None} for i in range(len(w))])
    lost = chained.chained_val(model, w, family, "cpu", checks=True)
    assert lost["diverged"] == pytest.approx(1 / len(w))
    assert lost["window_f_mse"][0] == pytest.approx(kept["window_f_mse"][0])
    err = chained.sample_errors(chain(model, w, 3, 5, "nbody"), w.target, w.node_ptr)[:, 4::5]
    for j in (1, 2):
        expected = np.r_[err[:, j].max(), err[1:, j]].mean()
        assert lost["window_f_mse"][j] == pytest.approx(expected, rel=1e-6)
        assert lost["window_f_mse"][j] >= kept["window_f_mse"][j]
    assert lost["score"] > kept["score"]


def test_val_checks_reaches_the_train_config():
    from egno.__main__ import parser, train_configs
    args = ["train", "--dataset", "nbody", "--model", "egno", "--chain-windows", "2"]
    assert not train_configs(parser().parse_args(args))[1].val_checks
    assert train_configs(parser().parse_args(args + ["--val-checks"]))[1].val_checks


def test_validation_chains_val_windows_when_set(family):
    assert not chained.chained(TrainConfig())
    cfg = TrainConfig(input_noise=0.01, val_windows=4)  # trained on one window, kept for four
    assert chained.chained(cfg) and chained.chained(TrainConfig(val_windows=2))
    w = chained.val_windows(family, 5, cfg)
    assert float(w.t[-1]) == 4 and w.target.shape[0] == 20
    assert len(chained.chained_val(tiny_model(), w, family, "cpu")["window_f_mse"]) == 4
    assert float(chained.val_windows(family, 5, TrainConfig(chain_windows=3)).t[-1]) == 3


def test_chained_fine_tuning_from_the_command_line(tiny_nbody, tmp_path, env_with_data):
    first = tmp_path / "first"
    egno(*tiny_train_args(tiny_nbody, first, "--model", "egno", "--epochs", "1"), env=env_with_data)
    out = tmp_path / "chained"
    egno(*tiny_train_args(tiny_nbody, out, "--model", "egno", "--epochs", "2", "--chain-windows", "3",
                          "--input-noise", "0.01", "--velocity-loss", "1", "--init", str(first / "egno.pt")),
         env=env_with_data)
    card = json.loads((out / "egno.json").read_text())
    tc = card["train_config"]
    assert (tc["chain_windows"], tc["input_noise"], tc["velocity_loss"]) == (3, 0.01, 1.0)
    assert tc["init"].endswith("egno.pt")
    history = card["history"]
    assert all(len(h["val_chained_f_mse"]) == 3 for h in history)
    assert history[0]["val_f_mse"] == pytest.approx(np.mean(history[0]["val_chained_f_mse"]))
    # fine-tuning starts from the given weights: with a learning rate of zero they come back
    still = tmp_path / "still"
    egno(*tiny_train_args(tiny_nbody, still, "--model", "egno", "--epochs", "1", "--lr", "0",
                          "--chain-windows", "2", "--init", str(first / "egno.pt")), env=env_with_data)
    a, b = torch.load(first / "egno.pt", weights_only=True), torch.load(still / "egno.pt", weights_only=True)
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])
    res = egno("rollout", "--dataset", "nbody", "--data-dir", str(tiny_nbody), "--checkpoint",
               f"a={first / 'egno.pt'}", f"b={out / 'egno.pt'}", "--windows", "2", "--json",
               env=env_with_data)
    models = json.loads(res.stdout.strip().splitlines()[-1])["models"]
    assert set(models) == {"a", "b"} and len(models["b"]["f_mse"]) == 2
    # a checkpoint of another architecture cannot be a starting point
    bad = egno(*tiny_train_args(tiny_nbody, tmp_path / "bad", "--model", "egno", "--epochs", "1",
                                "--hidden", "8", "--init", str(first / "egno.pt")),
               env=env_with_data, check=False)
    assert bad.returncode != 0 and "another model config" in bad.stderr


def test_chained_val_script_scores_a_checkpoint_as_training_validates(family, tmp_path):
    """scripts/experiments/chained_val.py recomputes the score a chained run keeps its epoch by."""
    from helpers import load_script
    from egno.run.checkpoint import save_checkpoint

    model = tiny_model()
    path = save_checkpoint(tmp_path / "egno.pt", model, model.config, {"dataset": "nbody"})
    cv = load_script("scripts/experiments/chained_val.py")
    got = cv.scores("nbody", {"tiny": str(path)}, 3, family.data_dir)["tiny"]  # the tiny nbody data
    w = chained.val_windows(family, 5, TrainConfig(val_windows=3))
    assert got["plain"] == pytest.approx(chained.chained_val(model, w, family, "cpu")["score"])
    assert got["checked"] >= got["plain"] - 1e-9 and 0 <= got["diverged"] <= 1
