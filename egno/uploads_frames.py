"""A user's trajectory as frames, and the one window the Upload page predicts from it (run inside
the upload worker, egno/uploads.py, never in the server).

``read_trajectory`` reads a file (or pair) through the family's own readers and limits into a
``Trajectory``: the frame count, the time between frames when the file says it, and a way to get
positions of a range of frames. ``upload_window`` then builds the window the user asked for: its
start frame, the time between frames (the file's, or the user's), and for one-frame files the
starting velocities (zero, or thermal at a temperature, seeded).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from .data import get_dataset
from .data.base import Windows, uniform_times

# eV/amu in Å²/fs²: kT/m in these units gives the variance of one velocity component
EV_PER_AMU_A2_FS2 = 9.6485e-3
KB_EV = 8.617333e-5
# frame spacing a file is read at when it does not say (the family's own data)
DEFAULT_DT = {"points": 0.1, "molecule": 0.5, "skeleton": 1 / 120, "protein": 1.0}
# the fastest a node plausibly moves, in the family's length and time units, and why
MAX_SPEED = {
    "points": (5.0, "ten times the simulator's starting speed of 0.5"),
    "molecule": (0.06, "four times the thermal speed of a carbon atom at 1000 K (0.014 Å/fs)"),
    "protein": (60.0, "four times the thermal speed of a carbon atom at 1000 K (14 Å/ps)"),
    "skeleton": (270.0, "15 m/s, faster than a sprinter's foot (1 ASF unit ≈ 5.64 cm)"),
}
MASSES = {"H": 1.008, "C": 12.011, "N": 14.007, "O": 15.999, "S": 32.06}
MARKER = "egno prediction"  # how a file the app wrote says it holds a prediction


@dataclass
class Options:
    """What the file does not say: the user's choices on the Upload page."""

    start: int = 0                 # input frame
    dt: float | None = None        # time between frames (family time unit); None: the file's or the default
    velocities: str = "zero"       # one-frame files: "zero" or "thermal"
    temperature: float = 300.0     # K (particles: simulation units, kT with unit masses)
    seed: int = 0


@dataclass
class Trajectory:
    frames: int
    dt: float | None               # from the file, or None
    positions: Callable[[int, int], np.ndarray]  # frames [lo, hi) -> (hi - lo, N, 3)
    build: Callable[..., Windows]  # (x0, v0, target or None, timesteps) -> one-sample Windows
    meta: dict = field(default_factory=dict)
    velocities: np.ndarray | None = None   # (T, N, 3) when the file gives them
    masses: np.ndarray | None = None        # amu, per node of the positions (thermal velocities)
    prediction: str | None = None           # the MARKER text when an app download is read back


def _marker_line(text: str) -> str | None:
    low = text.lower()
    i = low.find(MARKER)
    return text[i:].splitlines()[0].split('"')[0].strip() if i >= 0 else None


def _head(path: Path, n: int = 4096) -> str:
    with open(path, "rb") as f:
        return f.read(n).decode("utf-8", errors="replace")


