"""A molecule's rigid rotation, split off its input state and carried analytically.

A user's trajectory often tumbles (a thermostat or a thermal start leaves angular momentum), while
the molecule models learn rotation-free dynamics. The input state's angular momentum L about the
centre of mass (all atoms: the heavy atoms alone miss what the hydrogens carry) is taken out of the
velocities the model reads (ω = I⁻¹L removed), the model predicts the internal motion, and each
predicted frame is turned about the moving centre of mass by the rotation of a free rigid body with
that L (L conserved, ω = I(t)⁻¹L; a constant ω would drift off for an asymmetric molecule).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

# below this turn over one window (rad) an input counts as not rotating and is left exactly as it
# is: a rotation-free molecule's angular momentum read from frame differences is not quite zero
CARRY_MIN_ANGLE = 0.3
MAX_STEP_ANGLE = 0.01   # rad per integration step of the free rotation
SPAN = 10               # frames either side whose angular momenta are averaged (L is conserved)


@dataclass
class RigidMotion:
    """The rigid motion of S samples at their input frame, all atoms, in the family's units.

    centre (S, 3) and velocity (S, 3): centre of mass and its velocity; angular_momentum (S, 3)
    about it (mass × length² / time); inertia (S, 3, 3) about it. A sample with zero angular
    momentum is left as the model predicts it.
    """

    centre: np.ndarray
    velocity: np.ndarray
    angular_momentum: np.ndarray
    inertia: np.ndarray

    def __len__(self) -> int:
        return len(self.centre)

    def select(self, index) -> "RigidMotion":
        index = np.asarray(index, dtype=np.int64)
        return RigidMotion(self.centre[index], self.velocity[index], self.angular_momentum[index],
                           self.inertia[index])

    @staticmethod
    def concat(parts: list["RigidMotion"]) -> "RigidMotion":
        return RigidMotion(*(np.concatenate([getattr(p, k) for p in parts])
                             for k in ("centre", "velocity", "angular_momentum", "inertia")))

    def moved(self, R: np.ndarray, shift=(0.0, 0.0, 0.0)) -> "RigidMotion":
        """The same motion seen after rotating the samples by R (3×3) about the origin and shifting
        them (shift (3,) or one per sample (S, 3))."""
        R = np.asarray(R, dtype=np.float64)
        return RigidMotion(self.centre @ R.T + np.asarray(shift), self.velocity @ R.T,
                           self.angular_momentum @ R.T, R @ self.inertia @ R.T)

    def omega(self) -> np.ndarray:
        """Angular velocity (S, 3) at the input, rad per time unit."""
        return np.stack([np.linalg.lstsq(i, L, rcond=None)[0]
                         for i, L in zip(self.inertia, self.angular_momentum)])

    def turn_angle(self, window: float) -> np.ndarray:
        """How far (rad) each sample turns in ``window`` at its input angular velocity."""
        return np.linalg.norm(self.omega(), axis=-1) * window

    def rotations(self, times: np.ndarray) -> np.ndarray:
        """Rotation (S, P, 3, 3) of each free rigid body from the input to each time (P,)."""
        times = np.asarray(times, dtype=np.float64)
        out = np.tile(np.eye(3), (len(self), len(times), 1, 1))
        for s in range(len(self)):
            if np.any(self.angular_momentum[s]):
                out[s] = free_rotation(self.inertia[s], self.angular_momentum[s], times)
        return out

    def advanced(self, time: float) -> "RigidMotion":
        """The motion ``time`` later: the centre moved on, the body (and its inertia) turned."""
        turns = self.rotations(np.array([time]))[:, 0]
        return RigidMotion(self.centre + time * self.velocity, self.velocity, self.angular_momentum,
                           turns @ self.inertia @ turns.transpose(0, 2, 1))

    def internal_velocities(self, x: np.ndarray, v: np.ndarray, node_ptr: np.ndarray) -> np.ndarray:
        """Velocities v (N, 3) of nodes at x, samples back to back at ``node_ptr``, less each
        sample's rigid rotation ω × (x − centre)."""
        out = np.array(v, dtype=np.float64)
        for s, w in enumerate(self.omega()):
            nodes = slice(int(node_ptr[s]), int(node_ptr[s + 1]))
            out[nodes] -= np.cross(w, x[nodes] - self.centre[s])
        return out

    def carry(self, pred: np.ndarray, node_ptr: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Predicted internal motion (P, N, 3), samples back to back at ``node_ptr``, turned by each
        sample's free rotation about its centre of mass moving at constant velocity."""
        out = np.array(pred, dtype=np.float64)
        turns = self.rotations(times)
        for s in range(len(self)):
            if not np.any(self.angular_momentum[s]):
                continue
            nodes = slice(int(node_ptr[s]), int(node_ptr[s + 1]))
            centre = self.centre[s] + np.outer(times, self.velocity[s])[:, None, :]  # (P, 1, 3)
            out[:, nodes] = np.einsum("pij,pnj->pni", turns[s], out[:, nodes] - centre) + centre
        return out


def free_rotation(inertia: np.ndarray, L: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Rotations (P, 3, 3) of a free rigid body with inertia tensor ``inertia`` at time 0 and
    conserved angular momentum L, from time 0 to each of ``times`` (midpoint steps on SO(3))."""
    inv0 = np.linalg.pinv(inertia)
    R, now, out = np.eye(3), 0.0, []
    for t in times:
        span = float(t) - now
        rate = np.linalg.norm(R @ inv0 @ R.T @ L)
        steps = max(1, int(np.ceil(abs(span) * rate / MAX_STEP_ANGLE)))
        dt = span / steps
        for _ in range(steps):
            half = Rotation.from_rotvec(R @ inv0 @ R.T @ L * dt / 2).as_matrix() @ R
            R = Rotation.from_rotvec(half @ inv0 @ half.T @ L * dt).as_matrix() @ R
        now = float(t)
        out.append(R)
    return np.array(out)


def rigid_motion(x: np.ndarray, v: np.ndarray, masses: np.ndarray, L: np.ndarray | None = None) -> RigidMotion:
    """The rigid motion (one sample) of atoms at x (N, 3) moving at v (N, 3); ``L`` replaces the
    angular momentum read from them (e.g. an average over frames)."""
    m = np.asarray(masses, dtype=np.float64)
    x, v = np.asarray(x, dtype=np.float64), np.asarray(v, dtype=np.float64)
    centre = (m[:, None] * x).sum(0) / m.sum()
    r = x - centre
    inertia = (m * (r ** 2).sum(1)).sum() * np.eye(3) - np.einsum("n,ni,nj->ij", m, r, r)
    velocity = (m[:, None] * v).sum(0) / m.sum()
    L = angular_momentum(x, v, m) if L is None else np.asarray(L, dtype=np.float64)
    return RigidMotion(centre[None], velocity[None], L[None], inertia[None])


def angular_momentum(x: np.ndarray, v: np.ndarray, masses: np.ndarray) -> np.ndarray:
    """Angular momentum (3,) about the centre of mass of atoms at x (N, 3) moving at v (N, 3)."""
    r = x - (masses[:, None] * x).sum(0) / masses.sum()
    return (masses[:, None] * np.cross(r, v - (masses[:, None] * v).sum(0) / masses.sum())).sum(0)


def mean_angular_momentum(pos: np.ndarray, dt: float, masses: np.ndarray, start: int) -> np.ndarray:
    """Angular momentum (3,) averaged over the frames up to SPAN either side of ``start`` that
    have neighbours on both sides, each from its central-difference velocities: L is conserved,
    so the average keeps it while the differences' error from fast vibrations averages out."""
    frames = range(max(start - SPAN, 1), min(start + SPAN, len(pos) - 2) + 1)
    if not frames:
        raise ValueError("the angular momentum needs at least three frames")
    m = np.asarray(masses, dtype=np.float64)
    return np.mean([angular_momentum(pos[k], (pos[k + 1] - pos[k - 1]) / (2 * dt), m) for k in frames], axis=0)


def split_rotation(x: np.ndarray, v: np.ndarray, motion: RigidMotion,
                   window: float) -> tuple[np.ndarray, RigidMotion | None]:
    """Velocities v (N, 3) of the atoms at x (any subset, e.g. the heavy atoms) less the rigid
    rotation of ``motion`` (one sample), and the motion to carry; v unchanged and None when the
    motion turns the molecule by less than CARRY_MIN_ANGLE in ``window``."""
    if motion.turn_angle(window)[0] < CARRY_MIN_ANGLE:
        return v, None
    return v - np.cross(motion.omega()[0], x - motion.centre[0]), motion


def still(samples: int = 1) -> RigidMotion:
    """Samples with no rotation to carry (their predictions left as they are)."""
    zero = np.zeros((samples, 3))
    return RigidMotion(zero, zero.copy(), zero.copy(), np.tile(np.eye(3), (samples, 1, 1)))


def rotation_note(turn: float) -> str:
    """A sentence for the user on how a molecule's rotation of ``turn`` rad per window was handled."""
    if turn < CARRY_MIN_ANGLE:
        return (f"The molecule turns by {turn:.2f} rad per window at the input (its angular momentum, "
                f"all atoms, averaged over the frames around it): under {CARRY_MIN_ANGLE:g} rad, so it "
                "is predicted as it is.")
    return (f"The molecule turns by {turn:.2f} rad per window at the input (its angular momentum, all "
            "atoms, averaged over the frames around it). The models learned rotation-free molecules, so "
            "they predict the internal motion and the rotation is carried analytically: each predicted "
            "frame turned as a free rigid body with that angular momentum.")
