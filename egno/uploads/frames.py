"""The one window the Upload page predicts from a user's trajectory (run inside the upload worker,
egno/uploads/worker.py, never in the server).

The family's ``read_trajectory`` reads a file (or pair) into an egno.data.trajectory.Trajectory:
the frame count, the time between frames when the file says it, and a way to get positions of a
range of frames. ``upload_window`` then builds the window the user asked for: its start frame,
the time between frames (the file's, or the user's), and the starting velocities (the file's,
differences of frames, or for one-frame files zero or thermal at a temperature, seeded).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from egno.data import get_dataset
from egno.data.base import DatasetFamily, Windows
from egno.data.long import long_times
from egno.data.mocap import resample
from egno.data.trajectory import Trajectory


@dataclass
class Options:
    """What the file does not say: the user's choices on the Upload page."""

    start: int = 0                 # input frame
    dt: float | None = None        # time between frames (family time unit); None: the file's or the default
    velocities: str = "zero"       # one-frame files: "zero" or "thermal"
    temperature: float = 300.0     # K (particles: simulation units, kT with unit masses)
    seed: int = 0


def read_trajectory(dataset: str, arg: str) -> Trajectory:
    """The user's file(s) as a Trajectory (``arg``: one path, or 'first,second' for a pair)."""
    return get_dataset(dataset).read_trajectory(arg)


def frame_spacing(traj: Trajectory, family: DatasetFamily, options: Options) -> tuple[float, str]:
    """The time between frames used, and where it comes from: 'you', 'the file' or 'the default'."""
    if options.dt:
        return float(options.dt), "you"
    if traj.dt:
        return float(traj.dt), "the file"
    return family.frame_dt, "the default"


def step_speeds(traj: Trajectory, limit: int = 600) -> list[float]:
    """Largest node displacement between consecutive frames (length units per frame), for the
    first ``limit`` frames: speeds implied by a frame spacing are these divided by it."""
    n = min(traj.frames, limit)
    if n < 2:
        return []
    pos = traj.positions(0, n)
    return np.linalg.norm(np.diff(pos, axis=0), axis=-1).max(-1).tolist()


def upload_window(dataset: DatasetFamily | str, traj: Trajectory, options: Options, timesteps: int | None = None,
                  windows: int = 1) -> Windows:
    """The window from ``options.start`` with targets where the file has frames at the window's
    times; velocities from the file, else differences of frames, else zero or thermal. With
    ``windows`` K > 1: times 1/P, 2/P, ..., K (fractions of ΔT, as egno.data.long) and the target
    (K·P, N, 3) NaN where the file has no frame (a chained rollout's truth)."""
    family = get_dataset(dataset) if isinstance(dataset, str) else dataset
    p = timesteps or family.default_timesteps
    start = int(options.start)
    if not 0 <= start < traj.frames:
        raise ValueError(f"start frame {start} is not in the file's {traj.frames} frames")
    dt, dt_from = frame_spacing(traj, family, options)
    window, rate = family.window, family.frame_rate
    per_target = window / p / dt
    lo = max(start - 1, 0)
    if rate and abs(dt * rate - 1) > 1e-3:  # resampled to the family's frame rate
        hi = min(traj.frames, start + int(np.ceil(window * windows / dt)) + 2)
        pos, offset = resample(traj.positions(start, hi), dt), 0
        step, per_target = 1 / rate, window / p * rate
    else:
        whole = abs(per_target - round(per_target)) < 1e-3 and round(per_target) >= 1
        need = round(per_target) * p * windows if whole else 1
        hi = min(traj.frames, start + need + 1)
        pos, offset, step = traj.positions(lo, hi), start - lo, dt
    n = len(pos)
    whole = abs(per_target - round(per_target)) < 1e-3 and round(per_target) >= 1
    target = None
    if windows > 1:
        picks = [offset + round(per_target) * k if whole else n for k in range(1, p * windows + 1)]
        target = np.stack([pos[i] if i < n else np.full(pos.shape[1:], np.nan) for i in picks])
    elif whole and offset + round(per_target) * p < n:
        target = np.stack([pos[offset + round(per_target) * k] for k in range(1, p + 1)])
    x0 = pos[offset]
    note = None
    if traj.velocities is not None:
        v0, how = traj.velocities[start], "the file's velocities"
    elif n >= 2:
        a, b = max(offset - 1, 0), min(offset + 1, n - 1)
        v0, how = (pos[b] - pos[a]) / ((b - a) * step), "differences of neighbouring frames"
    elif options.velocities == "thermal" and traj.masses is not None and family.thermal_start:
        v0 = family.thermal_velocities(traj.masses, options.temperature, options.seed)
        how = f"thermal at {options.temperature:g} {family.temperature_unit} (seed {options.seed})"
        note = ("The file has one frame, so the starting velocities are a random thermal draw at "
                f"{options.temperature:g} {family.temperature_unit} (seed {options.seed}): "
                "another seed gives another future.")
    else:
        v0, how = np.zeros_like(x0), "zero"
        note = ("The file has one frame, so the prediction starts from rest (zero velocities): "
                "it shows where the forces alone take the system.")
    w = traj.build(np.asarray(x0, dtype=np.float64), np.asarray(v0, dtype=np.float64), target, p * windows,
                   start=start, dt=dt)
    if windows > 1:
        import torch

        w = replace(w, t=torch.as_tensor(long_times(windows, p), dtype=torch.float32))
    speed = float(np.linalg.norm(v0, axis=-1).max()) if len(v0) else 0.0
    w.meta.update(traj.meta, frames=traj.frames, nodes=int(w.x.shape[0]), start=start, dt=dt,
                  dt_from=dt_from, velocities=how, velocity_note=note, speed=speed)
    if traj.prediction:
        w.meta["prediction_of"] = traj.prediction
    return w


def speed_warning(family: DatasetFamily, speed: float, dt: float, unit: str) -> str | None:
    """A sentence when the fastest node moves faster than is plausible for the family."""
    limit, why = family.max_speed
    if speed <= limit:
        return None
    return (f"At {dt:g} {unit} between frames the fastest node moves at {speed:.3g} length units per "
            f"{unit}, over {limit:g} ({why}): the time between frames is probably wrong, and the "
            "prediction will be too.")
