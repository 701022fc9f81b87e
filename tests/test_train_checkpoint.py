"""Training, resuming, DDP, evaluation from the command line, and the one checkpoint loader."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

from conftest import ROOT
from egno import load_checkpoint
from egno.run.checkpoint import CheckpointError, resolve_checkpoint, save_checkpoint
from egno.nn.config import preset
from egno.nn.zoo import build_model

PY = sys.executable


def egno(*args, env, timeout=300, check=True):
    out = subprocess.run([PY, "-m", "egno", *args], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=timeout)
    if check and out.returncode != 0:
        raise AssertionError(f"egno {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return out


def tiny_train_args(data, out, *extra):
    return ["train", "--dataset", "nbody", "--data-dir", str(data), "--out", str(out),
            "--hidden", "16", "--layers", "2", "--batch-size", "20", "--eval-every", "1",
            "--threads", "1", "--quiet", *extra]


def test_tiny_train_then_evaluate(tiny_nbody, tmp_path, env_with_data):
    out = tmp_path / "run"
    egno(*tiny_train_args(tiny_nbody, out, "--model", "egno", "--epochs", "3", "--ema", "0.9"),
         env=env_with_data)
    ckpt = out / "egno.pt"
    card = json.loads((out / "egno.json").read_text())
    assert card["epochs_run"] == 3 and card["metrics"]["test"]["n_samples"] == 20
    assert card["train_config"]["ema"] == 0.9
    state = torch.load(out / "state.pt", weights_only=True)
    assert state["ema"] is not None and not torch.equal(state["ema"]["embed.weight"],
                                                         state["model"]["embed.weight"])
    assert card["command"].startswith("python -m egno train") and "wall_time_s" in card
    res = egno("evaluate", "--dataset", "nbody", "--data-dir", str(tiny_nbody), "--checkpoint",
               str(ckpt), "--json", "--quiet", env=env_with_data)
    row = json.loads(res.stdout.strip().splitlines()[-1])
    assert {"dataset", "model", "split", "timesteps", "n_samples", "f_mse", "a_mse"} <= set(row)
    assert row["timesteps"] == 5 and row["n_samples"] == 20
    assert row["f_mse"] == pytest.approx(card["metrics"]["test"]["f_mse"], rel=1e-4)
    # zero-shot at another resolution against the fine ground truth
    res = egno("evaluate", "--dataset", "nbody", "--data-dir", str(tiny_nbody), "--checkpoint",
               str(ckpt), "--timesteps", "20", "--json", "--quiet", env=env_with_data)
    row20 = json.loads(res.stdout.strip().splitlines()[-1])
    assert row20["timesteps"] == 20 and row20["trained_timesteps"] == 5
    assert 0 < row20["f_mse"] < 10 * row["f_mse"] + 1e-6
    # a resolution without ground truth is a clear error, not a crash
    res = egno("evaluate", "--dataset", "nbody", "--data-dir", str(tiny_nbody), "--checkpoint",
               str(ckpt), "--timesteps", "7", "--quiet", env=env_with_data, check=False)
    assert res.returncode != 0 and "ground truth for P in" in res.stderr


def test_training_resumes_after_being_killed(tiny_nbody, tmp_path, env_with_data):
    out = tmp_path / "run"
    args = [PY, "-m", "egno", *tiny_train_args(tiny_nbody, out, "--model", "egnn", "--epochs", "400")]
    proc = subprocess.Popen(args, cwd=ROOT, env=env_with_data, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    state = out / "state.pt"
    deadline = time.time() + 120
    while time.time() < deadline and not (state.exists() and _epoch(state) >= 3):
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = _epoch(state)
    assert 3 <= killed_at < 400 and not (out / "egnn.pt").exists()
    res = egno(*tiny_train_args(tiny_nbody, out, "--model", "egnn", "--epochs", str(killed_at + 2)),
               env=env_with_data, check=False)
    # a different --epochs is still the same run (same model config): it resumes and stops early
    assert res.returncode == 0, res.stderr
    assert f"resuming nbody/egnn from epoch {killed_at}" in res.stdout
    card = json.loads((out / "egnn.json").read_text())
    assert card["epochs_run"] == killed_at + 2
    assert [h["epoch"] for h in card["history"]][:killed_at] == list(range(1, killed_at + 1))


def test_rerunning_an_early_stopped_run_ships_it_again_without_training(tiny_nbody, tmp_path, env_with_data):
    # at learning rate 0 validation never improves on epoch 1: patience 2 stops the run at epoch 3
    out = tmp_path / "run"
    args = tiny_train_args(tiny_nbody, out, "--model", "egnn-s", "--epochs", "50", "--lr", "0",
                           "--patience", "2")
    egno(*args, env=env_with_data)
    first = json.loads((out / "egnn-s.json").read_text())
    assert first["epochs_run"] == 3 and first["stop_reason"].startswith("early stop")
    (out / "egnn-s.pt").unlink()
    res = egno(*args, env=env_with_data)
    assert "resuming nbody/egnn-s from epoch 3" in res.stdout
    again = json.loads((out / "egnn-s.json").read_text())
    assert again["epochs_run"] == 3 and again["stop_reason"] == first["stop_reason"]
    assert again["history"] == first["history"] and again["metrics"] == first["metrics"]


def test_a_run_that_ends_its_epochs_after_the_time_limit_says_epochs_done(tiny_nbody, tmp_path, env_with_data):
    out = tmp_path / "run"
    egno(*tiny_train_args(tiny_nbody, out, "--model", "egnn-s", "--epochs", "2", "--time-limit", "1e-6"),
         env=env_with_data)
    card = json.loads((out / "egnn-s.json").read_text())
    assert card["epochs_run"] == 1 and card["stop_reason"] == "time limit 1e-06 min"
    egno(*tiny_train_args(tiny_nbody, out, "--model", "egnn-s", "--epochs", "2", "--time-limit", "1e-6"),
         env=env_with_data)
    card = json.loads((out / "egnn-s.json").read_text())
    assert card["epochs_run"] == 2 and card["stop_reason"] == "epochs done"


def _epoch(state):
    try:
        return torch.load(state, weights_only=True)["epoch"]
    except Exception:  # being written right now
        return 0


def test_resume_refuses_a_different_model_config(tiny_nbody, tmp_path, env_with_data):
    out = tmp_path / "run"
    egno(*tiny_train_args(tiny_nbody, out, "--model", "egnn-s", "--epochs", "1"), env=env_with_data)
    res = egno(*tiny_train_args(tiny_nbody, out, "--model", "egnn-s", "--epochs", "2"),
               "--hidden", "8", env=env_with_data, check=False)
    assert res.returncode != 0 and "different run" in res.stderr


@pytest.mark.slow
def test_resume_refuses_other_training_data(tiny_nbody, tmp_path, env_with_data):
    """A state trained on other windows (regenerated data, another --max-train) is not continued."""
    out = tmp_path / "run"
    egno(*tiny_train_args(tiny_nbody, out, "--model", "egnn-s", "--epochs", "1", "--max-train", "40"),
         env=env_with_data)
    res = egno(*tiny_train_args(tiny_nbody, out, "--model", "egnn-s", "--epochs", "2", "--max-train", "60"),
               env=env_with_data, check=False)
    assert res.returncode != 0 and "other training data" in res.stderr
    res = egno(*tiny_train_args(tiny_nbody, out, "--model", "egnn-s", "--epochs", "2", "--max-train", "40"),
               env=env_with_data, check=False)
    assert res.returncode == 0 and "resuming nbody/egnn-s from epoch 1" in res.stdout, res.stderr
    state = torch.load(out / "state.pt", weights_only=True)
    torch.save({**state, "train_data": None}, out / "state.pt")  # as written before fingerprints
    res = egno(*tiny_train_args(tiny_nbody, out, "--model", "egnn-s", "--epochs", "3", "--max-train", "40"),
               env=env_with_data, check=False)
    assert res.returncode != 0 and "cannot be checked" in res.stderr


def test_torchrun_ddp_trains_without_code_change(tiny_nbody, tmp_path, env_with_data):
    out = tmp_path / "ddp"
    cmd = [PY, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29533",
           "-m", "egno", *tiny_train_args(tiny_nbody, out, "--model", "egno", "--epochs", "2")]
    res = subprocess.run(cmd, cwd=ROOT, env=env_with_data, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    card = json.loads((out / "egno.json").read_text())
    assert card["world_size"] == 2 and card["epochs_run"] == 2


def test_loader_rejects_broken_and_foreign_files(tmp_path):
    mc, _ = preset("nbody", "egno")
    mc.hidden, mc.layers = 8, 1
    good = save_checkpoint(tmp_path / "good.pt", build_model(mc), mc, {"note": "test"})
    loaded = load_checkpoint(good)
    assert loaded.config == mc and loaded.card == {"note": "test"} and not loaded.model.training

    cases = {}
    (tmp_path / "text.pt").write_text("hello, I am not a checkpoint")
    cases["text.pt"] = "not a readable EGNO checkpoint"
    data = good.read_bytes()
    (tmp_path / "truncated.pt").write_bytes(data[: len(data) // 2])
    cases["truncated.pt"] = "not a readable EGNO checkpoint"
    torch.save({"weights": torch.zeros(3)}, tmp_path / "foreign.pt")
    cases["foreign.pt"] = "not an EGNO checkpoint"
    blob = torch.load(good, weights_only=True)
    torch.save({**blob, "version": 99}, tmp_path / "future.pt")
    cases["future.pt"] = "version 99 is not supported"
    torch.save({**blob, "config": {**blob["config"], "hidden": 16}}, tmp_path / "mismatch.pt")
    cases["mismatch.pt"] = "does not match"
    torch.save({"format": "egno-checkpoint", "payload": _Evil()}, tmp_path / "pickle.pt")
    cases["pickle.pt"] = "not a readable EGNO checkpoint"
    for name, message in cases.items():
        with pytest.raises(CheckpointError, match=message):
            load_checkpoint(tmp_path / name)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "absent.pt")
    with pytest.raises(CheckpointError, match="no shipped checkpoint"):
        resolve_checkpoint("nbody", "no-such-model")


class _Evil:
    """An object whose unpickling would run code: weights_only loading must refuse it."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_cli_reports_bad_checkpoint_cleanly(tmp_path, env_with_data):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00" * 100)
    res = egno("evaluate", "--dataset", "nbody", "--checkpoint", str(bad), "--quiet",
               env=env_with_data, check=False)
    assert res.returncode != 0 and "not a readable EGNO checkpoint" in res.stderr
    assert "Traceback" not in res.stderr


