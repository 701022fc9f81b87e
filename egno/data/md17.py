"""Molecules: MD17-protocol trajectories simulated here (docs/design.md §2), addressed as
md17/<molecule>. The simulation lives in ``md17_sim``; this module turns its stored segments
(or a user's MD17 npz / XYZ file) into heavy-atom windows.

A window starts every ``spacing`` steps inside a segment; ΔT = 3000 steps (1500 fs); targets
every 3000 / P steps, so P may be any divisor of 200 (8 and 50 included).
"""
from __future__ import annotations

import functools
import json
from collections import Counter
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from egno.paths import SAMPLES
from egno import limits
from egno.data import physics, rigid
from egno.data.base import DatasetFamily, Windows, bonded_pairs, copy_committed, read_user_npz, uniform_times
from egno.data.export import extxyz_bytes, npz_bytes
from egno.data.trajectory import Trajectory, from_array, head_text, marker_line, npz_marker
from egno.data.md17_sim import (MOLECULES, SEGMENTS, STRIDE, TIMESTEP_FS, WINDOW_STEPS, generate_molecule,
                       segment_windows)
from egno.data.mocap import two_hop


# ---------------------------------------------------------------- windows and the family
ELEMENTS = (6, 7, 8)  # C, N, O one-hot; anything else heavy goes to the "other" column
BOND = 1.6            # Å: heavy-atom pairs closer than this at the input frame are bonds
MAX_ATOMS = limits.MOLECULE_MAX_ATOMS
MAX_FRAMES = limits.MOLECULE_MAX_FRAMES
SPEED_FS = 100.0      # node feature ‖v‖ · 100 fs (≈ 1 Å at 500 K)