def _npz_text(path: Path, key: str) -> str | None:
    """A string array ``key`` of an npz (loaded without pickle), or None."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if key in f.files and f[key].dtype.kind == "U" and f[key].size <= 64:
                return _marker_line(" ".join(str(s) for s in np.atleast_1d(f[key]))[:300])
    except Exception:
        return None
    return None


def _from_array(pos: np.ndarray) -> Callable[[int, int], np.ndarray]:
    return lambda lo, hi: pos[lo:hi]


# ---------------------------------------------------------------- per family
def _nbody(path: Path) -> Trajectory:
    from .data.nbody import _check_trajectory, _read_csv, _read_npz, build_windows
    from .data.base import read_user_npz

    if path.suffix.lower() == ".csv":
        loc, vel, charges = _read_csv(path)
        prediction, dt = _marker_line(_head(path)), None
        import pandas as pd

        head = pd.read_csv(path, comment="#", nrows=0).columns.str.strip().str.lower()
        if "time" in head:
            table = pd.read_csv(path, comment="#", usecols=lambda c: c.strip().lower() in ("frame", "time"))
            table.columns = [c.strip().lower() for c in table.columns]
            times = table.groupby("frame")["time"].first().to_numpy(dtype=float)
            dt = _even_step(times, path.name)
    else:
        loc, vel, charges = _read_npz(path)
        extra = read_user_npz(path, ("loc",), ("time",))
        dt = _even_step(extra["time"].ravel(), path.name) if "time" in extra else None
        prediction = _npz_text(path, "egno_prediction")
    _check_trajectory(loc, charges, path.name)

    def build(x0, v0, target, p, **_):
        return build_windows(x0[None], v0[None], charges[None], None if target is None else target[None],
                             uniform_times(p))

    return Trajectory(len(loc), dt, _from_array(loc), build, {"charges": charges.tolist()},
                      velocities=vel, masses=np.ones(loc.shape[1]), prediction=prediction)


def _molecule(path: Path) -> Trajectory:
    from ase.data import atomic_masses

    from .data.md17 import _read_md17_npz, _read_xyz, _symbol, carry_rotation, molecule_windows

    if path.suffix.lower() == ".npz":
        pos, z, dt = _read_md17_npz(path, with_dt=True)
        prediction = _npz_text(path, "egno_prediction")
    else:
        pos, z, dt = _read_xyz(path)
        prediction = _marker_line(_head(path, 2048))
    if not (z > 1).any():
        raise ValueError(f"{path.name}: no heavy atoms")

    def build(x0, v0, target, p, start=0, dt=None):
        frames = np.concatenate([x0[None], target]) if target is not None else x0[None]
        vel = np.broadcast_to(v0, frames.shape)
        w = molecule_windows(frames, vel, z, [0], 1 if target is not None else None, p)
        return carry_rotation(w, pos, z, dt or DEFAULT_DT["molecule"], [start], v0)

    meta = {"symbols": [_symbol(e) for e in z[z > 1]], "z": z.tolist()}
    return Trajectory(len(pos), dt, _from_array(pos), build, meta, masses=atomic_masses[z],
                      prediction=prediction)


def _motion(arg: str) -> Trajectory:
    from .data.asf_amc import forward_kinematics, read_amc, read_asf
    from .data.bvh import read_bvh
    from .data.mocap import BODY_SIZE, build_mocap_windows

    parts = [Path(q) for q in arg.split(",")]
    if len(parts) == 1:  # BVH
        path = parts[0]
        head = read_bvh(path, seconds=0.0)
        prediction = _marker_line(_head(path, 512))
        first = head.positions[0]
        size = float(np.linalg.norm(first[:, None] - first[None], axis=-1).max())
        if size <= 0:
            raise ValueError(f"{path.name}: every joint is at the same place in the first frame")
        ours = _head(path, 64).lstrip().lower().startswith("# egno")  # the app's downloads: ASF units
        scale = 1.0 if ours else BODY_SIZE / size
        ft = head.frame_time

        def positions(lo, hi):
            return read_bvh(path, seconds=hi * ft).positions[lo:hi] * scale

        bones, joints, frames, dt = head.bones, head.joints, head.frames, ft
        meta = {"joints": joints, "scale": scale, "file_fps": round(1 / ft, 3)}
    else:
        asf, amc = sorted(parts, key=lambda q: q.suffix.lower() != ".asf")
        skeleton = read_asf(asf)
        motion = read_amc(amc, skeleton)

        def positions(lo, hi):
            return forward_kinematics(skeleton, motion[lo:hi])

        bones, joints, frames, dt = skeleton.edges(), skeleton.joints, len(motion), None
        prediction, meta = None, {"joints": joints}

    def build(x0, v0, target, p, **_):
        return build_mocap_windows(x0[None], v0[None], None if target is None else target[None],
                                   bones, x0.shape[0], p)

    meta["bones"] = bones
    return Trajectory(frames, dt, positions, build, meta, prediction=prediction)


def _protein(arg: str) -> Trajectory:
    from .data.protein import LENGTH_SCALE, WINDOW_FRAMES, FRAME_PS, protein_windows, read_backbone

    _, static, resids, dt, source, names, resnames, n_frames = read_backbone(arg, frames=(0, 1))
    parts = [Path(q) for q in arg.split(",")]
    file_dt = dt if len(parts) == 2 and n_frames > 1 else None  # a PDB's model spacing is not in it
    pdb_text = _head(parts[0], 8192) if parts[0].suffix.lower() == ".pdb" else ""
    prediction = _marker_line(pdb_text)
    remark = [line for line in pdb_text.splitlines() if line.startswith("REMARK") and "EGNO FRAME_PS" in line]
    if remark:
        file_dt = float(remark[0].split()[-1])

    def positions(lo, hi):
        return read_backbone(arg, frames=(lo, hi))[0]

    def build(x0, v0, target, p, **_):
        frames = np.concatenate([x0[None], target]) if target is not None else x0[None]
        w = protein_windows(frames, static, resids, np.array([0]), p, FRAME_PS,
                            p if target is not None else None)
        speed = np.linalg.norm(v0, axis=-1) * WINDOW_FRAMES * FRAME_PS / LENGTH_SCALE
        h = w.h.clone()
        h[:, -1] = torch_tensor(speed)
        return replace(w, v=torch_tensor(v0), h=h)

    masses = np.array([MASSES.get(a[0], 12.0) for a in names])
    meta = {"atom_names": names, "resnames": resnames, "resids": np.asarray(resids).tolist(),
            "source": source}
    return Trajectory(n_frames, file_dt, positions, build, meta, masses=masses, prediction=prediction)


def torch_tensor(a):
    import torch

    return torch.as_tensor(np.asarray(a, dtype=np.float32))


def _even_step(times: np.ndarray, name: str) -> float | None:
    if len(times) < 2:
        return None
    steps = np.diff(times)
    if not (steps > 0).all() or np.ptp(steps) > 1e-4 * steps.max():
        raise ValueError(f"{name}: frame times must be evenly spaced and increasing")
    return float(steps.mean())


def read_trajectory(dataset: str, arg: str) -> Trajectory:
    """The user's file(s) as a Trajectory (``arg``: one path, or 'first,second' for a pair)."""
    view = get_dataset(dataset).view
    if view == "points":
        return _nbody(Path(arg))
    if view == "molecule":
        return _molecule(Path(arg))
    if view == "skeleton":
        return _motion(arg)
    return _protein(arg)