def test_data_command_writes_splits(tmp_path, env_with_data):
    egno("data", "nbody", "--data-dir", str(tmp_path / "nb"), "--train", "4", "--val", "3",
         "--test", "2", "--quiet", env=env_with_data)
    assert {p.name for p in (tmp_path / "nb").iterdir()} >= {"train.npz", "val.npz", "test.npz",
                                                             "card.json"}
    shutil.rmtree(tmp_path / "nb")


def test_diverged_training_stops_and_never_ships_nan_weights(tiny_nbody, tmp_path, monkeypatch):
    """A NaN training loss ends the run at once (it would stay NaN for every later epoch): with
    weights that scored on validation before it, those are written and the card says it
    diverged; with none, nothing is written and the error says what to try."""
    import egno.run.train as training

    real_epoch = training._train_epoch

    def nan_from(epoch_number):
        def patched(model, opt, w, cfg, epoch, *rest, **kw):
            if epoch + 1 >= epoch_number:
                return float("nan"), 2  # (loss, steps skipped): every step of the epoch
            return real_epoch(model, opt, w, cfg, epoch, *rest, **kw)
        return patched

    mc, tc = preset("nbody", "egnn-s")
    mc.hidden, mc.layers = 16, 2
    tc.batch_size, tc.eval_every, tc.epochs, tc.max_train = 20, 1, 10, 40
    monkeypatch.setattr(training, "_train_epoch", nan_from(3))
    path = training.train("nbody", mc, tc, tmp_path / "late", tiny_nbody, "cpu", progress=False)
    card = load_checkpoint(path).card
    assert card["stop_reason"] == "diverged: non-finite training loss in epoch 3"
    assert card["best_epoch"] == 2 and card["epochs_run"] == 3
    assert card["history"][-1]["skipped_steps"] == 2
    assert all(torch.isfinite(p).all() for p in load_checkpoint(path).model.parameters())
    monkeypatch.setattr(training, "_train_epoch", nan_from(1))
    with pytest.raises(training.TrainingDiverged, match="no checkpoint written"):
        training.train("nbody", mc, tc, tmp_path / "early", tiny_nbody, "cpu", progress=False)
    assert not (tmp_path / "early" / "egnn-s.pt").exists()


