"""A user's trajectory file as frames, before it becomes windows (the Upload page's reading, done
inside the upload worker): each family's ``read_trajectory`` returns one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from egno.data.base import Windows

MARKER = "egno prediction"  # how a file the app wrote says it holds a prediction
MASSES = {"H": 1.008, "C": 12.011, "N": 14.007, "O": 15.999, "S": 32.06}  # amu, by element


@dataclass
class Trajectory:
    """Frames of one system from a user's file (or pair of files)."""

    frames: int
    dt: float | None               # from the file, or None
    positions: Callable[[int, int], np.ndarray]  # frames [lo, hi) -> (hi - lo, N, 3)
    build: Callable[..., Windows]  # (x0, v0, target or None, timesteps, start=, dt=) -> one-sample Windows
    meta: dict = field(default_factory=dict)
    velocities: np.ndarray | None = None   # (T, N, 3) when the file gives them
    masses: np.ndarray | None = None        # amu, per node of the positions (thermal velocities)
    prediction: str | None = None           # the MARKER text when an app download is read back


def marker_line(text: str) -> str | None:
    """The 'egno prediction …' label in a file's text, or None."""
    low = text.lower()
    i = low.find(MARKER)
    return text[i:].splitlines()[0].split('"')[0].strip() if i >= 0 else None


def head_text(path: Path, n: int = 4096) -> str:
    """The first ``n`` bytes of a file as text."""
    with open(path, "rb") as f:
        return f.read(n).decode("utf-8", errors="replace")


def npz_marker(path: Path, key: str = "egno_prediction") -> str | None:
    """The label in a string array ``key`` of an npz (loaded without pickle), or None."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if key in f.files and f[key].dtype.kind == "U" and f[key].size <= 64:
                return marker_line(" ".join(str(s) for s in np.atleast_1d(f[key]))[:300])
    except Exception:
        return None
    return None


def from_array(pos: np.ndarray) -> Callable[[int, int], np.ndarray]:
    """``Trajectory.positions`` over frames already in memory."""
    return lambda lo, hi: pos[lo:hi]


def even_step(times: np.ndarray, name: str) -> float | None:
    """The constant time between frames at ``times``; ValueError when they are not even."""
    if len(times) < 2:
        return None
    steps = np.diff(times)
    if not (steps > 0).all() or np.ptp(steps) > 1e-4 * steps.max():
        raise ValueError(f"{name}: frame times must be evenly spaced and increasing")
    return float(steps.mean())
