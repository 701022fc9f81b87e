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


def aligned_timesteps(family: DatasetFamily, dt: float, most: int = 40) -> list[int]:
    """The P (≤ ``most``) whose target times ΔT·k/P fall on frames ``dt`` apart (for a family
    that resamples to its frame rate, on the resampled frames): those where ΔT / (P dt) is whole."""
    step = 1 / family.frame_rate if family.frame_rate else dt
    n = family.window / step
    if not np.isfinite(n) or n < 1 or abs(n - round(n)) > 1e-6 * n:
        return []
    return [p for p in range(1, most + 1) if round(n) % p == 0]


def step_speeds(traj: Trajectory, family: DatasetFamily, limit: int = 600) -> tuple[list[float], list[str]]:
    """Largest displacement between consecutive frames (length units per frame) among the nodes
    the models read (heavy atoms for molecules), for the first ``limit`` frames, and which node
    moved it: speeds implied by a frame spacing are these divided by it."""
    n = min(traj.frames, limit)
    if n < 2:
        return [], []
    nodes = family.read_nodes(traj.meta)
    pos = traj.positions(0, n)
    step = np.linalg.norm(np.diff(pos if nodes is None else pos[:, nodes], axis=0), axis=-1)
    fastest = step.argmax(-1) if nodes is None else nodes[step.argmax(-1)]
    return step.max(-1).tolist(), [family.node_label(traj.meta, int(i)) for i in fastest]


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
        hi = min(traj.frames, start + int(np.ceil(per_target * p * windows)) + 2)
        pos, offset, step = traj.positions(lo, hi), start - lo, dt
    target, interpolated = truth_at(pos, offset, per_target, p * windows, partial=windows > 1)
    n = len(pos)
    x0 = pos[offset]
    note = None
    if traj.velocities is not None:
        v0, how = traj.velocities[start], "the file's velocities"
    elif n >= 2:
        a, b = max(offset - 1, 0), min(offset + 1, n - 1)
        v0 = (pos[b] - pos[a]) / ((b - a) * step)
        how = ("central differences of the frames either side" if b - a == 2 else
               "a forward difference (no frame before the input)" if a == offset else
               "a backward difference (no frame after the input)")
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
                  dt_from=dt_from, velocities=how, velocity_note=note, speed=speed,
                  truth_interpolated=interpolated)
    if traj.prediction:
        w.meta["prediction_of"] = traj.prediction
    return w


def truth_at(pos: np.ndarray, offset: int, per_target: float, count: int,
             partial: bool = False) -> tuple[np.ndarray | None, bool]:
    """The frames (count, N, 3) at ``offset + per_target · k`` (k = 1..count) of ``pos`` (F, N, 3):
    the file's own frames where the times fall on them, else linear interpolation between the two
    frames around each time; whether any was interpolated. Past the last frame: NaN when
    ``partial`` (a chained rollout's truth), else no truth at all (None)."""
    at = offset + per_target * np.arange(1, count + 1)
    exact = np.abs(at - np.round(at)) < 1e-3 * max(per_target, 1e-9)
    at = np.where(exact, np.round(at), at)
    have = at <= len(pos) - 1
    if per_target < 1:  # frames further apart than the targets: only those that fall on one
        have &= exact
    if not have.any() or not (partial or have.all()):
        return None, False
    below = np.clip(np.floor(at).astype(int), 0, len(pos) - 1)
    above = np.clip(below + 1, 0, len(pos) - 1)
    frac = (at - below)[:, None, None]
    out = pos[below] * (1 - frac) + pos[above] * frac
    out[~have] = np.nan
    return out, bool((~exact & have).any())


def failed_upload_prediction(family: DatasetFamily, out, meta: dict, unit: str) -> str | None:
    """Why an upload's prediction (a Prediction) cannot be shown, with the likely cause and the fix:
    not finite, or, where the file has no frames to score it against, run away (a node moved
    far beyond the system's size); None when it can be shown."""
    from egno.service.inference import runaway

    finite = bool(np.isfinite(out.pred).all())
    away = runaway(out) if finite and out.frame_mse is None else None
    if finite and away is None:
        return None
    limit, _ = family.max_speed
    speed, dt = float(meta.get("speed", 0.0)), float(meta["dt"])
    if speed > limit:
        cause = (f"its starting velocities come from frames {dt:g} {unit} apart ({meta['dt_from']}), which makes "
                 f"the fastest node move at {speed:.3g} length units per {unit}, over the plausible {limit:g}: "
                 "the time between frames is probably wrong. Set the interval the file was written with")
    elif meta.get("velocities", "").startswith("thermal"):
        cause = "its random thermal start is far from the data the model learned. Try another seed or zero"
    else:
        cause = (f"its input is unlike the data the model learned (velocities: {meta.get('velocities')}). Check "
                 "the time between frames and the start frame")
    what = "The prediction is not finite (NaN or inf): the model diverged on this input" if not finite \
        else away.rstrip(".")
    return f"{what}, so nothing is drawn or offered for download. Likely cause: {cause}."


def speed_warning(family: DatasetFamily, speed: float, dt: float, unit: str,
                  node: str = "the fastest node") -> str | None:
    """A sentence when the fastest node the models read moves faster than is plausible for the
    family; ``node`` names it."""
    limit, why = family.max_speed
    if speed <= limit:
        return None
    return (f"At {dt:g} {unit} between frames {node} moves at {speed:.3g} length units per "
            f"{unit}, over {limit:g} ({why}): the time between frames is probably wrong, and the "
            "prediction will be too.")