def molecule_graph(x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bonds (< 1.6 Å at the input) plus 2-hop pairs, (2, E) both directions, and edge features
    [z_i / 10, z_j / 10, bond, 2-hop, ‖Δx‖²]."""
    d2 = ((x[:, None] - x[None]) ** 2).sum(-1)
    adj = d2 < BOND**2
    np.fill_diagonal(adj, False)
    bonds = np.stack(np.nonzero(adj))
    hop2 = two_hop(bonds, len(x))
    edges = np.concatenate([bonds, hop2], axis=1)
    kind = np.concatenate([np.tile([1.0, 0.0], (bonds.shape[1], 1)), np.tile([0.0, 1.0], (hop2.shape[1], 1))])
    attr = np.concatenate([z[edges[0], None] / 10, z[edges[1], None] / 10, kind,
                           d2[edges[0], edges[1], None]], axis=1)
    return edges, attr


def molecule_windows(pos, vel, z, starts, frames_per_target: int | None, timesteps: int) -> Windows:
    """Heavy-atom windows of one trajectory: pos, vel (T, N, 3) in Å and Å/fs at stored frames,
    z (N,); targets every ``frames_per_target`` frames (None: no ground truth)."""
    heavy = z > 1
    zh = z[heavy]
    onehot = np.zeros((len(zh), len(ELEMENTS) + 1))
    onehot[np.arange(len(zh)), [ELEMENTS.index(e) if e in ELEMENTS else len(ELEMENTS) for e in zh]] = 1
    window = WINDOW_STEPS * TIMESTEP_FS
    h, xs, vs, ei, ea, tg = [], [], [], [], [], []
    for s in starts:
        x, v = pos[s][heavy], vel[s][heavy]
        edges, attr = molecule_graph(x, zh)
        h.append(np.concatenate([onehot, np.linalg.norm(v, axis=-1, keepdims=True) * SPEED_FS], axis=1))
        xs.append(x)
        vs.append(v)
        ei.append(edges)
        ea.append(attr)
        if frames_per_target is not None:
            tg.append(np.stack([pos[s + frames_per_target * p][heavy] for p in range(1, timesteps + 1)]))
    return Windows.from_arrays(h, xs, vs, ei, ea, tg if frames_per_target is not None else None,
                               uniform_times(timesteps), window=window)


def carry_rotation(w: Windows, pos: np.ndarray, z: np.ndarray, dt: float, starts,
                   v0: np.ndarray | None = None) -> Windows:
    """``w`` (heavy-atom windows from frames ``starts`` of the all-atom frames ``pos``, ``dt``
    apart) with each window's rigid rotation split off and carried (egno.data.rigid): the angular
    momentum averaged over the frames around the start (from ``v0`` (N, 3), all atoms, when the
    file has fewer than three frames). ``w`` unchanged when no window turns by CARRY_MIN_ANGLE;
    ``meta["turn_rad"]``: each window's turn at its input angular velocity."""
    from ase.data import atomic_masses

    m, heavy = atomic_masses[z], z > 1
    v = w.v.double().numpy().copy()
    motions, turns = [], []
    for i, s in enumerate(starts):
        s = int(s)
        if len(pos) >= 3:
            L = rigid.mean_angular_momentum(pos, dt, m, s)
            velocity = pos[min(s + 1, len(pos) - 1)] - pos[max(s - 1, 0)]
            velocity = velocity / (dt * (min(s + 1, len(pos) - 1) - max(s - 1, 0)))
        else:
            velocity = np.zeros_like(pos[s]) if v0 is None else v0
            L = rigid.angular_momentum(pos[s], velocity, m)
        motion = rigid.rigid_motion(pos[s], velocity, m, L)
        nodes = w.sample_nodes(i)
        v[nodes], carried = rigid.split_rotation(pos[s][heavy], v[nodes], motion, w.window)
        motions.append(carried if carried is not None else rigid.still())
        turns.append(float(motion.turn_angle(w.window)[0]))
    w.meta["turn_rad"] = turns
    if all(np.allclose(mo.angular_momentum, 0) for mo in motions):
        return w
    h = w.h.clone()
    h[:, -1] = torch.as_tensor(np.linalg.norm(v, axis=-1) * SPEED_FS, dtype=h.dtype)
    return replace(w, v=torch.as_tensor(v, dtype=w.v.dtype), h=h, spin=rigid.RigidMotion.concat(motions))


def bond_signature(symbols: list[str], bonds: np.ndarray) -> tuple:
    """Each atom's element with its bonded neighbours' elements, sorted: equal for the same
    molecule whatever the atom order."""
    neighbours = {i: [] for i in range(len(symbols))}
    for a, b in np.asarray(bonds).reshape(2, -1).T:
        neighbours[int(a)].append(symbols[int(b)])
    return tuple(sorted((symbols[i], tuple(sorted(n))) for i, n in neighbours.items()))


@functools.lru_cache(maxsize=None)
def reference_molecule(name: str) -> tuple[Counter, tuple]:
    """The heavy-atom formula and bond signature of one of the eight molecules, from its SMILES."""
    from rdkit import Chem

    mol = Chem.MolFromSmiles(MOLECULES[name])
    symbols = [a.GetSymbol() for a in mol.GetAtoms()]
    pairs = [(b.GetBeginAtomIdx(), b.GetEndAtomIdx()) for b in mol.GetBonds()]
    bonds = np.array([p for a, b in pairs for p in ((a, b), (b, a))]).T
    return Counter(symbols), bond_signature(symbols, bonds)


def molecule_name(symbols: list[str]) -> str | None:
    """Which of the eight molecules a set of heavy atoms is by its formula (they all differ), or None."""
    count = Counter(symbols)
    return next((name for name in MOLECULES if reference_molecule(name)[0] == count), None)


class MD17(DatasetFamily):
    default_timesteps = 8
    time_unit = "fs"
    length_unit = "Å"
    file_formats = ("xyz", "extxyz", "npz")
    view = "molecule"
    variants = (*MOLECULES, "all")
    window = WINDOW_STEPS * TIMESTEP_FS
    frame_dt = TIMESTEP_FS
    max_speed = (0.06, "four times the thermal speed of a carbon atom at 1000 K (0.014 Å/fs)")
    speed_scale = SPEED_FS
    edge_length_column = 4  # edges [z_i/10, z_j/10, bond, 2-hop, ‖Δx‖²]
    shape_metrics = True
    reader_modules = ("rdkit.Chem",)
    upload_help = ("A multi-frame XYZ / extended XYZ (`time` in fs per frame and a `vel` column in "
                   "Å/fs or ASE's `momenta`, if you have them) or an "
                   "MD17/sGDML npz (`R`, `z`, optionally `time`). Heavy atoms are used. One of the "
                   "eight MD17 molecules goes to its own model, any other to `md17/all` when that "
                   "is shipped.")
    upload_examples = (
        ("aspirin XYZ with times", ("aspirin_with_times.xyz",), "41 frames, 37.5 fs apart, with "
         "velocities: scored"),
        ("aspirin XYZ without times", ("aspirin_no_times.xyz",), "the same frames; the file does not "
         "say they are 37.5 fs apart"),
        ("aspirin MD17-style npz", ("aspirin_md17.npz",), "R, z and time"),
        ("aspirin, one frame", ("aspirin_one_frame.xyz",), "starting velocities: zero or thermal"),
        ("ethanol XYZ", ("ethanol_with_times.xyz",), "with velocities; goes to the ethanol model on any "
         "molecule page"),
    )

    def drawn_edges(self, meta: dict, x0: np.ndarray) -> np.ndarray:
        return bonded_pairs(x0)

    def read_nodes(self, meta: dict) -> np.ndarray:
        return np.flatnonzero(np.asarray(meta["z"]) > 1)  # heavy atoms only

    def node_label(self, meta: dict, index: int) -> str:
        return f"atom {index + 1} ({_symbol(int(meta['z'][index]))})"

    def sample_meta(self, windows: Windows, index: int) -> dict:
        return {**windows.meta, "symbols": self.symbols(windows, index)}

    def long_truth(self, windows: int, timesteps: int, split: str = "test", starts: int = 1,
                   start_windows: int = 1) -> Windows:
        from egno.data.long import one_start_window, md17_truth

        one_start_window(self, start_windows)
        if self.variant == "all":  # every molecule's starts, one molecule after another
            w = Windows.concat([MD17(m, d).long_truth(windows, timesteps, split, starts)
                                for m, d in self._molecule_dirs().items()])
            w.meta.update(dataset=self.name)
            return w
        return md17_truth(self, windows, timesteps, split, starts)

    def __init__(self, variant: str | None, data_dir: Path | None = None):
        if variant not in (*MOLECULES, "all"):
            raise ValueError(f"md17 datasets: {['md17/' + m for m in (*MOLECULES, 'all')]}, not md17/{variant}")
        self.variant, self.name = variant, f"md17/{variant}"
        super().__init__(data_dir)

    @staticmethod
    def symbols(windows: Windows, index: int) -> list[str]:
        """Element symbols of sample ``index``'s heavy atoms, from its one-hot node features
        ('X' for the 'other' column)."""
        h = windows.h[windows.sample_nodes(index), : len(ELEMENTS) + 1]
        names = [_symbol(e) for e in ELEMENTS] + ["X"]
        return [names[int(k)] for k in h.argmax(1)]

    def matches(self, windows: Windows, index: int = 0) -> bool:
        """Whether sample ``index`` has this molecule's heavy atoms (md17/all matches any)."""
        if self.variant == "all":
            return True
        from rdkit import Chem

        mol = Chem.MolFromSmiles(MOLECULES[self.variant])
        want = sorted(a.GetSymbol() for a in mol.GetAtoms())
        return sorted(self.symbols(windows, index)) == want

    def _molecule_dirs(self) -> dict[str, Path]:
        if self.variant != "all":
            return {self.variant: self.data_dir}
        return {m: self.data_dir.parent / m for m in MOLECULES}

    def generate(self, progress: bool = True, engine: str = "xtb", sizes: dict | None = None,
                 splits: tuple[str, ...] = ("train", "val", "test"), spacing: int = 30,
                 segments: int = SEGMENTS, production: str = "nve", workers: int = 1,
                 rotation: str = "zero", **_) -> Path:
        """Simulate the molecule's splits (md17/all: every molecule's). A request for the test
        split alone is served from the committed sample (assets/samples/md17) when there is one:
        the app then needs no minutes of GFN2-xTB MD."""
        if engine == "xtb":  # one thread per process: more are far slower on small molecules
            os.environ["OMP_NUM_THREADS"] = "1"
        for name, folder in self._molecule_dirs().items():
            committed = SAMPLES / "md17" / name
            if set(splits) == {"test"} and (folder / "test.npz").exists():
                continue  # generated here or copied before: never overwritten by a copy
            if set(splits) == {"test"} and (committed / "test.npz").exists():
                copy_committed(committed, folder, ("test.npz", "card.json"))
                continue
            generate_molecule(folder, name, engine, spacing, sizes, progress, splits, segments,
                              production, workers, rotation=rotation)
            if "test" not in splits and (committed / "test.npz").exists() and \
                    "test" not in json.loads((folder / "card.json").read_text())["splits"]:
                add_committed_test(folder, committed)
        return self.data_dir

    def ensure(self, progress: bool = True) -> None:
        """The test split of every molecule: generated here, else the committed sample's copy."""
        for m, d in self._molecule_dirs().items():
            if not (d / "test.npz").exists() and (SAMPLES / "md17" / m / "test.npz").exists():
                if (d / "card.json").exists():  # a generation's card: merged, never overwritten
                    add_committed_test(d, SAMPLES / "md17" / m)
                else:
                    copy_committed(SAMPLES / "md17" / m, d, ("test.npz", "card.json"))
        missing = [m for m, d in self._molecule_dirs().items() if not (d / "test.npz").exists()]
        if missing:
            raise FileNotFoundError(f"no simulated data for {missing}: run `python -m egno data "
                                    f"md17 --molecule {self.variant}` first (GFN2-xTB, long)")

    def floor(self) -> float | None:
        """The heavy-atom floor (Å²): half the F-MSE between test windows rerun with the
        hydrogens' velocities redrawn (docs/results/molecules.md)."""
        path = self.data_dir / "card.json"
        if self.variant == "all" or not path.exists():
            return None
        return json.loads(path.read_text()).get("floors", {}).get("heavy_atom_f_mse")

    def generation_card(self) -> dict | None:
        """The molecule's data card; for md17/all every molecule's, by name."""
        if self.variant != "all":
            return super().generation_card()
        cards = {m: json.loads((d / "card.json").read_text()) for m, d in self._molecule_dirs().items()
                 if (d / "card.json").exists()}
        return cards or None

    def available_timesteps(self, split: str) -> list[int]:
        frames = WINDOW_STEPS // STRIDE
        return [p for p in range(1, frames + 1) if frames % p == 0]

    def load(self, split: str, timesteps: int | None = None, starts: int = 1) -> Windows:
        p = timesteps or self.default_timesteps
        if p not in self.available_timesteps(split):
            raise ValueError(f"{self.name} has ground truth for P in {self.available_timesteps(split)}, not {p}")
        parts = []
        for name, folder in self._molecule_dirs().items():
            path = folder / f"{split}.npz"
            if not path.exists():
                raise FileNotFoundError(f"{path} not found: run `python -m egno data md17 --molecule {name}`")
            card = json.loads((folder / "card.json").read_text())
            with np.load(path, allow_pickle=False) as f:
                pos, vel, z = f["positions"], f["velocities"], f["z"]
            if pos.ndim == 3:  # data made before segments: one long trajectory per split
                pos, vel = pos[None], vel[None]
            step = split_spacing(card, split) // STRIDE
            parts += [molecule_windows(pos[s], vel[s], z, np.arange(n) * step, WINDOW_STEPS // STRIDE // p, p)
                      for s, n in enumerate(_segment_counts(card, split, pos.shape))]
        w = Windows.concat(parts) if len(parts) > 1 else parts[0]
        w.meta.update(dataset=self.name, split=split)
        return w

    def segments(self, split: str) -> np.ndarray:
        """The segment of every window of ``split``, in ``load`` order (numbered across molecules
        for md17/all). Windows of one segment are strongly correlated: a split's independent
        samples are its segments, and a standard error should be taken over them."""
        out, first = [], 0
        for folder in self._molecule_dirs().values():
            card = json.loads((folder / "card.json").read_text())
            with np.load(folder / f"{split}.npz", allow_pickle=False) as f:
                shape = f["positions"].shape
            counts = _segment_counts(card, split, shape if len(shape) == 4 else (1, *shape))
            out.append(np.repeat(np.arange(first, first + len(counts)), counts))
            first += len(counts)
        return np.concatenate(out)

    def read_trajectory(self, arg: str) -> Trajectory:
        """A user's XYZ / extended XYZ / MD17 npz as frames for the Upload page (all atoms; the
        windows read the heavy atoms and carry a tumbling molecule's rotation)."""
        from ase.data import atomic_masses

        path = Path(arg)
        if path.suffix.lower() == ".npz":
            pos, z, dt = _read_md17_npz(path, with_dt=True)
            prediction, vel = npz_marker(path), None
        else:
            pos, z, dt, vel = _read_xyz(path)
            prediction = marker_line(head_text(path, 2048))
        if not (z > 1).any():
            raise ValueError(f"{path.name}: no heavy atoms")

        def build(x0, v0, target, p, start=0, dt=None):
            frames = np.concatenate([x0[None], target]) if target is not None else x0[None]
            w = molecule_windows(frames, np.broadcast_to(v0, frames.shape), z, [0],
                                 1 if target is not None else None, p)
            return carry_rotation(w, pos, z, dt or self.frame_dt, [start], v0)

        meta = {"symbols": [_symbol(e) for e in z[z > 1]], "z": z.tolist()}
        return Trajectory(len(pos), dt, from_array(pos), build, meta, velocities=vel,
                          masses=atomic_masses[z], prediction=prediction)

    def write_trajectory(self, frames: np.ndarray, times: np.ndarray, meta: dict, label: str) -> dict[str, bytes]:
        """Extended XYZ and an MD17-style npz (R, z) of the heavy atoms."""
        from ase.data import atomic_numbers

        z = np.array([atomic_numbers[s] for s in meta["symbols"]])
        return {"extxyz": extxyz_bytes(frames, times, list(meta["symbols"]), label),
                "npz": npz_bytes("R", frames, times, label, z=z)}

    def physical_checks(self, one: Windows, frames: np.ndarray, truth: np.ndarray | None,
                        dt: float) -> dict[str, np.ndarray]:
        """Bond lengths and angles against the truth (past the data: the input's)."""
        attr = one.edge_attr.numpy()
        reference = frames[:1].repeat(len(frames), 0) if truth is None else truth.copy()
        reference[~np.isfinite(reference).all((1, 2))] = frames[0]
        return physics.molecule_checks(frames, reference, one.edge_index.numpy()[:, attr[:, physics.MD17_BOND] > 0.5])

    def read_file(self, path: Path, timesteps: int | None = None,
                  max_windows: int | None = None) -> Windows:
        """An MD17/sGDML npz (R (T, N, 3) Å, z (N,), frames 0.5 fs apart: windows every 30
        steps, up to 2000 or ``max_windows``, as the protocol) or a multi-frame XYZ / extended
        XYZ read with ASE (frames 0.5 fs apart unless each frame's info has ``time`` in fs: one
        window from frame 0). Velocities by finite differences; heavy atoms only."""
        p = timesteps or self.default_timesteps
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".npz":
            pos, z, dt = _read_md17_npz(path, with_dt=True)
            dt = dt or TIMESTEP_FS
        elif suffix in (".xyz", ".extxyz"):
            pos, z, dt, _ = _read_xyz(path)
            dt = dt or TIMESTEP_FS
        else:
            raise ValueError(f"{path.name}: md17 reads .xyz, .extxyz or .npz, not '{suffix}'")
        if pos.shape[1] != len(z):
            raise ValueError(f"{path.name}: z has {len(z)} atoms but R has {pos.shape[1]}")
        if not (z > 1).any():
            raise ValueError(f"{path.name}: no heavy atoms")
        if len(pos) < 2:
            raise ValueError(f"{path.name}: need at least 2 frames for velocities")
        if len(pos) > MAX_FRAMES or pos.shape[1] > MAX_ATOMS:
            raise ValueError(f"{path.name}: over the limits of {MAX_FRAMES} frames and {MAX_ATOMS} atoms")
        steps_per_target = WINDOW_STEPS * TIMESTEP_FS / p / dt
        whole = abs(steps_per_target - round(steps_per_target)) < 1e-6 and round(steps_per_target) >= 1
        per = round(steps_per_target) if whole else None
        if suffix == ".npz" and per is not None:
            starts = np.arange(0, len(pos) - per * p, round(30 * TIMESTEP_FS / dt))[:max_windows or 2000]
        else:
            starts = np.array([0])
        if per is not None and len(pos) <= per * p:
            per = None
        starts = starts if per is not None else np.array([0])
        # velocities (central differences) of the frames the windows use, not of the whole file
        used = pos[: int(starts[-1]) + (per or 0) * p + 2]
        w = molecule_windows(used, np.gradient(used, dt, axis=0), z, starts, per, p)
        w = carry_rotation(w, pos, z, dt, starts)
        if w.edge_index.shape[1] > limits.MAX_EDGES * len(starts):
            raise ValueError(f"{path.name}: atoms so close together that the graph has "
                             f"{w.edge_index.shape[1] // len(starts):,} edges, over the limit of "
                             f"{limits.MAX_EDGES:,}")
        w.meta.update(source=path.name, frames=len(pos), nodes=int((z > 1).sum()),
                      symbols=[_symbol(e) for e in z[z > 1]])
        return w


def add_committed_test(folder: Path, committed: Path) -> None:
    """Put the committed test split beside simulated train and val splits, its facts and floors
    merged into the generation card: training and evaluation then need no test MD or floors.
    Refused when the committed split was made with other settings."""
    card = json.loads((folder / "card.json").read_text())
    theirs = json.loads((committed / "card.json").read_text())
    keys = ("smiles", "engine", "production", "rotation", "spacing_steps", "segments", "stride_steps",
            "window_steps", "timestep_fs", "temperature_K")
    differ = {k: (card.get(k), theirs.get(k)) for k in keys if card.get(k) != theirs.get(k)}
    test_size = (card.get("sizes", {}).get("test"), theirs.get("sizes", {}).get("test"))
    if test_size[0] != test_size[1]:  # train and val sizes (longer segments to chain) leave test alone
        differ["test size"] = test_size
    if differ:
        raise ValueError(f"the committed test split of {folder.name} was made with other settings "
                         f"(here, committed): {differ}; simulate the test split too (--splits train val test)")
    copy_committed(committed, folder, ("test.npz",))
    card["splits"]["test"] = theirs["splits"]["test"]
    if "floors" in theirs:
        card["floors"] = theirs["floors"]
    card["test_source"] = f"committed sample ({theirs.get('note', 'assets/samples')})"
    (folder / "card.json").write_text(json.dumps(card, indent=2))


def _segment_counts(card: dict, split: str, shape: tuple) -> list[int]:
    """Windows taken from each segment of a stored split of ``shape`` (segments, frames, atoms, 3)."""
    step = split_spacing(card, split) // STRIDE
    room = (shape[1] - WINDOW_STEPS // STRIDE - 1) // step + 1
    return [min(n, room) for n in segment_windows(card["sizes"][split], shape[0])]


def split_spacing(card: dict, split: str) -> int:
    """MD steps between window starts in ``split`` (older cards could give training its own)."""
    spacing = card["spacing_steps"]
    return card.get("train_spacing_steps", spacing) if split == "train" else spacing


def _symbol(z: int) -> str:
    from ase.data import chemical_symbols

    return chemical_symbols[int(z)]


def _read_md17_npz(path: Path, with_dt: bool = False) -> tuple:
    """R (T, N, 3) Å and z (N,) of an MD17/sGDML npz, or of this project's own md17 files
    (``positions`` (T, N, 3) or (segments, T, N, 3): the first segment, frames 7.5 fs apart).
    With ``with_dt``, also the time between frames in fs when the file says it (a ``time``
    array, or the project's layout), else None."""
    arrays = read_user_npz(path, ("z",), ("R", "positions", "time"), what="an MD17 npz")
    key = "R" if "R" in arrays else "positions"
    if key not in arrays:
        raise ValueError(f"{path.name}: an MD17 npz needs the positions as an array 'R' (or 'positions')")
    pos, z = arrays[key], arrays["z"].ravel()
    dt = None
    if key == "positions":  # this project's layout: frames every STRIDE steps; segments: the first
        pos, dt = (pos[0] if pos.ndim == 4 else pos), STRIDE * TIMESTEP_FS
    if "time" in arrays and arrays["time"].size > 1:
        steps = np.diff(arrays["time"].ravel())
        if not (steps > 0).all() or np.ptp(steps) > 1e-4 * steps.max():
            raise ValueError(f"{path.name}: frame times must be evenly spaced and increasing")
        dt = float(steps.mean())
    if pos.ndim == 3 and (len(pos) > MAX_FRAMES or pos.shape[1] > MAX_ATOMS):
        raise ValueError(f"{path.name}: R has {pos.shape[0]} frames of {pos.shape[1]} atoms, over "
                         f"the limits of {MAX_FRAMES} frames and {MAX_ATOMS} atoms")
    if not (np.isfinite(z).all() and (z == np.round(z)).all() and (z >= 1).all() and (z <= 118).all()):
        raise ValueError(f"{path.name}: z must hold atomic numbers (whole numbers 1-118)")
    z = z.astype(int)
    if pos.ndim != 3 or pos.shape[-1] != 3:
        raise ValueError(f"{path.name}: R must be (frames, atoms, 3), got {pos.shape}")
    if not np.isfinite(pos).all():
        raise ValueError(f"{path.name}: R has NaN or inf")
    return (pos, z, dt) if with_dt else (pos, z)


def _read_xyz(path: Path) -> tuple[np.ndarray, np.ndarray, float | None, np.ndarray | None]:
    """Positions (T, N, 3) Å, atomic numbers, the time between frames in fs when every frame has
    ``time`` (else None) and velocities (T, N, 3) Å/fs when every frame has them (a ``vel``
    column in Å/fs, or ASE's ``momenta``; else None) of a multi-frame XYZ / extended XYZ."""
    from ase.io import read

    from egno.data.base import check_user_file
    from egno.data.prescan import scan_xyz

    check_user_file(path)
    scan_xyz(path, MAX_ATOMS, MAX_FRAMES)  # ASE would walk the atom counts the file declares
    try:
        images = read(str(path), index=":", format="extxyz")
    except Exception as e:  # ASE raises several exception types for malformed XYZ
        raise ValueError(f"{path.name}: not a readable XYZ file ({type(e).__name__}: {e})") from None
    if not images:
        raise ValueError(f"{path.name}: no frames")
    z = images[0].numbers
    if any(len(a) != len(z) or (a.numbers != z).any() for a in images):
        raise ValueError(f"{path.name}: every frame must have the same atoms in the same order")
    pos = np.stack([a.positions for a in images])
    if not np.isfinite(pos).all():
        raise ValueError(f"{path.name}: non-finite coordinates")
    times = [a.info.get("time") for a in images]
    dt = None  # not in the file: the caller decides
    if len(images) > 1 and all(isinstance(t, (int, float, np.integer, np.floating)) for t in times):
        steps = np.diff(times)
        if not (steps > 0).all() or np.ptp(steps) > 1e-6 * max(steps.max(), 1):
            raise ValueError(f"{path.name}: frame times must be evenly spaced and increasing")
        dt = float(steps[0])
    return pos, z, dt, _xyz_velocities(images, path.name)


def _xyz_velocities(images, name: str) -> np.ndarray | None:
    """Velocities in Å/fs from each frame's ``vel`` (Å/fs) or ``momenta`` (ASE units) column,
    when every frame has one; None otherwise."""
    from ase import units

    if all("vel" in a.arrays for a in images):
        vel = np.stack([a.arrays["vel"] for a in images]).astype(np.float64)
    elif all("momenta" in a.arrays for a in images):
        vel = np.stack([a.get_velocities() for a in images]) * units.fs
    else:
        return None
    if vel.shape[-1] != 3 or not np.isfinite(vel).all():
        raise ValueError(f"{name}: velocities must be finite, three per atom")
    return vel
