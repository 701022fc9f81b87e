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


def test_aligned_timesteps_put_the_targets_on_the_files_frames():
    from egno import get_dataset
    from egno.uploads.frames import aligned_timesteps

    md17 = get_dataset("md17/aspirin")
    p = aligned_timesteps(md17, 5.0)  # ΔT = 1500 fs, frames 5 fs apart: 300 frames per window
    assert 8 not in p and p == [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 25, 30]
    assert all((md17.window / k / 5.0).is_integer() for k in p)
    assert aligned_timesteps(md17, 7.0) == []  # 214.28… frames per window: no P puts them on frames
    mocap = get_dataset("mocap/walk")  # resampled to its frame rate whatever the file's spacing
    assert aligned_timesteps(mocap, 1 / 120) == aligned_timesteps(mocap, 1 / 30)
    assert 5 in aligned_timesteps(mocap, 1 / 120)


@pytest.mark.parametrize("column", ["vel", "momenta"])
def test_xyz_velocities_are_read_in_angstrom_per_fs(tmp_path, column):
    import ase
    import ase.io
    from ase import units

    v = np.array([[0.01, -0.02, 0.005], [0.0, 0.003, -0.004], [0.002, 0.0, 0.0]])  # Å/fs
    images = []
    for k in range(3):
        atoms = ase.Atoms("COH", positions=np.array([[0, 0, 0], [1.2, 0, 0], [-0.9, 0.3, 0]]) + v * 10 * k)
        if column == "vel":
            atoms.arrays["vel"] = v.copy()
        else:
            atoms.set_velocities(v / units.fs)  # ASE's own unit of velocity
        atoms.info["time"] = 10.0 * k
        images.append(atoms)
    path = tmp_path / "moving.xyz"
    ase.io.write(path, images, format="extxyz")
    traj = read_trajectory("md17/all", str(path))
    assert traj.velocities is not None and np.allclose(traj.velocities[1], v, atol=1e-9)
    w = upload_window("md17/all", traj, Options(start=1))
    assert w.meta["velocities"] == "the file's velocities" and w.x.shape == (2, 3)  # heavy atoms
