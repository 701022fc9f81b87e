"""A tumbling molecule's rotation: split off its input, carried onto the prediction (egno.data.rigid)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from egno.data import rigid
from egno.data.md17 import carry_rotation, molecule_windows

pytest.importorskip("rdkit")

DT = 7.5          # fs between stored frames
START = 20        # input frame of the test window
PER_TARGET = 25   # frames between targets: 8 targets span 200 frames = 1500 fs


@pytest.fixture(scope="module")
def aspirin():
    """A rotation-free MMFF94 aspirin segment (all atoms, 7.5 fs apart) and its masses."""
    from egno.data.md17_sim import MOLECULES, simulate_segment

    seg = simulate_segment(MOLECULES["aspirin"], "mmff", 11, START + 8 * PER_TARGET + 12)
    return seg["positions"], seg["z"], seg["masses"]


def steady_turn(pos, masses, turns_per_window: float):
    """Every frame turned about the centre of mass at a constant ω along the axis of largest
    inertia (a free body turns steadily about it), ``turns_per_window`` rad per 1500 fs."""
    motion = rigid.rigid_motion(pos[0], np.zeros_like(pos[0]), masses)
    axis = np.linalg.eigh(motion.inertia[0])[1][:, -1]
    omega = axis * turns_per_window / 1500.0
    c = motion.centre[0]
    turns = Rotation.from_rotvec(np.outer(np.arange(len(pos)) * DT, omega)).as_matrix()
    return np.einsum("kij,knj->kni", turns, pos - c) + c, omega, c


def windows(pos, z):
    w = molecule_windows(pos, np.gradient(pos, DT, axis=0), z, [START], PER_TARGET, 8)
    return carry_rotation(w, pos, z, DT, [START])


def test_free_rotation_about_a_principal_axis_is_steady():
    inertia = np.diag([1.0, 2.0, 3.0])
    omega = np.array([0.0, 0.0, 0.004])
    turns = rigid.free_rotation(inertia, inertia @ omega, np.array([100.0, 500.0, 1500.0]))
    want = Rotation.from_rotvec(np.outer([100.0, 500.0, 1500.0], omega)).as_matrix()
    np.testing.assert_allclose(turns, want, atol=1e-9)


def test_free_rotation_conserves_the_angular_momentum_of_a_tumbling_body():
    """Off its principal axes ω wanders, but L = R I₀ Rᵀ ω stays where it was."""
    inertia, L = np.diag([1.0, 2.0, 3.0]), np.array([0.003, 0.002, 0.005])
    for R in rigid.free_rotation(inertia, L, np.linspace(100, 3000, 8)):
        omega = R @ np.linalg.inv(inertia) @ R.T @ L
        np.testing.assert_allclose(R @ inertia @ R.T @ omega, L, atol=1e-6)
        np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-9)


def test_a_rotation_free_window_is_left_exactly_as_it_was(aspirin):
    pos, z, _ = aspirin
    plain = molecule_windows(pos, np.gradient(pos, DT, axis=0), z, [START], PER_TARGET, 8)
    w = windows(pos, z)
    assert w.spin is None and w.meta["turn_rad"][0] < rigid.CARRY_MIN_ANGLE
    for key in ("x", "v", "h", "target", "edge_attr"):
        assert torch.equal(getattr(w, key), getattr(plain, key)), key


def test_a_steadily_turned_window_is_predicted_turned(aspirin):
    """The same molecule turned at a known ω: the velocities the model reads are the unturned
    ones (turned), and the prediction follows the turn."""
    from egno.run.checkpoint import resolve_checkpoint
    from egno.run.evaluate import predict

    pos, z, masses = aspirin
    turned, omega, c = steady_turn(pos, masses, 1.5)
    still_w, turn_w = windows(pos, z), windows(turned, z)
    assert turn_w.spin is not None and turn_w.meta["turn_rad"][0] == pytest.approx(1.5, rel=0.02)
    R0 = Rotation.from_rotvec(omega * START * DT).as_matrix()
    np.testing.assert_allclose(turn_w.v.numpy(), still_w.v.numpy() @ R0.T, atol=2e-4)  # Å/fs, thermal ~0.01
    model = resolve_checkpoint("md17/aspirin", "egno").model
    pred, pred_turned = predict(model, still_w).double().numpy(), predict(model, turn_w).double().numpy()
    times = START * DT + still_w.t.double().numpy() * still_w.window
    want = np.einsum("pij,pnj->pni", Rotation.from_rotvec(np.outer(times, omega)).as_matrix(), pred - c) + c
    gap = ((pred_turned - want) ** 2).mean()
    no_motion = ((turn_w.x.numpy()[None] - turn_w.target.numpy()) ** 2).mean()
    own = ((pred - still_w.target.double().numpy()) ** 2).mean()  # the model's own error, unturned
    # ω and the velocities are read from the frames, so the two agree to a small part of the
    # model's own error and of the turn, not exactly
    assert gap < 0.05 * own and gap < 2e-3 * no_motion, (gap, own, no_motion)


def test_the_carried_rotation_turns_with_the_input(aspirin):
    """Turning and shifting the input of a spinning window turns and shifts its prediction."""
    from egno.run.checkpoint import resolve_checkpoint
    from egno.run.evaluate import predict
    from egno.service.inference import transform_windows
    from helpers import random_orthogonal

    pos, z, masses = aspirin
    w = windows(steady_turn(pos, masses, 2.0)[0], z)
    R, shift = random_orthogonal(3).numpy(), np.array([1.0, -2.0, 0.5])
    model = resolve_checkpoint("md17/aspirin", "egno").model
    moved = predict(model, transform_windows(w, R, shift)).double().numpy()
    np.testing.assert_allclose(moved, predict(model, w).double().numpy() @ R.T + shift, atol=2e-4)


def test_spin_travels_with_select_and_concat(aspirin):
    from egno.data import Windows

    pos, z, masses = aspirin
    spun, plain = windows(steady_turn(pos, masses, 2.0)[0], z), windows(pos, z)
    both = Windows.concat([plain, spun])
    assert len(both.spin) == 2 and not both.spin.angular_momentum[0].any()
    np.testing.assert_array_equal(both.select([1]).spin.angular_momentum, spun.spin.angular_momentum)


def test_an_uploaded_xyz_that_tumbles_is_carried(aspirin, tmp_path):
    """The Upload page's path: an XYZ with a time per frame, its turn read and the rotation carried
    (and nothing carried for the same molecule still)."""
    import ase
    import ase.io

    from egno.uploads.frames import Options, read_trajectory, upload_window

    pos, z, masses = aspirin
    for name, frames, turning in (("turned", steady_turn(pos, masses, 1.5)[0], True), ("still", pos, False)):
        path = tmp_path / f"{name}.xyz"
        ase.io.write(path, [ase.Atoms(numbers=z, positions=p, info={"time": k * DT}) for k, p in enumerate(frames)])
        w = upload_window("md17/aspirin", read_trajectory("md17/aspirin", str(path)), Options(start=START))
        assert (w.spin is not None) == turning and w.target is not None
        assert w.meta["turn_rad"][0] == (pytest.approx(1.5, rel=0.02) if turning else pytest.approx(0, abs=0.3))
    assert "carried analytically" in rigid.rotation_note(1.5) and "as it is" in rigid.rotation_note(0.1)
