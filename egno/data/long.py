"""Ground truth past one window: input states with their true futures for K windows.

``long_windows(family, K, P, split)`` gives Windows whose times run t = 1/P, 2/P, ..., K
(fractions of ΔT) and whose target holds the truth at those times, NaN where the data end:
  nbody    a separate long file per split (``long_test.npz``: 100 systems of their own seed for
           25 windows after the protocol's input frame 30; ``long_train.npz``, ``long_val.npz``:
           the split's own systems simulated on for chained training and its validation);
  mocap    the split's trials, one start every window (30 frames; train and val: the split's own
           stride), truth to each trial's end;
  md17     the split's segments, one start every window (200 stored frames; more with ``starts``;
           train: every window spacing), to each one's end;
  protein  the split's run, one start every window (12 frames), to its end.
"""
from __future__ import annotations

import json
import time
from dataclasses import replace

import numpy as np
import torch

from egno.data.base import DatasetFamily, Windows, uniform_times

LONG_SYSTEMS = 100     # nbody long test file: systems
LONG_WINDOWS = 25      # ... and windows of ground truth after the input frame
LONG_SEED_OFFSET = 4   # seed 10 seed + 4 (train, val, test use + 1, 2, 3)
TRAIN_WINDOWS = 9      # long_train / long_val: windows of truth after the last training input
FIRST_TRAIN_FRAME = 26  # ... whose inputs are frames 26..34 (train_starts 9 centred on 30)


def long_times(windows: int, timesteps: int) -> np.ndarray:
    """t / ΔT = 1/P, 2/P, ..., K."""
    return np.arange(1, windows * timesteps + 1, dtype=np.float64) / timesteps


def generate_nbody_long(family: DatasetFamily, n_systems: int = LONG_SYSTEMS,
                        windows: int = LONG_WINDOWS, seed: int = 0) -> "Path":  # noqa: F821
    """Simulate the nbody long-horizon test file into ``family.data_dir/long_test.npz``: saved
    frames 30 (the input) to 30 + 10 ``windows``, the same simulator and protocol as the splits."""
    from egno.data import nbody

    start = time.time()
    last = nbody.INPUT_FRAME + nbody.WINDOW_FRAMES * windows
    data = nbody.simulate(n_systems, seed=seed * 10 + LONG_SEED_OFFSET,
                          steps=(last + 2) * nbody.SAVE_EVERY)
    keep = slice(nbody.INPUT_FRAME, last + 1)
    family.data_dir.mkdir(parents=True, exist_ok=True)
    path = family.data_dir / "long_test.npz"
    np.savez(path, loc=data["loc"][:, keep], vel=data["vel"][:, keep], charges=data["charges"])
    card = {"generator": "egno.data.nbody.simulate", "seed": seed * 10 + LONG_SEED_OFFSET,
            "systems": n_systems, "windows": windows, "first_saved_frame": nbody.INPUT_FRAME,
            "wall_time_s": round(time.time() - start, 1)}
    (family.data_dir / "long_test.json").write_text(json.dumps(card, indent=2))
    return path


def generate_nbody_split_long(family: DatasetFamily, split: str, windows: int = TRAIN_WINDOWS
                              ) -> "Path":  # noqa: F821
    """Simulate the ``split`` (train or val) systems past their saved frames into
    ``long_{split}.npz``: the seed and size of the split's card, so the same systems, saved
    frames 26..34 + 10 ``windows`` (at least ``TRAIN_WINDOWS``)."""
    from egno.data import nbody

    card = family.generation_card()
    if card is None:
        raise FileNotFoundError(f"{family.data_dir}: no nbody card; run `python -m egno data nbody` first")
    size, seed = card["sizes"][split], _split_seed(card, split)
    start = time.time()
    last = _last_split_frame(max(windows, TRAIN_WINDOWS))
    data = nbody.simulate(size, seed=seed, steps=(last + 2) * nbody.SAVE_EVERY)
    keep = slice(FIRST_TRAIN_FRAME, last + 1)
    path = family.data_dir / f"long_{split}.npz"
    np.savez(path, loc=data["loc"][:, keep], vel=data["vel"][:, keep], charges=data["charges"])
    made = {"generator": "egno.data.nbody.simulate", "seed": seed, "systems": size,
            "first_saved_frame": FIRST_TRAIN_FRAME, "last_saved_frame": last,
            "wall_time_s": round(time.time() - start, 1)}
    (family.data_dir / f"long_{split}.json").write_text(json.dumps(made, indent=2))
    return path


def _last_split_frame(windows: int) -> int:
    """The last saved frame a train/val long file needs for ``windows`` windows of truth after
    its last input frame (34: the starts are centred on frame 30)."""
    from egno.data import nbody

    return 2 * nbody.INPUT_FRAME - FIRST_TRAIN_FRAME + nbody.WINDOW_FRAMES * windows


