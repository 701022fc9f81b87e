"""How well can a tumbling molecule's rotation be carried analytically? On MMFF94 segments that keep
their thermal angular momentum (``--rotation thermal``), the heavy atoms' input frame is moved to
the end of the 1500 fs window by rigid rotation alone, three ways, and scored against the true
final frame (heavy-atom F-MSE, Å²) beside standing still:

- constant ω = I⁻¹L from the heavy atoms' positions and velocities;
- constant ω from all atoms;
- a free rigid body with all atoms' L conserved (egno.data.rigid, what the app does).

    .venv/bin/python scripts/experiments/rotation_carry.py            # four molecules, 3 segments each
"""
from __future__ import annotations

import argparse

import numpy as np
from scipy.spatial.transform import Rotation

from egno.data import rigid
from egno.data.md17_sim import MOLECULES, STRIDE, TIMESTEP_FS, WINDOW_STEPS, simulate_segment

AHEAD = WINDOW_STEPS // STRIDE   # stored frames per window
WINDOW_FS = WINDOW_STEPS * TIMESTEP_FS


def turned(x: np.ndarray, R: np.ndarray, centre: np.ndarray) -> np.ndarray:
    return (x - centre) @ R.T + centre


def scores(name: str, segments: int, starts: int) -> dict:
    """Mean heavy-atom F-MSE of each way over ``starts`` windows of each of ``segments`` segments."""
    out: dict = {"no motion": [], "constant ω, heavy atoms": [], "constant ω, all atoms": [],
                 "free rigid body, all atoms": []}
    for seed in range(segments):
        seg = simulate_segment(MOLECULES[name], "mmff", seed, AHEAD + 30 + 20 * starts, rotation="thermal")
        pos, vel, m, z = seg["positions"], seg["velocities"], seg["masses"], seg["z"]
        h = z > 1
        for k in range(30, 30 + 20 * starts, 20):
            x, truth = pos[k][h], pos[k + AHEAD][h]
            centre = (m[h, None] * x).sum(0) / m[h].sum()
            heavy = rigid.rigid_motion(x, vel[k][h], m[h])
            full = rigid.rigid_motion(pos[k], vel[k], m)
            ways = {"no motion": x,
                    "constant ω, heavy atoms": turned(x, Rotation.from_rotvec(heavy.omega()[0] * WINDOW_FS).as_matrix(),
                                                      centre),
                    "constant ω, all atoms": turned(x, Rotation.from_rotvec(full.omega()[0] * WINDOW_FS).as_matrix(),
                                                    full.centre[0]),
                    "free rigid body, all atoms": turned(x, full.rotations(np.array([WINDOW_FS]))[0, 0],
                                                         full.centre[0])}
            for way, end in ways.items():
                out[way].append(float(((end - truth) ** 2).mean()))
    return {way: float(np.mean(v)) for way, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("molecules", nargs="*", default=["ethanol", "toluene", "naphthalene", "aspirin"])
    ap.add_argument("--segments", type=int, default=3)
    ap.add_argument("--starts", type=int, default=19, help="windows per segment")
    a = ap.parse_args()
    rows = {name: scores(name, a.segments, a.starts) for name in a.molecules}
    ways = list(next(iter(rows.values())))
    print("| molecule | " + " | ".join(ways) + " |")
    print("|---|" + "---|" * len(ways))
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(f"{row[w]:.4f}" for w in ways) + " |")


if __name__ == "__main__":
    main()