def test_configs_written_before_a_key_existed_read_as_what_was_trained():
    """vector_conv_init arrived after the first checkpoints: an old EGNO config (no still_start)
    was trained from the random start, every other old config gets the default (run states
    resume through the same from_dict, so one written then still matches today's config)."""
    from egno.nn.config import ModelConfig

    def legacy(dataset, model):
        return {k: v for k, v in preset(dataset, model)[0].to_dict().items() if k != "vector_conv_init"}

    assert ModelConfig.from_dict(legacy("nbody", "egno")).vector_conv_init == "random"
    assert ModelConfig.from_dict(legacy("protein", "egno")) == preset("protein", "egno")[0]
    assert ModelConfig.from_dict(legacy("nbody", "egnn")) == preset("nbody", "egnn")[0]
    with pytest.raises(AssertionError):
        ModelConfig.from_dict({**legacy("nbody", "egno"), "vector_conv_init": "ones"})


class _Blowup(torch.nn.Module):
    """Predicts x · w for every target time, and inf for any batch that holds node 0's sample."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))

    def forward(self, batch):
        out = (batch.x * self.w).expand(batch.target.shape[0], -1, -1)
        return out * float("inf") if self.poison(batch) else out

    poison = staticmethod(lambda batch: False)


def test_a_step_with_non_finite_gradients_is_skipped_and_the_weights_stay_finite(tiny_nbody):
    from egno.nn.config import TrainConfig
    from egno.data import get_dataset
    from egno.run.train import _train_epoch

    w = get_dataset("nbody", tiny_nbody).load("train").select(torch.arange(40))
    first = w.x[:5].clone()  # sample 0's nodes: the batch that holds them gives inf
    model = _Blowup()
    model.poison = lambda batch: any(torch.equal(batch.x[i:i + 5], first) for i in range(0, len(batch.x), 5))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    cfg = TrainConfig(batch_size=10, seed=0)
    loss, skipped = _train_epoch(model, opt, w, cfg, 0, 0, 1, torch.device("cpu"))
    assert skipped == 1 and torch.isfinite(torch.tensor(loss)) and torch.isfinite(model.w).all()
    assert model.w.item() != 1.0  # the three other steps updated it
    model.poison = lambda batch: True  # every step non-finite: the epoch reports divergence
    loss, skipped = _train_epoch(model, opt, w, cfg, 1, 0, 1, torch.device("cpu"))
    assert skipped == 4 and loss != loss


def test_edge_length_loss_ignores_rigid_motion_and_measures_a_shrunk_shape():
    from egno.run.train import edge_length_loss

    g = torch.Generator().manual_seed(0)
    truth = torch.randn(3, 6, 3, generator=g, dtype=torch.float64)
    edges = torch.tensor([[0, 1, 2, 3, 0, 5], [1, 2, 3, 4, 5, 2]])
    q, _ = torch.linalg.qr(torch.randn(3, 3, generator=g, dtype=torch.float64))
    turned = truth @ q.T + torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    assert edge_length_loss(turned, truth, edges).item() == pytest.approx(0.0, abs=1e-20)
    centre = truth.mean(dim=1, keepdim=True)
    shrunk = centre + 0.9 * (truth - centre)  # the average over turns: every length times 0.9
    lengths = (truth[:, edges[0]] - truth[:, edges[1]]).norm(dim=-1)
    assert edge_length_loss(shrunk, truth, edges).item() == pytest.approx(((0.1 * lengths) ** 2).mean().item())
    gone = truth.clone()
    gone[2, 4] = float("nan")  # past a trajectory's end: node 4's edge at frame 2 is left out
    kept = torch.ones_like(lengths, dtype=torch.bool)
    kept[2, 3] = False
    assert edge_length_loss(shrunk, gone, edges).item() == pytest.approx(((0.1 * lengths[kept]) ** 2).mean().item())


def test_shape_loss_adds_to_the_training_loss_and_reaches_the_config(tiny_nbody):
    from egno.__main__ import parser, train_configs
    from egno.data import collate, get_dataset
    from egno.nn.config import TrainConfig
    from egno.run.train import _loss_fn, edge_length_loss

    args = ["train", "--dataset", "md17/benzene", "--model", "egno"]
    assert train_configs(parser().parse_args(args))[1].shape_loss == 0.0
    assert train_configs(parser().parse_args(args + ["--shape-loss", "0.5"]))[1].shape_loss == 0.5
    assert _loss_fn(TrainConfig(), chained=False) is None  # plain MSE, as before
    with pytest.raises(ValueError, match="shape-loss"):
        _loss_fn(TrainConfig(shape_loss=1.0, nll_beta=0.5), chained=False)
    w = get_dataset("nbody", tiny_nbody).load("train")
    batch = collate(w, torch.arange(4))
    torch.manual_seed(0)
    model = build_model(preset("nbody", "egno")[0]).eval()
    with torch.no_grad():
        pred = model(batch)
        mse = ((pred - batch.target) ** 2).mean()
        shape = edge_length_loss(pred, batch.target, batch.edge_index)
        loss = _loss_fn(TrainConfig(shape_loss=0.5), chained=False)(model, batch)
        chained = _loss_fn(TrainConfig(shape_loss=0.5, chain_windows=2), chained=True)(model, batch)
    assert shape > 0 and loss.item() == pytest.approx((mse + 0.5 * shape).item(), rel=1e-6)
    assert chained.item() == pytest.approx(loss.item(), rel=1e-6)  # one window: the same terms


def test_gyration_ratio_per_window_and_per_segment():
    """A prediction shrunk by 0.9 about its centre reads 0.9 in every window; per segment the
    windows' mean (the pick of a shape-loss weight reads its spread over validation segments)."""
    import numpy as np

    from egno.data import Windows
    from egno.run.evaluate import gyration_ratio, segment_scores, window_gyration

    g = torch.Generator().manual_seed(1)
    target = torch.randn(2, 12, 3, generator=g)  # P = 2 frames, 3 windows of 4 nodes
    ptr = torch.tensor([0, 4, 8, 12])
    shrink = torch.tensor([0.9, 0.8, 1.0]).repeat_interleave(4)[:, None]
    centre = torch.cat([target[-1, a:a + 4].mean(0, keepdim=True).expand(4, 3) for a in (0, 4, 8)])
    pred = target.clone()
    pred[-1] = centre + shrink * (target[-1] - centre)
    assert window_gyration(pred, target, ptr).tolist() == pytest.approx([0.9, 0.8, 1.0], rel=1e-6)
    assert gyration_ratio(pred, target, ptr) == pytest.approx(0.9, rel=1e-6)

    class Fixed(torch.nn.Module):  # predicts the shrunk frames whatever the input
        def forward(self, batch):
            return pred

    w = Windows(h=torch.ones(12, 1), x=target[0], v=torch.zeros(12, 3), edge_index=torch.zeros(2, 0, dtype=torch.long),
                edge_attr=torch.zeros(0, 1), node_ptr=ptr, edge_ptr=torch.zeros(4, dtype=torch.long), target=target,
                t=torch.tensor([0.5, 1.0]), window=1.0)
    _, got = segment_scores(Fixed(), w, np.array([0, 0, 1]), batch_size=3)
    assert got.tolist() == pytest.approx([0.85, 1.0], rel=1e-6)
