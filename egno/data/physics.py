"""Physical checks per frame of a predicted trajectory, and when a rollout counts as diverged.

Each family gets the laws its data obey: N-body total momentum and energy (the simulator's
Coulomb system, egno/data/nbody.py: unit masses, F_i = Σ_j q_i q_j (x_i − x_j) / r³, so
U = ½ Σ_{i≠j} q_i q_j / r); molecules' bond lengths and angles against the truth; a skeleton's
bone lengths (bones are rigid); a protein's consecutive CA–CA distances (3.8 Å in a trans peptide).
Every check takes frames (F, N, 3) of one sample, frame 0 being the input state, and returns one
value per frame; ``first_broken`` says where any value first passes its limit. Each family's
``physical_checks`` picks its checks.
"""
from __future__ import annotations

import numpy as np

# The edge-feature columns the checks read (layouts in each family's module docstring).
NBODY_CHARGE_PRODUCT = 0  # nbody edge_attr: [q_i q_j, ‖Δx‖²]
MD17_BOND = 2             # md17 edge_attr: [z_i/10, z_j/10, bond, 2-hop, ‖Δx‖²]
MOCAP_BONE = 0            # mocap edge_attr: [bone, 2-hop, (d/10)²]
CA_CA = 3.8               # Å, consecutive CA atoms of a trans peptide
CA_CA_TOLERANCE = 0.5     # Å: a CA–CA distance further than this from 3.8 Å is a violation
BOND_OFF = 0.1            # Å: a bond further than this from the true length is "off"

# A rollout is diverged at the first frame where a check passes its limit (or is not finite).
# N-body drifts are relative (see nbody_checks); the true trajectory's own drift, measured with
# the same finite-difference velocities on the long test file, stays far below these.
LIMITS = {"momentum_drift": 0.5, "energy_drift": 20.0, "bonds_off": 0.5, "bone_drift": 0.2,
          "ca_violations": 0.5}
# Each check in words, and whether it spans decades (drawn on a log axis).
TITLES = {"momentum_drift": "momentum drift (relative)", "energy_drift": "energy drift (relative)",
          "bond_error": "bond length error (Å)", "angle_error": "bond angle error (°)",
          "bonds_off": "share of bonds off by > 0.1 Å", "bone_drift": "bone length drift (relative)",
          "ca_violations": "share of CA–CA off by > 0.5 Å", "ca_ca": "mean CA–CA distance (Å)"}
LOG_SCALE = ("momentum_drift", "energy_drift", "bond_error", "angle_error", "bone_drift")
NOT_FINITE = "not finite"


def divergence_rule() -> str:
    """The rule ``first_broken`` applies, in words."""
    limits = ", ".join(f"{TITLES[name]} above {limit:g}" for name, limit in LIMITS.items())
    return ("A rollout counts as diverged from the first frame where its prediction is not finite "
            f"or a physical check passes its limit ({limits}); from there it is left out of the "
            "means and counted apart.")


def frame_velocities(frames: np.ndarray, v0: np.ndarray, dt: float) -> np.ndarray:
    """Velocities (F, N, 3) of frames dt apart: the input's own at frame 0, central differences
    inside, a backward difference at the last frame."""
    if len(frames) < 2:
        return v0[None].copy()
    vel = np.gradient(frames, dt, axis=0)
    vel[0] = v0
    return vel


def nbody_checks(frames, v0, edge_index, charge_product, dt) -> dict[str, np.ndarray]:
    """Momentum drift ‖Σ v(t) − Σ v(0)‖ / Σ ‖v_i(0)‖ and energy drift |E(t) − E(0)| / (K(0) + |U(0)|),
    unit masses, velocities by ``frame_velocities``."""
    vel = frame_velocities(frames, v0, dt)
    momentum = vel.sum(1)  # F, 3
    scale = max(float(np.linalg.norm(v0, axis=-1).sum()), 1e-12)
    kinetic = 0.5 * (vel**2).sum((1, 2))
    r = np.linalg.norm(frames[:, edge_index[0]] - frames[:, edge_index[1]], axis=-1)  # F, E
    potential = 0.5 * (charge_product[None] / np.maximum(r, 1e-9)).sum(1)  # directed edges: ½
    energy = kinetic + potential
    return {"momentum_drift": np.linalg.norm(momentum - momentum[0], axis=-1) / scale,
            "energy_drift": np.abs(energy - energy[0]) / max(kinetic[0] + abs(potential[0]), 1e-12)}