def _continues(family: DatasetFamily, split: str, windows: int = TRAIN_WINDOWS) -> bool:
    """Whether ``long_{split}.npz`` exists, continues the split's systems (same seed, size) and
    holds ``windows`` windows of truth after the last input."""
    made, card = family.data_dir / f"long_{split}.json", family.generation_card()
    if not made.exists() or not (family.data_dir / f"long_{split}.npz").exists() or card is None:
        return False
    made = json.loads(made.read_text())
    return (made["seed"] == _split_seed(card, split) and made["systems"] == card["sizes"][split]
            and made["last_saved_frame"] >= _last_split_frame(windows))


def _split_seed(card: dict, split: str) -> int:
    """The simulator seed of an nbody split, from the data card (``NBody.generate``'s rule)."""
    from egno.data import nbody

    return card["seed"] * 10 + nbody.SPLITS[split][1]


def _pad(frames: list[np.ndarray], n_frames: int, shape: tuple) -> np.ndarray:
    """Stack the frames that exist and fill the rest with NaN: (n_frames, *shape)."""
    out = np.full((n_frames, *shape), np.nan)
    if frames:
        out[: len(frames)] = np.stack(frames)
    return out


def _with_truth(w: Windows, truth: list[np.ndarray], windows: int, timesteps: int) -> Windows:
    target = torch.as_tensor(np.concatenate(truth, axis=1), dtype=torch.float32)
    return replace(w, t=torch.as_tensor(long_times(windows, timesteps), dtype=torch.float32),
                   target=target)


def nbody_truth(family, windows, p, split="test", starts=1, start_windows=1):
    """nbody: the split's long file (simulated when missing); ``starts`` input frames per system
    centred on frame 30, as ``NBody.load``; ``start_windows`` = W > 1 (train and val): also one
    input at the start of each later window 2..W of the true trajectory (frames 40, 50, ...), the
    spread-out systems a chained rollout reaches."""
    from egno.data import nbody

    path = family.data_dir / f"long_{split}.npz"
    if start_windows > 1 and split == "test":
        raise ValueError("later starts are for training and validation, not the long test file")
    if split == "test" and not path.exists():
        generate_nbody_long(family)
    elif split != "test" and not _continues(family, split, windows + start_windows - 1):
        generate_nbody_split_long(family, split, windows + start_windows - 1)
    first_saved = nbody.INPUT_FRAME if split == "test" else FIRST_TRAIN_FRAME
    with np.load(path, allow_pickle=False) as f:
        loc, vel, q = f["loc"], f["vel"], f["charges"]
    step = nbody.WINDOW_FRAMES // p
    assert nbody.WINDOW_FRAMES % p == 0, f"nbody long truth is on saved frames: P must divide 10, not {p}"
    first = nbody.INPUT_FRAME - starts // 2 - first_saved
    most = 2 * (nbody.INPUT_FRAME - first_saved) + 1
    assert first >= 0, f"the {split} long file starts at frame {first_saved}: at most {most} starts"
    later = nbody.INPUT_FRAME - first_saved + nbody.WINDOW_FRAMES * np.arange(1, start_windows)
    parts = []
    for s in [*range(first, first + starts), *later]:
        frames = s + step * np.arange(1, windows * p + 1)
        truth = np.full((len(loc), len(frames), loc.shape[2], 3), np.nan)
        have = frames < loc.shape[1]
        truth[:, have] = loc[:, frames[have]]
        parts.append(nbody.build_windows(loc[:, s], vel[:, s], q, truth, long_times(windows, p)))
    return Windows.concat(parts) if len(parts) > 1 else parts[0]


def mocap_truth(family, windows, p, split="test", starts=1):
    """mocap: the split's trials, ``starts`` starts every window (test; 1: back to back) or one
    every ``STRIDE[split]`` frames, as the split's windows (train, val)."""
    _ensure_split(family, split)
    from egno.data.mocap import FPS, STRIDE, WINDOW_FRAMES, build_mocap_windows

    if not 1 <= starts <= WINDOW_FRAMES:
        raise ValueError(f"mocap: 1 to {WINDOW_FRAMES} starts per window, not {starts}")
    stride = WINDOW_FRAMES // starts if split == "test" else STRIDE[split]

    with np.load(family.data_dir / f"{split}.npz", allow_pickle=False) as f:
        positions, lengths = f["positions"], f["lengths"]
    bones, joints = family._skeleton_arrays()
    step = WINDOW_FRAMES // p
    xs, vs, truth, offset = [], [], [], 0
    for n in lengths:
        pos = positions[offset:offset + n]
        offset += n
        # the long-horizon test: a start every window (overlapping rollouts with starts > 1, more
        # phases of the same trials); training data: the split's own stride
        for s in range(1, n - WINDOW_FRAMES, stride):
            xs.append(pos[s])
            vs.append((pos[s + 1] - pos[s - 1]) * (FPS / 2))
            frames = s + step * np.arange(1, windows * p + 1)
            truth.append(_pad([pos[f] for f in frames if f < n], len(frames), pos.shape[1:]))
    w = build_mocap_windows(np.stack(xs), np.stack(vs), None, bones, len(joints), p)
    w.meta.update(dataset=family.name, joints=joints)
    return _with_truth(w, truth, windows, p)