# ---------------------------------------------------------------- the window
def thermal_velocities(masses: np.ndarray, temperature: float, seed: int, view: str) -> np.ndarray:
    """Maxwell-Boltzmann velocities (N, 3) at ``temperature`` K in the family's units (molecules
    Å/fs, proteins Å/ps; particles: kT = temperature with unit masses), centre-of-mass motion removed."""
    rng = np.random.default_rng(seed)
    if view == "points":
        var = np.full(len(masses), float(temperature))
    else:
        var = EV_PER_AMU_A2_FS2 * KB_EV * temperature / masses
        if view == "protein":
            var = var * 1e6  # (Å/ps)² = 10⁶ (Å/fs)²
    v = rng.standard_normal((len(masses), 3)) * np.sqrt(var)[:, None]
    return v - (masses[:, None] * v).sum(0) / masses.sum()


def frame_spacing(traj: Trajectory, view: str, options: Options) -> tuple[float, str]:
    """The time between frames used, and where it comes from: 'you', 'the file' or 'the default'."""
    if options.dt:
        return float(options.dt), "you"
    if traj.dt:
        return float(traj.dt), "the file"
    return DEFAULT_DT[view], "the default"


def step_speeds(traj: Trajectory, limit: int = 600) -> list[float]:
    """Largest node displacement between consecutive frames (length units per frame), for the
    first ``limit`` frames: speeds implied by a frame spacing are these divided by it."""
    n = min(traj.frames, limit)
    if n < 2:
        return []
    pos = traj.positions(0, n)
    return np.linalg.norm(np.diff(pos, axis=0), axis=-1).max(-1).tolist()


def upload_window(dataset: str, traj: Trajectory, options: Options, timesteps: int | None = None,
                  windows: int = 1) -> Windows:
    """The window from ``options.start`` with targets where the file has frames at the window's
    times; velocities from the file, else differences of frames, else zero or thermal. With
    ``windows`` K > 1: times 1/P, 2/P, ..., K (fractions of ΔT, as egno.longdata) and the target
    (K·P, N, 3) NaN where the file has no frame (a chained rollout's truth)."""
    from .data.mocap import resample

    family = get_dataset(dataset)
    view, p = family.view, timesteps or family.default_timesteps
    start = int(options.start)
    if not 0 <= start < traj.frames:
        raise ValueError(f"start frame {start} is not in the file's {traj.frames} frames")
    dt, dt_from = frame_spacing(traj, view, options)
    window = {"points": 1.0, "molecule": 1500.0, "skeleton": 0.25, "protein": 12.0}[view]
    per_target = window / p / dt
    lo = max(start - 1, 0)
    if view == "skeleton" and abs(dt * 120 - 1) > 1e-3:  # motion is resampled to 120 frames/s
        hi = min(traj.frames, start + int(np.ceil(window * windows / dt)) + 2)
        pos, offset = resample(traj.positions(start, hi), dt), 0
        step, per_target = 1 / 120, window / p * 120
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
    elif options.velocities == "thermal" and traj.masses is not None:
        v0 = thermal_velocities(traj.masses, options.temperature, options.seed, view)
        how = f"thermal at {options.temperature:g} K (seed {options.seed})"
        note = ("The file has one frame, so the starting velocities are a random thermal draw at "
                f"{options.temperature:g}{' K' if view != 'points' else ''} (seed {options.seed}): "
                "another seed gives another future.")
    else:
        v0, how = np.zeros_like(x0), "zero"
        note = ("The file has one frame, so the prediction starts from rest (zero velocities): "
                "it shows where the forces alone take the system.")
    w = traj.build(np.asarray(x0, dtype=np.float64), np.asarray(v0, dtype=np.float64), target, p * windows,
                   start=start, dt=dt)
    if windows > 1:
        import torch

        from .longdata import long_times

        w = replace(w, t=torch.as_tensor(long_times(windows, p), dtype=torch.float32))
    speed = float(np.linalg.norm(v0, axis=-1).max()) if len(v0) else 0.0
    w.meta.update(traj.meta, frames=traj.frames, nodes=int(w.x.shape[0]), start=start, dt=dt,
                  dt_from=dt_from, velocities=how, velocity_note=note, speed=speed)
    if traj.prediction:
        w.meta["prediction_of"] = traj.prediction
    return w


def speed_warning(view: str, speed: float, dt: float, unit: str) -> str | None:
    """A sentence when the fastest node moves faster than is plausible for the family."""
    limit, why = MAX_SPEED[view]
    if speed <= limit:
        return None
    return (f"At {dt:g} {unit} between frames the fastest node moves at {speed:.3g} length units per "
            f"{unit}, over {limit:g} ({why}): the time between frames is probably wrong, and the "
            "prediction will be too.")
