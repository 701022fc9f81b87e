"""The upload worker's equivariance and rollout modes (egno.uploads.checks through run_upload), and
the chained window they read (upload_window with several windows), on the particles example."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import ROOT
from egno.run.checkpoint import shipped_models
from egno.service.inference import rotation_from_euler
from egno.uploads.staging import stage_uploads
from egno.uploads.worker import run_upload
from egno.uploads.frames import Options, read_trajectory, upload_window

needs_models = pytest.mark.skipif(not {"egno", "gnn", "linear"} <= set(shipped_models("nbody")),
                                  reason="no shipped nbody checkpoints")
PARTICLES = [("particles.csv", (ROOT / "assets/samples/examples/particles.csv").read_bytes())]  # 11 frames, 0.1 apart


def test_several_windows_take_the_files_frames_and_nan_past_its_end(tmp_path):
    traj = read_trajectory("nbody", stage_uploads("nbody", PARTICLES, tmp_path)[0])
    one = upload_window("nbody", traj, Options(start=2), 5)
    three = upload_window("nbody", traj, Options(start=2), 5, windows=3)
    assert one.target is None  # frames 4, 6, 8, 10 but not 12: no whole window to score
    np.testing.assert_allclose(three.t.numpy(), np.arange(1, 16) / 5)
    have = torch.isfinite(three.target).all(-1).all(-1)
    assert have.tolist() == [True] * 4 + [False] * 11
    torch.testing.assert_close(three.target[:4], torch.as_tensor(traj.positions(4, 11)[::2], dtype=torch.float32))
    torch.testing.assert_close(three.x, one.x)
    torch.testing.assert_close(three.h, one.h)


@needs_models
def test_equivariance_mode_small_for_egno_large_for_gnn():
    r = run_upload("nbody", "egno", PARTICLES, mode="equivariance", options={"start": 0},
                   job={"rotation": rotation_from_euler(40, -25, 10).tolist(), "shift": [3.0, 0.0, -1.0],
                        "permute": True})
    assert r.ok, r.message
    assert list(r.job["checks"]) == ["egno", "gnn"] and r.meta["source"] == "particles.csv"
    assert r.job["checks"]["egno"]["max_dev"] < 1e-4 and r.job["checks"]["gnn"]["max_dev"] > 1e-2
    assert sorted(r.job["perm"]) == list(range(5)) and r.job["t"].shape == (5,)
    c = r.job["checks"]["egno"]
    assert c["pred_on_transformed"].shape == c["transformed_pred"].shape == (5, 5, 3)
    assert c["input"].dtype.kind == "f" and c["input"].shape == (5, 3)


@needs_models
def test_rollout_mode_is_scored_only_over_the_files_frames():
    r = run_upload("nbody", "egno", PARTICLES, mode="rollout", options={"start": 2}, job={"windows": 3})
    assert r.ok, r.message
    assert r.meta["start"] == 2 and r.job["timesteps"] == 5 and r.job["truth_frames"] == 4
    assert {"egno", "egnn-r", "linear"} <= set(r.job["runs"])
    assert np.isfinite(r.job["truth"][:4]).all() and np.isnan(r.job["truth"][4:]).all()
    for name, run in r.job["runs"].items():
        assert run["pred"].shape == (15, 5, 3) and np.isfinite(run["pred"]).all(), name
        assert np.isfinite(run["frame_mse"][:4]).all() and np.isnan(run["frame_mse"][4:]).all(), name
        assert set(run["checks"]) == {"momentum_drift", "energy_drift"}
        assert len(run["checks"]["momentum_drift"]) == 16  # the input, then 3 windows × P = 5
    # linear keeps its input velocity: the chain is exact constant velocity, ΔT = 1 a window
    linear = r.job["runs"]["linear"]["pred"]
    np.testing.assert_allclose(linear[14] - linear[4], 2 * (linear[4] - r.job["x"]), atol=1e-4)


def test_a_rollout_past_the_time_limit_suggests_fewer_windows():
    r = run_upload("nbody", "egno", PARTICLES, mode="rollout", options={"start": 0}, job={"windows": 20},
                   seconds=0.5)
    assert not r.ok and "took longer than 0.5 s" in r.message and "fewer windows" in r.message
