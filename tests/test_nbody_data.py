"""The N-body simulator and family: determinism, protocol shapes and time stamps, user files."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from egno.data import get_dataset
from egno.data.nbody import (FINE_EVERY, INPUT_FRAME, SAVE_EVERY, WINDOW_FRAMES, NBody, simulate,
                             trajectory_windows)


def test_simulator_is_deterministic_per_seed():
    a, b, c = simulate(4, seed=11, steps=600), simulate(4, seed=11, steps=600), simulate(4, seed=12, steps=600)
    for key in ("loc", "vel", "charges"):
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.allclose(a["loc"], c["loc"])


def test_simulator_protocol_shapes_charges_and_speed():
    d = simulate(50, seed=0, steps=5000, fine_every=FINE_EVERY)
    assert d["loc"].shape == (50, 49, 5, 3) and d["vel"].shape == (50, 49, 5, 3)
    assert set(np.unique(d["charges"])) <= {-1.0, 1.0}
    # fine window: steps 3100..4100 every 10 -> 101 frames; its ends are saved frames 30 and 40
    assert d["fine_loc"].shape == (50, 101, 5, 3)
    np.testing.assert_array_equal(d["fine_loc"][:, 0], d["loc"][:, INPUT_FRAME])
    np.testing.assert_array_equal(d["fine_loc"][:, 100], d["loc"][:, INPUT_FRAME + WINDOW_FRAMES])
    np.testing.assert_array_equal(d["fine_loc"][:, 20], d["loc"][:, INPUT_FRAME + 2])


def test_simulator_time_stamps_match_its_integrator():
    """A saved frame k is the state after 100 (k+1) leapfrog steps of dt = 0.001."""
    one = simulate(1, seed=3, steps=200, save_every=100)  # frame 0 = after step 100
    fine = simulate(1, seed=3, steps=200, save_every=1)   # frame j = after step j + 1
    np.testing.assert_allclose(one["loc"][0, 0], fine["loc"][0, 99], rtol=1e-6)


def test_energy_is_nearly_conserved_without_close_encounters():
    d = simulate(20, seed=5, steps=2000, save_every=1)
    loc, vel, q = d["loc"].astype(np.float64), d["vel"].astype(np.float64), d["charges"].astype(np.float64)
    diff = loc[:, :, :, None] - loc[:, :, None, :]
    r = np.linalg.norm(diff, axis=-1) + np.eye(5)
    pot = 0.5 * (q[:, None, :, None] * q[:, None, None, :] / r * (1 - np.eye(5))).sum((-1, -2))
    energy = 0.5 * (vel ** 2).sum((-1, -2)) + pot
    calm = r.min(axis=(1, 2, 3)) > 0.3  # no close encounter (force clipping) in these systems
    drift = np.abs(energy[calm, -1] - energy[calm, 0]) / np.abs(energy[calm, 0]).clip(min=0.1)
    assert calm.sum() >= 5 and np.median(drift) < 0.02


def test_family_splits_and_resolutions(tiny_nbody):
    family = get_dataset("nbody", tiny_nbody)
    w = family.load("train")
    assert len(w) == 60 and w.timesteps == 5 and w.target.shape == (5, 300, 3)
    np.testing.assert_allclose(w.t.numpy(), [0.2, 0.4, 0.6, 0.8, 1.0], rtol=1e-6)
    assert w.edge_index.shape == (2, 60 * 20) and w.edge_attr.shape == (1200, 2)
    assert 50 in family.available_timesteps("test") and 50 not in family.available_timesteps("train")
    fine = family.load("test", 50)
    coarse = family.load("test", 5)
    np.testing.assert_array_equal(fine.target[9::10].numpy(), coarse.target.numpy())
    with pytest.raises(ValueError, match="ground truth for P in"):
        family.load("train", 50)


def test_missing_data_says_how_to_make_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m egno data nbody"):
        NBody(tmp_path / "nothing").load("test")


def write_csv(path, loc, charges, vel=None):
    rows = []
    for f in range(loc.shape[0]):
        for p in range(loc.shape[1]):
            row = {"frame": f, "particle": p, "x": loc[f, p, 0], "y": loc[f, p, 1],
                   "z": loc[f, p, 2], "charge": charges[p]}
            if vel is not None:
                row.update(vx=vel[f, p, 0], vy=vel[f, p, 1], vz=vel[f, p, 2])
            rows.append(row)
    pd.DataFrame(rows).to_csv(path, index=False)


def test_reads_csv_and_npz_trajectories(tmp_path):
    d = simulate(1, seed=2, steps=5000)
    loc, vel, q = d["loc"][0, INPUT_FRAME:INPUT_FRAME + 11], d["vel"][0, INPUT_FRAME:INPUT_FRAME + 11], d["charges"][0]
    write_csv(tmp_path / "traj.csv", loc, q, vel)
    np.savez(tmp_path / "traj.npz", loc=loc, vel=vel, charges=q)
    family = NBody(tmp_path)
    for name in ("traj.csv", "traj.npz"):
        w = family.read_file(tmp_path / name)
        assert len(w) == 1 and w.timesteps == 5
        np.testing.assert_allclose(w.target[-1].numpy(), loc[10], rtol=1e-5)
        np.testing.assert_allclose(w.v.numpy(), vel[0], rtol=1e-5)
    # without velocities: finite differences of the first two frames (0.1 time units apart)
    write_csv(tmp_path / "novel.csv", loc, q)
    w = family.read_file(tmp_path / "novel.csv")
    np.testing.assert_allclose(w.v.numpy(), (loc[1] - loc[0]) / (SAVE_EVERY * 0.001), rtol=1e-4)
    # only the input frame and velocities: no ground truth, still a prediction input
    assert trajectory_windows(loc[:1].astype(float), vel[:1], q, 5, "x").target is None


@pytest.mark.parametrize("content, message", [
    ("frame,particle,x,y\n0,0,1,2\n", "missing columns"),
    ("frame,particle,x,y,z,charge\n0,0,1,2,3,1\n0,1,1,2,nan,1\n", "NaN or inf"),
    ("frame,particle,x,y,z,charge\n0,0,1,2,3,1\n0,0,1,2,3,1\n", "one row per"),
    ("frame,particle,x,y,z,charge\n0,0,a,2,3,1\n", "non-numeric"),
    ("frame,particle,x,y,z,charge\n0,0,1,2,3,1\n2,0,1,2,3,1\n", "consecutive"),
    ("\x00\x01\x02binary", "missing columns|not a readable"),
])
def test_broken_csv_files_give_clear_errors(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        NBody(tmp_path).read_file(path)


def test_broken_npz_files_give_clear_errors(tmp_path):
    family = NBody(tmp_path)
    (tmp_path / "junk.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="junk.npz: not a readable npz archive") as e:
        family.read_file(tmp_path / "junk.npz")
    assert "pickle" not in str(e.value)  # numpy's own message would send users to allow_pickle
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(ValueError, match="empty.npz is empty"):
        family.read_file(tmp_path / "empty.npz")
    np.savez(tmp_path / "whole.npz", loc=np.zeros((3, 5, 3)), charges=np.ones(5))
    (tmp_path / "cut.npz").write_bytes((tmp_path / "whole.npz").read_bytes()[:200])
    with pytest.raises(ValueError, match="cut.npz: not a readable npz archive, it is damaged"):
        family.read_file(tmp_path / "cut.npz")
    np.savez(tmp_path / "nokeys.npz", positions=np.zeros((3, 5, 3)))
    with pytest.raises(ValueError, match="missing 'loc', 'charges' \\(it has 'positions'\\)"):
        family.read_file(tmp_path / "nokeys.npz")
    np.savez(tmp_path / "pickled.npz", loc=np.array([object()], dtype=object), charges=np.ones(5))
    with pytest.raises(ValueError, match="array 'loc' holds Python objects.*never unpickled"):
        family.read_file(tmp_path / "pickled.npz")
    np.savez(tmp_path / "shape.npz", loc=np.zeros((3, 5, 2)), charges=np.ones(5))
    with pytest.raises(ValueError, match="must be"):
        family.read_file(tmp_path / "shape.npz")
    with pytest.raises(ValueError, match="reads .csv or .npz"):
        family.read_file(tmp_path / "traj.pdb")


def test_too_many_particles_or_frames_are_refused(tmp_path):
    from egno.data.nbody import MAX_FRAMES, MAX_NODES

    np.savez(tmp_path / "big.npz", loc=np.zeros((2, MAX_NODES + 1, 3)), charges=np.ones(MAX_NODES + 1))
    with pytest.raises(ValueError, match="exceeds the limit"):
        NBody(tmp_path).read_file(tmp_path / "big.npz")
    np.savez(tmp_path / "long.npz", loc=np.zeros((MAX_FRAMES + 1, 3, 3)), charges=np.ones(3))
    with pytest.raises(ValueError, match="exceeds the limit"):
        NBody(tmp_path).read_file(tmp_path / "long.npz")


def test_extra_training_windows_come_from_the_same_trajectories(tiny_nbody):
    family = get_dataset("nbody", tiny_nbody)
    one, three = family.load("train"), family.load("train", starts=3)
    assert len(three) == 3 * len(one) and three.meta["input_frames"] == [29, 31]
    middle = three.select(range(len(one), 2 * len(one)))  # frame 30: the protocol's windows
    np.testing.assert_array_equal(middle.x.numpy(), one.x.numpy())
    np.testing.assert_array_equal(middle.target.numpy(), one.target.numpy())
    assert not np.allclose(three.select([0]).x.numpy(), one.select([0]).x.numpy())
