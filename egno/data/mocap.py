"""Human motion: CMU motion capture (ASF skeleton + AMC motion, 120 frames/s), DESIGN §2.

Datasets ``mocap/walk`` (subject 35, walking trials 35_01..35_08) and ``mocap/run`` (subject 9,
running trials 09_01..09_11), split by trial so no test window comes from a training trial. A
window starts at frame s: input = joint positions at s and velocities by central differences;
targets at s + 30 p / P frames (ΔT = 30 frames = 0.25 s, P = 5). Graph: bones plus 2-hop pairs.
Node features: joint identity (one-hot) and speed ‖v‖; edge features: [bone, 2-hop, ‖Δx‖² at the
input]; all rotation invariant (the reference code's joint height is not, so it is not used).
Positions stay in the ASF length unit (CMU: 1 unit = 1/0.45 inch ≈ 5.64 cm).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .asf_amc import Skeleton, forward_kinematics, read_amc, read_asf
from .base import DatasetFamily, Windows, uniform_times

FPS = 120
WINDOW_FRAMES = 30
SOURCE = Path(__file__).resolve().parents[3] / "shared" / "data" / "cmu_mocap"
# trial numbers per split; mocap/run follows the paper's 0-based split of the 11 subject-9 trials
SPLITS = {
    "walk": {"subject": "35", "train": [1, 2, 3, 4, 5], "val": [6], "test": [7, 8]},
    "run": {"subject": "09", "train": [2, 3, 6, 7, 11], "val": [1, 5, 10], "test": [4, 8, 9]},
}
STRIDE = {"train": 1, "val": 5, "test": 5}  # frames between window starts


def two_hop(edges: np.ndarray, n: int) -> np.ndarray:
    """Pairs two bones apart, (2, E2), both directions."""
    adj = np.zeros((n, n), dtype=bool)
    adj[edges[0], edges[1]] = adj[edges[1], edges[0]] = True
    reach = (adj.astype(int) @ adj.astype(int)) > 0
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
    file_formats = ("amc", "asf")

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

    def generate(self, progress: bool = True, **_) -> Path:
        """Parse the trials with forward kinematics into per-split joint positions."""
        spec = SPLITS[self.variant]
        skeleton = read_asf(self._folder() / f"{spec['subject']}.asf")
        start = time.time()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        counts = {}
        files = self._trial_files()
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
    def bones(self) -> np.ndarray | None:
        path = self.data_dir / "skeleton.npz"
        return self._skeleton_arrays()[0] if path.exists() else None

    def load(self, split: str, timesteps: int | None = None, starts: int = 1) -> Windows:
        """Windows every STRIDE[split] frames of every trial (``starts`` is not used: the
        training split already starts a window at every frame)."""
        p = timesteps or self.default_timesteps
        if p not in self.available_timesteps(split):
            raise ValueError(f"{self.name} has ground truth for P in {self.available_timesteps(split)}, not {p}")
        path = self.data_dir / f"{split}.npz"
        if not path.exists():
            raise FileNotFoundError(f"{path} not found: run `python -m egno data {self.name}` first")
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

    def read_file(self, path: Path, timesteps: int | None = None) -> Windows:
        """An AMC file with its subject's ASF beside it (NN_MM.amc + NN.asf), or a
        'skeleton.asf,motion.amc' pair. The first frame is the input; frames 1..30 the window."""
        text = str(path)
        if "," in text:
            asf, amc = (Path(p) for p in text.split(",", 1))
        else:
            amc = Path(path)
            asf = amc.with_name(amc.stem.split("_")[0] + ".asf")
        if not asf.exists():
            raise ValueError(f"{amc.name}: no skeleton file {asf.name} beside it")
        skeleton = read_asf(asf)
        return motion_windows(skeleton, read_amc(amc, skeleton), timesteps or self.default_timesteps,
                              amc.name)


def motion_windows(skeleton: Skeleton, frames, timesteps: int, source: str) -> Windows:
    """One window from the start of a user's motion (needs ≥ 2 frames; ≥ 31 for ground truth)."""
    pos = forward_kinematics(skeleton, frames)
    if len(pos) < 2:
        raise ValueError(f"{source}: need at least 2 frames for velocities")
    padded = np.concatenate([pos[:1], pos])  # central difference at frame 0 uses frames 0 and 1
    v = (padded[2] - padded[0]) * (FPS / 2)
    target = None
    if len(pos) > WINDOW_FRAMES:
        step = WINDOW_FRAMES // timesteps
        target = np.stack([pos[step * p] for p in range(1, timesteps + 1)])[None]
    w = build_mocap_windows(pos[:1], v[None], target, skeleton.edges(), len(skeleton.joints), timesteps)
    w.meta.update(source=source, frames=len(pos), nodes=len(skeleton.joints))
    return w


def build_mocap_windows(x, v, target, bones, n_joints, timesteps) -> Windows:
    """x, v (S, J, 3); target (S, P, J, 3) or None -> Windows on the bone + 2-hop graph."""
    edges, kind = bone_graph(bones, n_joints)
    eye = np.eye(n_joints)
    h, xs, vs, ei, ea, tg = [], [], [], [], [], []
    for s in range(len(x)):
        d2 = ((x[s][edges[0]] - x[s][edges[1]]) ** 2).sum(-1, keepdims=True)
        h.append(np.concatenate([eye, np.linalg.norm(v[s], axis=-1, keepdims=True)], axis=1))
        xs.append(x[s])
        vs.append(v[s])
        ei.append(edges)
        ea.append(np.concatenate([kind, d2], axis=1))
        if target is not None:
            tg.append(target[s])
    return Windows.from_arrays(h, xs, vs, ei, ea, tg if target is not None else None,
                               uniform_times(timesteps), window=WINDOW_FRAMES / FPS)
