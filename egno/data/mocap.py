"""Human motion: CMU motion capture (ASF skeleton + AMC motion, 120 frames/s), docs/design.md §2.

Datasets ``mocap/walk`` (subject 35, walking trials 35_01..35_08) and ``mocap/run`` (subject 9,
running trials 09_01..09_11), split by trial so no test window comes from a training trial. A
window starts at frame s: input = joint positions at s and velocities by central differences;
targets at s + 30 p / P frames (ΔT = 30 frames = 0.25 s, P = 5). Graph: bones plus 2-hop pairs.
Node features describe the joint's place in the tree, not its name, so the same model runs on any
skeleton (a BVH upload with other joints): [depth from the root / 10, leaf, chain (2 bones),
branch (≥ 3 bones), ‖v‖·ΔT / 10]; edge features: [bone, 2-hop, (‖Δx‖ / 10)² at the input]; all
rotation invariant. Gravity is an input like the positions: every sample carries the up vector
(+y), which the equivariant models read as a vector that turns with the body and from which they
take joint heights (the reference code's joint height is the y coordinate as a fixed feature, which
breaks equivariance; ours is (x − centre)·up, invariant when the body and up turn together).
Positions stay in the ASF length unit (CMU: 1 unit = 1/0.45 inch ≈ 5.64 cm); the models see
them divided by 10 (``length_scale``).
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from egno.paths import MOCAP_SOURCE as SOURCE
from egno.paths import SAMPLES
from egno.data.asf_amc import MocapFormatError, Skeleton, forward_kinematics, read_amc, read_asf
from egno.data import physics
from egno.data.base import DatasetFamily, Windows, copy_committed, uniform_times
from egno.data.bvh import read_bvh
from egno.data.export import bvh_bytes
from egno.data.trajectory import Trajectory, head_text, marker_line

FPS = 120
WINDOW_FRAMES = 30
# trial numbers per split; mocap/run follows the paper's 0-based split of the 11 subject-9 trials
SPLITS = {
    "walk": {"subject": "35", "train": [1, 2, 3, 4, 5], "val": [6], "test": [7, 8]},
    "run": {"subject": "09", "train": [2, 3, 6, 7, 11], "val": [1, 5, 10], "test": [4, 8, 9]},
}
STRIDE = {"train": 1, "val": 5, "test": 5}  # frames between window starts
# Largest joint-to-joint distance in a frame (≈ body height) of the CMU subjects, ASF units:
# median 28.9 (subject 35 walking) and 28.5 (subject 9 running); BVH uploads are scaled to it.
BODY_SIZE = 28.7


def two_hop(edges: np.ndarray, n: int) -> np.ndarray:
    """Pairs two bones apart, (2, E2), both directions."""
    adj = np.zeros((n, n), dtype=np.float32)  # float32: BLAS, exact for counts below 2^24
    adj[edges[0], edges[1]] = adj[edges[1], edges[0]] = 1
    reach = (adj @ adj) > 0
    adj = adj > 0
    reach &= ~adj
    np.fill_diagonal(reach, False)
    return np.stack(np.nonzero(reach))


def bone_graph(bones: np.ndarray, n_joints: int) -> tuple[np.ndarray, np.ndarray]:
    """Directed edge index (2, E) over bones (both directions) and 2-hop pairs, and the edge
    type one-hot (E, 2) = [bone, 2-hop]."""
    both = np.concatenate([bones, bones[::-1]], axis=1)
    hop2 = two_hop(bones, n_joints)
    kind = np.concatenate([np.tile([1.0, 0.0], (both.shape[1], 1)),
                           np.tile([0.0, 1.0], (hop2.shape[1], 1))])
    return np.concatenate([both, hop2], axis=1), kind


def trial_windows(pos: np.ndarray, starts: np.ndarray, timesteps: int) -> dict:
    """Inputs and targets for windows starting at ``starts`` of one trial pos (T, J, 3)."""
    step = WINDOW_FRAMES // timesteps
    x = pos[starts]
    v = (pos[starts + 1] - pos[starts - 1]) * (FPS / 2)
    target = np.stack([pos[starts + step * p] for p in range(1, timesteps + 1)], axis=1)
    return {"x": x, "v": v, "target": target}


class Mocap(DatasetFamily):
    default_timesteps = 5
    time_unit = "s (120 frames/s)"
    length_unit = "ASF unit (CMU: 1/0.45 inch ≈ 5.64 cm)"
    file_formats = ("asf", "amc", "bvh")
    view = "skeleton"
    variants = ("walk", "run")
    window = WINDOW_FRAMES / FPS
    frame_dt = 1 / FPS
    frame_rate = FPS
    max_speed = (270.0, "15 m/s, faster than a sprinter's foot (1 ASF unit ≈ 5.64 cm)")
    thermal_start = False
    file_pairs = True
    upload_help = ("An Acclaim pair — the skeleton `.asf` and a motion `.amc` (select both) — or one "
                   "`.bvh` file. Motion is resampled to 120 frames/s; BVH is scaled to the size of the "
                   "CMU subjects (the factor is shown). With 0.25 s of motion after the start frame "
                   "the prediction is scored against it.")
    upload_examples = (
        ("CMU walk ASF + AMC", ("35.asf", "35_01_first40.amc"), "subject 35, 40 frames at 120/s"),
        ("the same walk as BVH", ("walk_35_01.bvh",), "joint positions, 40 frames"),
    )
    up_axis = "y"
    speed_scale = WINDOW_FRAMES / FPS / 10.0  # ‖v‖ ΔT / 10 (LENGTH_SCALE)
    edge_length_column = 2  # edges [bone, 2-hop, (‖Δx‖ / 10)²]
    edge_length_scale = 0.01

    def drawn_edges(self, meta: dict, x0: np.ndarray) -> np.ndarray | None:
        bones = meta.get("bones", self.bones)
        return None if bones is None else np.asarray(bones)

    def long_truth(self, windows: int, timesteps: int, split: str = "test", starts: int = 1,
                   start_windows: int = 1) -> Windows:
        from egno.data.long import one_start_window, mocap_truth

        one_start_window(self, start_windows)
        return mocap_truth(self, windows, timesteps, split, starts)

    def __init__(self, variant: str | None, data_dir: Path | None = None, source: Path | None = None):
        if variant not in SPLITS:
            raise ValueError(f"mocap datasets: {['mocap/' + k for k in SPLITS]}, not mocap/{variant}")
        self.variant = variant
        self.name = f"mocap/{variant}"
        self.source = Path(source) if source else SOURCE
        super().__init__(data_dir)

    def _folder(self) -> Path:
        folder = self.source / SPLITS[self.variant]["subject"]
        return folder if folder.exists() else self.source  # or a flat folder of one subject

    def _trial_files(self) -> dict[str, list[Path]]:
        spec = SPLITS[self.variant]
        folder = self._folder()
        files = {}
        for split in ("train", "val", "test"):
            files[split] = [folder / f"{spec['subject']}_{n:02d}.amc" for n in spec[split]]
            missing = [p.name for p in files[split] if not p.exists()]
            if missing:
                raise FileNotFoundError(f"{self.name}: missing {missing} in {folder} "
                                        f"(pass --source DIR with the CMU ASF/AMC files)")
        return files

    def generate(self, progress: bool = True, splits: tuple[str, ...] = ("train", "val", "test"),
                 **_) -> Path:
        """Parse the trials with forward kinematics into per-split joint positions. Without the
        CMU files, a request for the test split alone is served from the committed sample."""
        spec = SPLITS[self.variant]
        committed = SAMPLES / self.name
        try:
            files = self._trial_files()
        except FileNotFoundError:
            if set(splits) != {"test"} or not (committed / "test.npz").exists():
                raise
            copy_committed(committed, self.data_dir, ("test.npz", "skeleton.npz", "card.json"))
            return self.data_dir
        skeleton = read_asf(self._folder() / f"{spec['subject']}.asf")
        start = time.time()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        counts = {}
        for split, paths in files.items():
            trials = [forward_kinematics(skeleton, read_amc(p, skeleton))
                      for p in tqdm(paths, desc=f"{self.name} {split}", disable=not progress)]
            lengths = np.array([len(t) for t in trials])
            np.savez(self.data_dir / f"{split}.npz", positions=np.concatenate(trials),
                     lengths=lengths, trials=np.array([p.stem for p in paths]))
            counts[split] = int(sum(self._starts(n, split).size for n in lengths))
        bones = skeleton.edges()
        np.savez(self.data_dir / "skeleton.npz", bones=bones,
                 joints=np.array(skeleton.joints), length_unit=skeleton.length_unit)
        card = {"dataset": self.name, "source": str(self.source), "fps": FPS,
                "window_frames": WINDOW_FRAMES, "trials": {k: [p.stem for p in v] for k, v in files.items()},
                "windows": counts, "stride": STRIDE, "length_unit": self.length_unit,
                "attribution": "CMU Graphics Lab Motion Capture Database (mocap.cs.cmu.edu), NSF EIA-0196217",
                "wall_time_s": round(time.time() - start, 1)}
        (self.data_dir / "card.json").write_text(json.dumps(card, indent=2))
        return self.data_dir

    @staticmethod
    def _starts(n_frames: int, split: str) -> np.ndarray:
        return np.arange(1, n_frames - WINDOW_FRAMES, STRIDE[split])

    def available_timesteps(self, split: str) -> list[int]:
        return [p for p in range(1, WINDOW_FRAMES + 1) if WINDOW_FRAMES % p == 0]

    def _skeleton_arrays(self):
        with np.load(self.data_dir / "skeleton.npz", allow_pickle=False) as f:
            return f["bones"], [str(j) for j in f["joints"]]

    @property
    def joints(self) -> list[str]:
        path = self.data_dir / "skeleton.npz"
        return self._skeleton_arrays()[1] if path.exists() else []

    @property
    def bones(self) -> np.ndarray | None:
        path = self.data_dir / "skeleton.npz"
        return self._skeleton_arrays()[0] if path.exists() else None

    def load(self, split: str, timesteps: int | None = None, starts: int = 1) -> Windows:
        """Windows every STRIDE[split] frames of every trial (``starts`` is not used: the
        training split already starts a window at every frame)."""
        p, path = self._split_file(split, timesteps)
        with np.load(path, allow_pickle=False) as f:
            positions, lengths = f["positions"], f["lengths"]
        bones, joints = self._skeleton_arrays()
        parts, offset = [], 0
        for n in lengths:
            pos = positions[offset:offset + n]
            offset += n
            parts.append(trial_windows(pos, self._starts(n, split), p))
        data = {k: np.concatenate([q[k] for q in parts]) for k in ("x", "v", "target")}
        w = build_mocap_windows(data["x"], data["v"], data["target"], bones, len(joints), p)
        w.meta.update(dataset=self.name, split=split)
        return w

    def check_upload(self, names: list[str]) -> None:
        """One .bvh, or an .asf skeleton with an .amc motion."""
        kinds = sorted(Path(n).suffix.lower().lstrip(".") for n in names)
        if kinds in (["bvh"], ["amc", "asf"]):
            return
        shown = ", ".join(names)
        if kinds == ["amc"]:
            raise ValueError(f"{shown}: an .amc file holds the motion only; select its subject's "
                             ".asf skeleton together with it")
        if kinds == ["asf"]:
            raise ValueError(f"{shown}: an .asf file holds the skeleton only; select an .amc "
                             "motion of that subject together with it")
        raise ValueError(f"{shown}: give one .bvh file, or one .asf skeleton with one .amc motion")

    def read_trajectory(self, arg: str) -> Trajectory:
        """A user's BVH, or ASF + AMC pair ('skeleton,motion'), as frames for the Upload page
        (a BVH scaled to the CMU body size unless the app wrote it)."""
        parts = [Path(q) for q in arg.split(",")]
        if len(parts) == 1:  # BVH
            path = parts[0]
            head = read_bvh(path, seconds=0.0)
            prediction = marker_line(head_text(path, 512))
            first = head.positions[0]
            size = float(np.linalg.norm(first[:, None] - first[None], axis=-1).max())
            if size <= 0:
                raise ValueError(f"{path.name}: every joint is at the same place in the first frame")
            ours = head_text(path, 64).lstrip().lower().startswith("# egno")  # the app's downloads: ASF units
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

    def pair_note(self, names: list[str]) -> str | None:
        """A warning when a skeleton and a motion are named after different CMU subjects (35.asf
        with 02_01.amc): the motion would be drawn on another body's bones."""
        stems = {Path(n).suffix.lower(): re.match(r"(\d+)", Path(n).stem) for n in names}
        asf, amc = stems.get(".asf"), stems.get(".amc")
        if not (asf and amc) or int(asf.group(1)) == int(amc.group(1)):
            return None
        return (f"The skeleton ({asf.string}) and the motion ({amc.string}) name different CMU subjects: the "
                "motion is drawn on another subject's bones, so bone lengths and errors may be off.")

    def write_trajectory(self, frames: np.ndarray, times: np.ndarray, meta: dict, label: str) -> dict[str, bytes]:
        """A BVH with three position channels per joint (positions come back exactly)."""
        return {"bvh": bvh_bytes(frames, times, list(meta["joints"]), meta["bones"], label)}

    def physical_checks(self, one: Windows, frames: np.ndarray, truth: np.ndarray | None,
                        dt: float) -> dict[str, np.ndarray]:
        """Bone lengths (bones are rigid)."""
        attr = one.edge_attr.numpy()
        return physics.skeleton_checks(frames, one.edge_index.numpy()[:, attr[:, physics.MOCAP_BONE] > 0.5])

    def read_file(self, path: Path, timesteps: int | None = None,
                  max_windows: int | None = None) -> Windows:
        """A user's motion, in the ASF length unit at 120 frames/s:
        - a directory of ASF/AMC trials (one subject): windows every 5 frames of every trial
          (the test protocol), for ``evaluate --data DIR``;
        - 'skeleton.asf,motion.amc', or an AMC file with its subject's ASF beside it
          (NN_MM.amc + NN.asf): one window from the first frame;
        - a BVH file: one window from the first frame, resampled to 120 frames/s and scaled so
          the body is as large as the CMU subjects' (the factor is in ``meta['scale']``).
        The first frame is the input; with ≥ 31 frames (0.25 s) the window has ground truth."""
        p = self._window_timesteps(timesteps, WINDOW_FRAMES)
        text = str(path)
        if "," in text:
            asf, amc = (Path(q) for q in text.split(",", 1))
            if asf.suffix.lower() == ".amc":
                asf, amc = amc, asf
        elif Path(path).is_dir():
            return self._read_trials(Path(path), p)
        elif Path(path).suffix.lower() == ".bvh":
            return bvh_windows(Path(path), p)
        else:
            amc = Path(path)
            asf = amc.with_name(amc.stem.split("_")[0] + ".asf")
        if not asf.exists():
            raise ValueError(f"{amc.name}: no skeleton file {asf.name} beside it")
        if amc.suffix.lower() != ".amc" or asf.suffix.lower() != ".asf":
            raise ValueError(f"{amc.name}, {asf.name}: expected one .asf skeleton and one .amc motion")
        skeleton = read_asf(asf)
        return motion_windows(skeleton, read_amc(amc, skeleton), p, amc.name)

    def _read_trials(self, folder: Path, timesteps: int) -> Windows:
        amcs = sorted(folder.glob("*.amc"))
        if not amcs:
            raise ValueError(f"{folder}: no .amc files")
        parts, bones, n_joints = [], None, None
        for amc in amcs:
            asf = amc.with_name(amc.stem.split("_")[0] + ".asf")
            if not asf.exists():
                raise ValueError(f"{amc.name}: no skeleton file {asf.name} in {folder}")
            skeleton = read_asf(asf)
            pos = forward_kinematics(skeleton, read_amc(amc, skeleton))
            starts = self._starts(len(pos), "test")
            if starts.size:
                parts.append(trial_windows(pos, starts, timesteps))
                bones, n_joints = skeleton.edges(), len(skeleton.joints)
        if not parts:
            raise ValueError(f"{folder}: no trial has more than {WINDOW_FRAMES + 1} frames")
        data = {k: np.concatenate([q[k] for q in parts]) for k in ("x", "v", "target")}
        w = build_mocap_windows(data["x"], data["v"], data["target"], bones, n_joints, timesteps)
        w.meta.update(source=str(folder), trials=[a.stem for a in amcs], nodes=n_joints,
                      frames=int(sum(len(q["x"]) for q in parts)))
        return w