def md17_truth(family, windows, p, split="test", starts=1):
    """md17: the split's segments, ``starts`` starts every window (test, val; 1: back to back, more:
    overlapping rollouts from more phases of the same segments) or one every window spacing of the
    split's card (train: as many inputs as its windows)."""
    family.ensure(progress=False)
    from egno.data.md17 import molecule_windows, split_spacing
    from egno.data.md17_sim import STRIDE, WINDOW_STEPS

    with np.load(family.data_dir / f"{split}.npz", allow_pickle=False) as f:
        pos, vel, z = f["positions"], f["velocities"], f["z"]
    if pos.ndim == 3:  # one long trajectory (data made before segments)
        pos, vel = pos[None], vel[None]
    per_window = WINDOW_STEPS // STRIDE
    step = per_window // p
    if not 1 <= starts <= per_window:
        raise ValueError(f"md17: 1 to {per_window} starts per window, not {starts}")
    every = split_spacing(family.generation_card(), split) // STRIDE if split == "train" else per_window // starts
    heavy = z > 1
    parts, truth = [], []
    for seg_pos, seg_vel in zip(pos, vel):
        firsts = np.arange(0, len(seg_pos) - per_window, every)  # the segment's input frames
        parts.append(molecule_windows(seg_pos, seg_vel, z, firsts, None, p))
        for s in firsts:
            frames = s + step * np.arange(1, windows * p + 1)
            truth.append(_pad([seg_pos[f][heavy] for f in frames if f < len(seg_pos)], len(frames),
                              (int(heavy.sum()), 3)))
    w = Windows.concat(parts) if len(parts) > 1 else parts[0]
    w.meta.update(dataset=family.name)
    return _with_truth(w, truth, windows, p)


def protein_truth(family, windows, p, split="test", starts=1):
    """protein: the split's run, one start every window."""
    _ensure_split(family, split)
    from egno.data.protein import FRAME_PS, WINDOW_FRAMES, backbone_features, protein_windows

    with np.load(family.data_dir / f"{split}.npz", allow_pickle=False) as f:
        pos, resids = f["positions"], f["resids"]
        names, resnames = [str(a) for a in f["names"]], [str(r) for r in f["resnames"]]
        static = backbone_features(names, resnames, resids, f["charges"])
    starts = np.arange(1, len(pos) - WINDOW_FRAMES, WINDOW_FRAMES)
    w = protein_windows(pos, static, resids, starts, p, FRAME_PS, None)
    step = WINDOW_FRAMES // p
    truth = []
    for s in starts:
        frames = s + step * np.arange(1, windows * p + 1)
        truth.append(_pad([pos[f] for f in frames if f < len(pos)], len(frames), pos.shape[1:]))
    w.meta.update(dataset=family.name, atom_names=names, resnames=resnames, resids=resids.tolist())
    return _with_truth(w, truth, windows, p)


def long_windows(family: DatasetFamily, windows: int, timesteps: int | None = None,
                 split: str = "test", starts: int = 1, start_windows: int = 1) -> Windows:
    """Input states with the truth for ``windows`` windows of ``timesteps`` frames (NaN past the
    data; the family's ``long_truth``) from ``split``; the data are generated first where the
    family can. ``starts`` > 1: more input frames per trajectory where the family has them;
    ``start_windows`` > 1 (nbody): inputs at the starts of later windows too."""
    p = timesteps or family.default_timesteps
    w = family.long_truth(windows, p, split, starts, start_windows)
    w.meta.update(dataset=family.name, split=split, long_windows=windows, timesteps=p)
    return w


def one_start_window(family: DatasetFamily, start_windows: int) -> None:
    """ValueError for later starts in a family whose long truth already starts every window."""
    if start_windows > 1:
        raise ValueError(f"{family.name}: its long truth already has a start every window; "
                         "--start-windows is for nbody")


def _ensure_split(family: DatasetFamily, split: str) -> None:
    if not (family.data_dir / f"{split}.npz").exists():
        family.generate(progress=False, splits=(split,))


def uniform(timesteps: int) -> torch.Tensor:
    return torch.as_tensor(uniform_times(timesteps), dtype=torch.float32)
