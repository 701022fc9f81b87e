"""Particles: the charged N-body system (Kipf et al. 2018, without the box, as in EGNN/EGNO).

Saved frame k is the state after step 100 (k + 1), as in the reference generator (which does not
save the initial state).

Protocol (docs/design.md §2): 5 particles with charges ±1, start positions ~ N(0, 1), start velocities of
norm 0.5 in random directions, Coulomb-like forces q_i q_j / r² (each component clipped at 0.1/dt,
as in the reference simulator), leapfrog with dt = 0.001, 5000 steps saved every 100 steps
(49 saved frames, 0.1 time units apart). Input: saved frame 30; targets: frames 32, 34, ..., 40
(P = 5, ΔT = 10 saved frames = 1.0 time unit). Node feature ‖v‖; edge features [q_i q_j, ‖Δx‖²];
fully connected. The test split also keeps the window at 10 steps per frame (101 fine frames), so
P may be any divisor of 100 there.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from egno import limits
from egno.data import physics
from egno.data.base import DatasetFamily, Windows, check_user_file, read_user_npz, uniform_times
from egno.data.export import csv_particles, npz_bytes
from egno.data.trajectory import Trajectory, even_step, from_array, head_text, marker_line, npz_marker

DT = 0.001
STEPS = 5000
SAVE_EVERY = 100
FINE_EVERY = 10
INPUT_FRAME = 30
WINDOW_FRAMES = 10  # ΔT in saved frames
FRAME_TIME = DT * SAVE_EVERY  # 0.1 time units between saved frames
SPLITS = {"train": (3000, 1), "val": (2000, 2), "test": (2000, 3)}  # size, seed offset
MAX_NODES = limits.NBODY_MAX_PARTICLES
MAX_FRAMES = limits.NBODY_MAX_FRAMES


def _forces(loc: np.ndarray, charges: np.ndarray, max_force: float) -> np.ndarray:
    """loc (B, N, 3), charges (B, N) -> forces (B, N, 3): F_i = Σ_j q_i q_j (x_i - x_j) / r_ij³."""
    diff = loc[:, :, None, :] - loc[:, None, :, :]  # B, N, N, 3
    r2 = np.einsum("bijk,bijk->bij", diff, diff)
    n = loc.shape[1]
    r2[:, np.arange(n), np.arange(n)] = 1.0  # self pairs: zero numerator below anyway
    strength = charges[:, :, None] * charges[:, None, :] / r2**1.5
    strength[:, np.arange(n), np.arange(n)] = 0.0
    force = np.einsum("bij,bijk->bik", strength, diff)
    return np.clip(force, -max_force, max_force)


def simulate(
    n_traj: int,
    seed: int,
    n_balls: int = 5,
    steps: int = STEPS,
    save_every: int = SAVE_EVERY,
    fine_every: int | None = None,
    fine_start: int = (INPUT_FRAME + 1) * SAVE_EVERY,
    fine_stop: int = (INPUT_FRAME + WINDOW_FRAMES + 1) * SAVE_EVERY,
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Simulate ``n_traj`` independent systems in one vectorised leapfrog run (float64).

    Returns loc, vel (n_traj, steps/save_every - 1, n_balls, 3) after steps save_every, 2 save_every, ...;
    charges (n_traj, n_balls); with ``fine_every`` also fine_loc, fine_vel for steps
    fine_start..fine_stop (inclusive) every fine_every steps.
    """
    rng = np.random.default_rng(seed)
    charges = rng.choice(np.array([-1.0, 1.0]), size=(n_traj, n_balls))
    loc = rng.standard_normal((n_traj, n_balls, 3))
    vel = rng.standard_normal((n_traj, n_balls, 3))
    vel *= 0.5 / np.linalg.norm(vel, axis=-1, keepdims=True)
    max_force = 0.1 / DT

    n_save = steps // save_every - 1
    out_loc = np.empty((n_traj, n_save, n_balls, 3), dtype=np.float32)
    out_vel = np.empty_like(out_loc)
    fine_steps = range(fine_start, fine_stop + 1, fine_every) if fine_every else range(0)
    fine_loc = np.empty((n_traj, len(fine_steps), n_balls, 3), dtype=np.float32)
    fine_vel = np.empty_like(fine_loc)

    def record(step):
        if step % save_every == 0 and 0 < step < steps:
            out_loc[:, step // save_every - 1], out_vel[:, step // save_every - 1] = loc, vel
        if fine_every and fine_start <= step <= fine_stop and (step - fine_start) % fine_every == 0:
            k = (step - fine_start) // fine_every
            fine_loc[:, k], fine_vel[:, k] = loc, vel

    vel = vel + DT * _forces(loc, charges, max_force)
    for step in tqdm(range(1, max(steps, fine_stop + 1)), desc=f"simulating {n_traj} systems",
                     disable=not progress, mininterval=1.0):
        loc = loc + DT * vel
        record(step)
        vel = vel + DT * _forces(loc, charges, max_force)
    out = {"loc": out_loc, "vel": out_vel, "charges": charges.astype(np.float32)}
    if fine_every:
        out["fine_loc"], out["fine_vel"] = fine_loc, fine_vel
    return out


def fully_connected(n: int) -> np.ndarray:
    """Directed edges i != j of an n-node graph, (2, n(n-1))."""
    rows, cols = np.nonzero(~np.eye(n, dtype=bool))
    return np.stack([rows, cols])


def build_windows(loc0, vel0, charges, targets, t) -> Windows:
    """Graphs for input states loc0, vel0 (S, N, 3), charges (S, N); targets (S, P, N, 3) or None."""
    h, x, v, ei, ea, tg = [], [], [], [], [], []
    for s in range(len(loc0)):
        n = len(loc0[s])
        edges = fully_connected(n)
        q = charges[s]
        d2 = ((loc0[s][edges[0]] - loc0[s][edges[1]]) ** 2).sum(-1)
        h.append(np.linalg.norm(vel0[s], axis=-1, keepdims=True))
        x.append(loc0[s])
        v.append(vel0[s])
        ei.append(edges)
        ea.append(np.stack([q[edges[0]] * q[edges[1]], d2], axis=-1))
        if targets is not None:
            tg.append(targets[s])
    return Windows.from_arrays(h, x, v, ei, ea, tg if targets is not None else None, t,
                               window=WINDOW_FRAMES * FRAME_TIME)


class NBody(DatasetFamily):
    name = "nbody"
    default_timesteps = 5
    time_unit = "simulation time unit (1 saved frame = 0.1)"
    length_unit = "simulation length unit"
    file_formats = ("csv", "npz")

    window = WINDOW_FRAMES * FRAME_TIME
    frame_dt = FRAME_TIME
    max_speed = (5.0, "ten times the simulator's starting speed of 0.5")
    temperature_unit = "kT, simulation units"
    default_temperature = 0.083
    edge_length_column = 1  # edges [q_i q_j, ‖Δx‖²]; nodes [‖v‖]
    upload_help = ("A CSV with columns `frame, particle, x, y, z, charge` (optionally `time`, `vx, vy, "
                   "vz`), or an npz with `loc` (frames × particles × 3), `charges` and optionally `vel`, "
                   "`time`. With frames at the window's times the prediction is scored against them.")
    upload_examples = (("particles (CSV with charges and velocities)", ("particles.csv",),
                        "11 frames, 0.1 apart, velocities in the file: scored"),)

    def long_truth(self, windows: int, timesteps: int, split: str = "test", starts: int = 1,
                   start_windows: int = 1) -> Windows:
        from egno.data.long import nbody_truth

        return nbody_truth(self, windows, timesteps, split, starts, start_windows)

    def thermal_velocities(self, masses: np.ndarray, temperature: float, seed: int) -> np.ndarray:
        """Velocities (N, 3) with kT = ``temperature`` and unit masses, centre-of-mass motion removed."""
        v = np.random.default_rng(seed).standard_normal((len(masses), 3)) * np.sqrt(float(temperature))
        return v - (masses[:, None] * v).sum(0) / masses.sum()

    def generate(self, progress: bool = True, seed: int = 0, sizes: dict | None = None,
                 splits: tuple[str, ...] = ("train", "val", "test"), **_) -> Path:
        """Simulate train/val/test (3000/2000/2000 by default) into ``self.data_dir``. Each split
        has its own seed (10 seed + 1, 2, 3), so one split can be regenerated alone."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        sizes = {**{k: v for k, (v, _) in SPLITS.items()}, **(sizes or {})}
        start = time.time()
        for split, (_, offset) in SPLITS.items():
            if split not in splits:
                continue
            fine = FINE_EVERY if split == "test" else None
            data = simulate(sizes[split], seed=seed * 10 + offset, fine_every=fine, progress=progress)
            np.savez(self.data_dir / f"{split}.npz", **data)
        card = {
            "dataset": self.name, "generator": "egno.data.nbody.simulate", "seed": seed,
            "sizes": sizes, "dt": DT, "steps": STEPS, "save_every": SAVE_EVERY,
            "fine_every_test": FINE_EVERY, "input_frame": INPUT_FRAME,
            "window_frames": WINDOW_FRAMES, "wall_time_s": round(time.time() - start, 1),
        }
        (self.data_dir / "card.json").write_text(json.dumps(card, indent=2))
        return self.data_dir

    def _arrays(self, split: str) -> dict[str, np.ndarray]:
        path = self.data_dir / f"{split}.npz"
        if not path.exists():
            raise FileNotFoundError(f"{path} not found: run `python -m egno data {self.name}` first")
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}

    def available_timesteps(self, split: str) -> list[int]:
        fine = split == "test"
        frames = WINDOW_FRAMES * (SAVE_EVERY // FINE_EVERY if fine else 1)
        return [p for p in range(1, frames + 1) if frames % p == 0]

    def load(self, split: str, timesteps: int | None = None, starts: int = 1) -> Windows:
        """The protocol's windows (input frame 30). With ``starts`` = k > 1 (training only), k
        input frames per trajectory centred on frame 30 (k = 9: frames 26..34), each with its
        own window: more training windows from the same trajectories."""
        p = timesteps or self.default_timesteps
        if p not in self.available_timesteps(split):
            raise ValueError(f"{self.name}/{split} has ground truth for P in "
                             f"{self.available_timesteps(split)}, not {p}")
        d = self._arrays(split)
        if starts > 1:
            assert WINDOW_FRAMES % p == 0, "extra input frames use the saved frames only"
            first = INPUT_FRAME - starts // 2
            assert first >= 1 and first + starts - 1 + WINDOW_FRAMES < d["loc"].shape[1], starts
            step = WINDOW_FRAMES // p
            parts = [build_windows(d["loc"][:, f], d["vel"][:, f], d["charges"],
                                   d["loc"][:, f + step * np.arange(1, p + 1)], uniform_times(p))
                     for f in range(first, first + starts)]
            w = Windows.concat(parts)
            w.meta.update(dataset=self.name, split=split, input_frames=[first, first + starts - 1])
            return w
        if WINDOW_FRAMES % p == 0:
            frames = INPUT_FRAME + np.arange(1, p + 1) * (WINDOW_FRAMES // p)
            targets = d["loc"][:, frames]
        else:
            stride = (WINDOW_FRAMES * SAVE_EVERY // FINE_EVERY) // p
            targets = d["fine_loc"][:, np.arange(1, p + 1) * stride]
        w = build_windows(d["loc"][:, INPUT_FRAME], d["vel"][:, INPUT_FRAME], d["charges"],
                          targets, uniform_times(p))
        w.meta.update(dataset=self.name, split=split)
        return w

    def read_trajectory(self, arg: str) -> Trajectory:
        """A user's CSV or npz as frames for the Upload page (times from a ``time`` column or array)."""
        path = Path(arg)
        if path.suffix.lower() == ".csv":
            loc, vel, charges = _read_csv(path)
            prediction, dt = marker_line(head_text(path)), None
            import pandas as pd

            head = pd.read_csv(path, comment="#", nrows=0).columns.str.strip().str.lower()
            if "time" in head:
                table = pd.read_csv(path, comment="#", usecols=lambda c: c.strip().lower() in ("frame", "time"))
                table.columns = [c.strip().lower() for c in table.columns]
                dt = even_step(table.groupby("frame")["time"].first().to_numpy(dtype=float), path.name)
        else:
            loc, vel, charges = _read_npz(path)
            extra = read_user_npz(path, ("loc",), ("time",))
            dt = even_step(extra["time"].ravel(), path.name) if "time" in extra else None
            prediction = npz_marker(path)
        _check_trajectory(loc, charges, path.name)

        def build(x0, v0, target, p, **_):
            return build_windows(x0[None], v0[None], charges[None], None if target is None else target[None],
                                 uniform_times(p))

        return Trajectory(len(loc), dt, from_array(loc), build, {"charges": charges.tolist()},
                          velocities=vel, masses=np.ones(loc.shape[1]), prediction=prediction)

    def write_trajectory(self, frames: np.ndarray, times: np.ndarray, meta: dict, label: str) -> dict[str, bytes]:
        """CSV and npz with the charges, as the Upload page reads them."""
        q = np.asarray(meta["charges"], dtype=np.float64)
        return {"csv": csv_particles(frames, times, q, label), "npz": npz_bytes("loc", frames, times, label, charges=q)}

    def physical_checks(self, one: Windows, frames: np.ndarray, truth: np.ndarray | None,
                        dt: float) -> dict[str, np.ndarray]:
        attr = one.edge_attr.numpy().astype(np.float64)
        return physics.nbody_checks(frames, one.v.numpy().astype(np.float64), one.edge_index.numpy(),
                                    attr[:, physics.NBODY_CHARGE_PRODUCT], dt)

    def read_file(self, path: Path, timesteps: int | None = None,
                  max_windows: int | None = None) -> Windows:
        """Read one trajectory: CSV (frame, particle, x, y, z, charge[, vx, vy, vz]) or npz
        (loc (T, N, 3), charges (N,), optional vel (T, N, 3)). Frame 0 is the input; frames are
        one saved frame (0.1 time units) apart; frames 1..10 present give ground truth."""
        path = Path(path)
        if path.suffix.lower() == ".csv":
            loc, vel, charges = _read_csv(path)
        elif path.suffix.lower() == ".npz":
            loc, vel, charges = _read_npz(path)
        else:
            raise ValueError(f"{path.name}: nbody reads .csv or .npz, not '{path.suffix}'")
        return trajectory_windows(loc, vel, charges, timesteps or self.default_timesteps, path.name)


def export_trajectory(data_dir: Path, split: str, index: int, path: Path) -> Path:
    """Write test/val/train trajectory ``index`` (saved frames 30..40: the input and its window)
    as a user file (.csv or .npz) in the format ``NBody.read_file`` reads."""
    with np.load(Path(data_dir) / f"{split}.npz", allow_pickle=False) as f:
        frames = slice(INPUT_FRAME, INPUT_FRAME + WINDOW_FRAMES + 1)
        loc, vel, q = f["loc"][index, frames], f["vel"][index, frames], f["charges"][index]
    path = Path(path)
    if path.suffix == ".npz":
        np.savez(path, loc=loc, vel=vel, charges=q)
    elif path.suffix == ".csv":
        import pandas as pd

        t, n, _ = loc.shape
        frame, particle = np.meshgrid(np.arange(t), np.arange(n), indexing="ij")
        table = {"frame": frame.ravel(), "particle": particle.ravel(), "x": loc[..., 0].ravel(),
                 "y": loc[..., 1].ravel(), "z": loc[..., 2].ravel(), "charge": np.tile(q, t),
                 "vx": vel[..., 0].ravel(), "vy": vel[..., 1].ravel(), "vz": vel[..., 2].ravel()}
        pd.DataFrame(table).to_csv(path, index=False, float_format="%.7g")
    else:
        raise ValueError(f"{path.name}: export writes .csv or .npz")
    return path


def trajectory_windows(loc, vel, charges, timesteps: int, source: str) -> Windows:
    """One window from a user trajectory loc (T, N, 3); vel (T, N, 3) or None (finite differences)."""
    _check_trajectory(loc, charges, source)
    if vel is None:
        if len(loc) < 2:
            raise ValueError(f"{source}: one frame and no velocities: give vx, vy, vz or ≥ 2 frames")
        vel0 = (loc[1] - loc[0]) / FRAME_TIME
    else:
        vel0 = vel[0]
    target = None
    if len(loc) > WINDOW_FRAMES and WINDOW_FRAMES % timesteps == 0:
        target = loc[np.arange(1, timesteps + 1) * (WINDOW_FRAMES // timesteps)][None]
    w = build_windows(loc[:1], vel0[None], charges[None], target, uniform_times(timesteps))
    w.meta.update(dataset="nbody", source=source, frames=len(loc), nodes=loc.shape[1])
    return w


def _check_trajectory(loc: np.ndarray, charges: np.ndarray, source: str) -> None:
    if loc.ndim != 3 or loc.shape[-1] != 3:
        raise ValueError(f"{source}: positions must be (frames, particles, 3), got {loc.shape}")
    t, n, _ = loc.shape
    if t < 1:
        raise ValueError(f"{source}: no frames")
    if n < 2:
        raise ValueError(f"{source}: need at least 2 particles, got {n}")
    if n > MAX_NODES or t > MAX_FRAMES:
        raise ValueError(f"{source}: {n} particles × {t} frames exceeds the limit "
                         f"({MAX_NODES} particles, {MAX_FRAMES} frames)")
    if charges.shape != (n,):
        raise ValueError(f"{source}: need one charge per particle ({n}), got shape {charges.shape}")
    if not (np.isfinite(loc).all() and np.isfinite(charges).all()):
        raise ValueError(f"{source}: positions or charges contain NaN or inf")


def _read_npz(path: Path):
    arrays = read_user_npz(path, ("loc", "charges"), ("vel",), what="an N-body npz")
    loc, charges, vel = arrays["loc"], arrays["charges"], arrays.get("vel")
    if charges.ndim == 2 and len(charges):  # (T, N): charges are constant, take the first frame
        charges = charges[0]
    if vel is not None and vel.shape != loc.shape:
        raise ValueError(f"{path.name}: vel shape {vel.shape} differs from loc shape {loc.shape}")
    return loc, vel, charges


def _read_csv(path: Path):
    import pandas as pd

    check_user_file(path)
    try:
        df = pd.read_csv(path, comment="#")  # '#' lines: the app's downloads say what they hold
    except Exception as e:  # pandas raises several parser error types
        raise ValueError(f"{path.name}: not a readable CSV file ({e})") from None
    df.columns = [str(c).strip().lower() for c in df.columns]
    need = ["frame", "particle", "x", "y", "z", "charge"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ValueError(f"{path.name}: missing columns {missing}; need {need} (+ optional vx, vy, vz)")
    cols = need + [c for c in ("vx", "vy", "vz") if c in df.columns]
    try:
        df = df[cols].astype(float)
    except ValueError as e:
        raise ValueError(f"{path.name}: non-numeric values ({e})") from None
    if df.empty:
        raise ValueError(f"{path.name}: no rows under the header")
    if not np.isfinite(df.to_numpy()).all():
        raise ValueError(f"{path.name}: empty cells, NaN or inf values")
    frames = np.sort(df["frame"].unique())
    particles = np.sort(df["particle"].unique())
    t, n = len(frames), len(particles)
    if n > MAX_NODES or t > MAX_FRAMES:
        raise ValueError(f"{path.name}: {n} particles × {t} frames exceeds the limit "
                         f"({MAX_NODES} particles, {MAX_FRAMES} frames)")
    if len(df) != t * n or df.duplicated(["frame", "particle"]).any():
        raise ValueError(f"{path.name}: need exactly one row per (frame, particle); got {len(df)} rows "
                         f"for {t} frames × {n} particles")
    if not np.array_equal(frames, np.arange(frames[0], frames[0] + t)):
        raise ValueError(f"{path.name}: frames must be consecutive integers")
    df = df.sort_values(["frame", "particle"])
    loc = df[["x", "y", "z"]].to_numpy().reshape(t, n, 3)
    charge_table = df["charge"].to_numpy().reshape(t, n)
    if not np.allclose(charge_table, charge_table[:1]):
        raise ValueError(f"{path.name}: a particle's charge changes between frames")
    vel = df[["vx", "vy", "vz"]].to_numpy().reshape(t, n, 3) if "vx" in df.columns else None
    return loc, vel, charge_table[0]