def motion_windows(skeleton: Skeleton, frames, timesteps: int, source: str) -> Windows:
    """One window from the start of a user's ASF/AMC motion (forward kinematics of the frames
    that window uses only)."""
    pos = forward_kinematics(skeleton, frames[: WINDOW_FRAMES + 1])
    if not np.isfinite(pos).all():
        raise MocapFormatError(f"{source}: joint positions are not finite (bone lengths or root "
                               "positions too large)")
    w = motion_positions_windows(pos, skeleton.edges(), timesteps, source)
    w.meta["frames"] = len(frames)
    return w


def motion_positions_windows(pos: np.ndarray, bones: np.ndarray, timesteps: int, source: str) -> Windows:
    """One window from joint positions (T, J, 3) at 120 frames/s (≥ 2 frames; ≥ 31 for ground
    truth); joint 0 is the root."""
    if len(pos) < 2:
        raise ValueError(f"{source}: need at least 2 frames for velocities")
    padded = np.concatenate([pos[:1], pos])  # central difference at frame 0 uses frames 0 and 1
    v = (padded[2] - padded[0]) * (FPS / 2)
    target = None
    if len(pos) > WINDOW_FRAMES:
        step = WINDOW_FRAMES // timesteps
        target = np.stack([pos[step * p] for p in range(1, timesteps + 1)])[None]
    w = build_mocap_windows(pos[:1], v[None], target, bones, pos.shape[1], timesteps)
    w.meta.update(source=source, frames=len(pos), nodes=pos.shape[1], bones=bones)
    return w