def _lengths(frames, pairs):
    return np.linalg.norm(frames[:, pairs[0]] - frames[:, pairs[1]], axis=-1)


def bond_angles(bonds: np.ndarray) -> np.ndarray:
    """Triples (3, A) i–j–k of bonds sharing atom j (i < k), from undirected bonds (2, B)."""
    pairs = {tuple(sorted(b)) for b in bonds.T.tolist()}
    neighbours: dict[int, list[int]] = {}
    for a, b in pairs:
        neighbours.setdefault(a, []).append(b)
        neighbours.setdefault(b, []).append(a)
    triples = [(i, j, k) for j, ns in neighbours.items() for i in ns for k in ns if i < k]
    return np.array(triples, dtype=np.int64).reshape(-1, 3).T


def _angles(frames, triples):
    a = frames[:, triples[0]] - frames[:, triples[1]]
    b = frames[:, triples[2]] - frames[:, triples[1]]
    cos = (a * b).sum(-1) / np.maximum(np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1), 1e-12)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def molecule_checks(frames, reference, bonds) -> dict[str, np.ndarray]:
    """Against ``reference`` frames (the truth; where there is none, the input repeated): mean
    bond-length error (Å), mean bond-angle error (degrees), fraction of bonds off by > 0.1 Å."""
    bonds = np.unique(np.sort(bonds, axis=0), axis=1)
    err = np.abs(_lengths(frames, bonds) - _lengths(reference, bonds))
    triples = bond_angles(bonds)
    angle = (np.abs(_angles(frames, triples) - _angles(reference, triples)).mean(1)
             if triples.shape[1] else np.zeros(len(frames)))
    return {"bond_error": err.mean(1), "angle_error": angle, "bonds_off": (err > BOND_OFF).mean(1)}


def skeleton_checks(frames, bones) -> dict[str, np.ndarray]:
    """Mean relative bone-length drift |L(t) − L(0)| / L(0) over the bones."""
    bones = np.unique(np.sort(bones, axis=0), axis=1)
    length = _lengths(frames, bones)
    return {"bone_drift": (np.abs(length - length[:1]) / np.maximum(length[:1], 1e-12)).mean(1)}


def ca_pairs(atom_names: list[str], resids) -> np.ndarray:
    """Consecutive CA atoms (2, C): CA of residue r and of residue r + 1."""
    ca = [i for i, name in enumerate(atom_names) if name == "CA"]
    resids = np.asarray(resids)
    pairs = [(a, b) for a, b in zip(ca, ca[1:]) if resids[b] - resids[a] == 1]
    return np.array(pairs, dtype=np.int64).reshape(-1, 2).T


def protein_checks(frames, pairs) -> dict[str, np.ndarray]:
    """Fraction of consecutive CA–CA distances more than 0.5 Å from 3.8 Å, and their mean distance."""
    d = _lengths(frames, pairs)
    return {"ca_violations": (np.abs(d - CA_CA) > CA_CA_TOLERANCE).mean(1), "ca_ca": d.mean(1)}


def first_broken(checks: dict[str, np.ndarray]) -> int | None:
    """The first frame at which a check passes its LIMITS entry or is not finite; None if none."""
    broken = broken_at(checks)
    return None if broken is None else broken[0]


def broken_at(checks: dict[str, np.ndarray]) -> tuple[int, str] | None:
    """(first frame, why) where a check is not finite (why: ``NOT_FINITE``) or passes its
    LIMITS entry (why: the check's name); None if never. Not finite wins a tie."""
    worst = None
    for name, values in checks.items():
        limit = LIMITS.get(name)
        for why, bad in ((NOT_FINITE, ~np.isfinite(values)),
                         (name, np.nan_to_num(values, nan=np.inf) > limit if limit is not None else None)):
            if bad is not None and bad.any():
                found = (int(np.argmax(bad)), why)
                if worst is None or found[0] < worst[0] or (found[0] == worst[0] and why == NOT_FINITE):
                    worst = found
    return worst