LENGTH_SCALE = 10.0  # ASF units per model length unit (features and the models' length_scale)
UP = (0.0, 1.0, 0.0)  # against gravity: +y in ASF/AMC (CMU) and in BVH's usual convention


def joint_features(bones: np.ndarray, n_joints: int, root: int = 0) -> np.ndarray:
    """(J, 4) skeleton-agnostic joint features: [depth from the root / 10, leaf, chain, branch]."""
    adj = [[] for _ in range(n_joints)]
    for a, b in bones.T:
        adj[a].append(b)
        adj[b].append(a)
    depth = np.full(n_joints, -1)
    depth[root], queue = 0, [root]
    while queue:
        j = queue.pop(0)
        for k in adj[j]:
            if depth[k] < 0:
                depth[k] = depth[j] + 1
                queue.append(k)
    if (depth < 0).any():
        raise ValueError(f"skeleton is not connected: joints {np.nonzero(depth < 0)[0].tolist()} "
                         "are not reachable from the root")
    degree = np.array([len(a) for a in adj])
    return np.stack([depth / 10.0, degree == 1, degree == 2, degree >= 3], axis=1).astype(np.float64)


TRAIL_JOINTS = ("lhand", "rhand", "lfoot", "rfoot")


def trail_joints(joints: list[str], bones: np.ndarray) -> list[int]:
    """Joints whose paths the app draws: hands and feet of a CMU skeleton, else the leaves."""
    named = [joints.index(j) for j in TRAIL_JOINTS if j in joints]
    if len(named) == len(TRAIL_JOINTS):
        return named
    degree = np.bincount(bones.ravel(), minlength=len(joints))
    return [int(j) for j in np.nonzero(degree == 1)[0]]


def resample(pos: np.ndarray, frame_time: float, fps: float = FPS) -> np.ndarray:
    """Joint positions (T, J, 3) sampled every ``frame_time`` s, linearly resampled at ``fps``."""
    if abs(frame_time * fps - 1) < 1e-3:
        return pos
    t_old = np.arange(len(pos)) * frame_time
    t_new = np.arange(0, t_old[-1] + 1e-9, 1 / fps)
    flat = pos.reshape(len(pos), -1)
    out = np.stack([np.interp(t_new, t_old, flat[:, k]) for k in range(flat.shape[1])], axis=1)
    return out.reshape(len(t_new), *pos.shape[1:])


def bvh_windows(path: Path, timesteps: int) -> Windows:
    """One window from the start of a BVH motion, at 120 frames/s and CMU body size."""
    motion = read_bvh(path, seconds=WINDOW_FRAMES / FPS)  # the first window's motion only
    pos = resample(motion.positions, motion.frame_time)
    first = pos[0]
    size = float(np.linalg.norm(first[:, None] - first[None], axis=-1).max())
    if size <= 0:
        raise MocapFormatError(f"{path.name}: every joint is at the same place in the first frame")
    scale = BODY_SIZE / size
    w = motion_positions_windows(pos * scale, motion.bones, timesteps, path.name)
    w.meta.update(scale=scale, file_fps=round(1 / motion.frame_time, 3), joints=motion.joints,
                  frames=int((motion.frames - 1) * motion.frame_time * FPS + 1e-6) + 1)
    return w


def build_mocap_windows(x, v, target, bones, n_joints, timesteps) -> Windows:
    """x, v (S, J, 3); target (S, P, J, 3) or None -> Windows on the bone + 2-hop graph."""
    edges, kind = bone_graph(bones, n_joints)
    joint = joint_features(bones, n_joints)
    window = WINDOW_FRAMES / FPS
    h, xs, vs, ei, ea, tg = [], [], [], [], [], []
    for s in range(len(x)):
        d2 = ((x[s][edges[0]] - x[s][edges[1]]) ** 2).sum(-1, keepdims=True) / LENGTH_SCALE**2
        speed = np.linalg.norm(v[s], axis=-1, keepdims=True) * window / LENGTH_SCALE
        h.append(np.concatenate([joint, speed], axis=1))
        xs.append(x[s])
        vs.append(v[s])
        ei.append(edges)
        ea.append(np.concatenate([kind, d2], axis=1))
        if target is not None:
            tg.append(target[s])
    return Windows.from_arrays(h, xs, vs, ei, ea, tg if target is not None else None,
                               uniform_times(timesteps), window=WINDOW_FRAMES / FPS, up=UP)
