"""Protein: adenylate kinase (AdK) backbone dynamics from the CHARMM trajectories that the
``mdanalysistests`` package ships (docs/design.md §2), read with MDAnalysis.

What these trajectories are: ``adk_dims.dcd`` (98 frames) and ``adk_dims2.dcd`` (102 frames) are
two DIMS runs (dynamic importance sampling: a *biased* closed → open transition of AdK, implicit
solvent), frames 1 ps apart; they are not equilibrium MD (the paper uses a 4187-frame equilibrium
run, 240 ps apart). Both use the topology ``adk.psf`` (214 residues; 855 backbone atoms N CA C O).

Protocol (ours): ΔT = 12 frames = 12 ps, P = 4 (targets 3, 6, 9, 12 ps after the input), input =
positions at frame s and velocities by central differences (Å/ps). Splits, so no test window
overlaps a training or validation window: train = every window of adk_dims.dcd; validation =
windows inside frames 0–50 of adk_dims2.dcd; test = windows inside frames 51–101 of adk_dims2.dcd.
Graph: all backbone pairs closer than 10 Å at the input frame. Node features: atom name one-hot
(N, CA, C, O), residue type one-hot (20 standard + other), partial charge (from the topology, else
CHARMM36 backbone values), ‖v‖·ΔT / 10 Å; edge features: [(d / 10 Å)², same or adjacent residue].
The models see lengths in units of 10 Å (``length_scale``). Lengths in Å, times in ps.
"""
from __future__ import annotations

import json
from dataclasses import replace
import time
import warnings
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from egno.paths import SAMPLES
from egno import limits
from egno.data import physics
from egno.data.base import DatasetFamily, Windows, bonded_pairs, check_user_file, copy_committed, uniform_times
from egno.data.export import pdb_header
from egno.data.prescan import declared_atoms
from egno.data.trajectory import MASSES, Trajectory, head_text, marker_line

WINDOW_FRAMES = 12
FRAME_PS = 1.0
CUTOFF = 10.0  # Å
LENGTH_SCALE = 10.0  # Å per model length unit
MAX_ATOMS = limits.PROTEIN_MAX_BACKBONE
MAX_FRAMES = limits.PROTEIN_MAX_FRAMES
ATOM_NAMES = ("N", "CA", "C", "O")
RESIDUES = ("ALA", "ARG", "ASN", "ASP", "CYS", "GLN", "GLU", "GLY", "HIS", "ILE", "LEU", "LYS",
            "MET", "PHE", "PRO", "SER", "THR", "TRP", "TYR", "VAL")
ALIASES = {"HSD": "HIS", "HSE": "HIS", "HSP": "HIS", "HID": "HIS", "HIE": "HIS", "HIP": "HIS",
           "CYX": "CYS", "ASH": "ASP", "GLH": "GLU", "LYN": "LYS", "MSE": "MET"}
CHARMM_CHARGES = {"N": -0.47, "CA": 0.07, "C": 0.51, "O": -0.51}  # CHARMM36 backbone
# split -> (trajectory, first frame, last frame) in the mdanalysistests files
SPLITS = {"train": ("DCD", 0, 97), "val": ("DCD2", 0, 50), "test": ("DCD2", 51, 101)}
BACKBONE = "protein and backbone and name N CA C O"


def _mda():
    import MDAnalysis

    warnings.filterwarnings("ignore", module="MDAnalysis")
    return MDAnalysis


def backbone_features(names, resnames, resids, charges) -> np.ndarray:
    """(N, 4 + 21 + 1) invariant node features of backbone atoms (without the speed column)."""
    n = len(names)
    atom = np.zeros((n, len(ATOM_NAMES)))
    atom[np.arange(n), [ATOM_NAMES.index(a) for a in names]] = 1.0
    res = np.zeros((n, len(RESIDUES) + 1))
    idx = [RESIDUES.index(ALIASES.get(r, r)) if ALIASES.get(r, r) in RESIDUES else len(RESIDUES)
           for r in resnames]
    res[np.arange(n), idx] = 1.0
    return np.concatenate([atom, res, np.asarray(charges, dtype=np.float64)[:, None]], axis=1)


def backbone_pdb(frames: np.ndarray, names, resnames, resids, bfactors=None) -> str:
    """Multi-model PDB text of backbone frames (F, N, 3) Å, written by MDAnalysis; ``bfactors``
    (F, N) go in the temperature-factor column (the app colours residues by it)."""
    mda = _mda()
    f, n = frames.shape[:2]
    resids = np.asarray(resids)
    starts = np.r_[True, resids[1:] != resids[:-1]]
    resindex = np.cumsum(starts) - 1
    u = mda.Universe.empty(n, n_residues=int(resindex[-1]) + 1, atom_resindex=resindex, trajectory=True)
    u.add_TopologyAttr("names", list(names))
    u.add_TopologyAttr("resnames", [r for r, s in zip(resnames, starts) if s])
    u.add_TopologyAttr("resids", resids[starts])
    u.add_TopologyAttr("elements", [a[0] for a in names])
    u.add_TopologyAttr("chainIDs", ["A"] * n)
    u.add_TopologyAttr("tempfactors", np.zeros(n))
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "frames.pdb"
        with mda.coordinates.PDB.PDBWriter(str(path), n_atoms=n, multiframe=True) as writer:
            for k in range(f):
                u.atoms.positions = frames[k]
                if bfactors is not None:
                    u.atoms.tempfactors = bfactors[k]
                writer.write(u.atoms)
        return path.read_text()


def cutoff_graph(x: np.ndarray, resids: np.ndarray, cutoff: float = CUTOFF):
    """Directed pairs (2, E) closer than ``cutoff`` and edge features [(d/10)², |Δresid| ≤ 1];
    ValueError when there are over limits.MAX_EDGES (atoms piled up), counted in blocks of rows
    before anything of that size is built."""
    n, block = len(x), 256
    src, dst, dist2 = [], [], []
    for lo in range(0, n, block):
        d2 = ((x[lo:lo + block, None] - x[None]) ** 2).sum(-1)  # (block, N)
        rows, cols = np.nonzero(d2 < cutoff**2)
        keep = rows + lo != cols
        src.append(rows[keep] + lo)
        dst.append(cols[keep])
        dist2.append(d2[rows[keep], cols[keep]])
        if sum(len(s) for s in src) > limits.MAX_EDGES:
            raise ValueError(f"atoms so close together that the graph has over {limits.MAX_EDGES:,} "
                             f"edges within {cutoff:g} Å (the limit)")
    src, dst, dist2 = (np.concatenate(a) for a in (src, dst, dist2))
    near = (np.abs(resids[src] - resids[dst]) <= 1).astype(np.float64)
    return np.stack([src, dst]), np.stack([dist2 / LENGTH_SCALE**2, near], axis=1)


def protein_windows(pos: np.ndarray, static: np.ndarray, resids: np.ndarray, starts: np.ndarray,
                    timesteps: int, frame_ps: float, window_frames: int | None) -> Windows:
    """Windows of one trajectory pos (T, N, 3) starting at ``starts`` (each needs frame s − 1 or
    s + 1 for its velocity); targets every window_frames / P frames, or none when None."""
    window = WINDOW_FRAMES * FRAME_PS
    h, xs, vs, ei, ea, tg = [], [], [], [], [], []
    for s in starts:
        lo, hi = max(s - 1, 0), min(s + 1, len(pos) - 1)
        v = (pos[hi] - pos[lo]) / (max(hi - lo, 1) * frame_ps)  # one frame: zero velocity
        edges, attr = cutoff_graph(pos[s], resids)
        speed = np.linalg.norm(v, axis=-1, keepdims=True) * window / LENGTH_SCALE
        h.append(np.concatenate([static, speed], axis=1))
        xs.append(pos[s])
        vs.append(v)
        ei.append(edges)
        ea.append(attr)
        if window_frames is not None:
            step = window_frames // timesteps
            tg.append(np.stack([pos[s + step * p] for p in range(1, timesteps + 1)]))
    return Windows.from_arrays(h, xs, vs, ei, ea, tg if window_frames is not None else None,
                               uniform_times(timesteps), window=window)


class Protein(DatasetFamily):
    default_timesteps = 4
    time_unit = "ps"
    length_unit = "Å"
    # topologies first, then trajectories ("topology,trajectory" pairs are read in that order)
    file_formats = ("pdb", "psf", "gro", "dcd", "xtc", "trr")
    view = "protein"
    variants = ("adk",)
    window = WINDOW_FRAMES * FRAME_PS
    frame_dt = FRAME_PS
    max_speed = (60.0, "four times the thermal speed of a carbon atom at 1000 K (14 Å/ps)")
    velocity_unit_fs = 1e-3  # Å/ps
    file_pairs = True
    reader_modules = ("MDAnalysis",)
    upload_help = ("A topology and a trajectory together (`.psf`/`.pdb`/`.gro` with `.dcd`/`.xtc`/"
                   "`.trr`; select both), or one `.pdb` (one or more models). The backbone (N, CA, C, "
                   "O) is used. With frames at 3 ps steps up to 12 ps after the start the prediction "
                   "is scored against them.")
    upload_examples = (
        ("AdK backbone, one frame (PDB)", ("adk_one_frame.pdb",), "starting velocities: zero or thermal"),
        ("AdK backbone PDB + DCD", ("adk_backbone.pdb", "adk_backbone.dcd"), "13 frames, 1 ps apart"),
    )
    speed_scale = WINDOW_FRAMES * FRAME_PS / LENGTH_SCALE  # ‖v‖ ΔT / 10 Å
    edge_length_column = 0  # edges [(d / 10 Å)², ...]
    edge_length_scale = 0.01

    def drawn_edges(self, meta: dict, x0: np.ndarray) -> np.ndarray:
        return bonded_pairs(x0)

    def long_truth(self, windows: int, timesteps: int, split: str = "test", starts: int = 1,
                   start_windows: int = 1) -> Windows:
        from egno.data.long import one_start_window, protein_truth

        one_start_window(self, start_windows)
        return protein_truth(self, windows, timesteps, split, starts)
    topology_formats = ("pdb", "psf", "gro")

    def __init__(self, variant: str | None, data_dir: Path | None = None):
        if variant != "adk":
            raise ValueError(f"protein datasets: ['protein/adk'], not protein/{variant}")
        self.name = "protein/adk"
        super().__init__(data_dir)

    def generate(self, progress: bool = True, splits: tuple[str, ...] = ("train", "val", "test"),
                 **_) -> Path:
        """Backbone positions and features of the three splits from the mdanalysistests files.
        Without that package, a request for the test split alone is served from the committed
        sample (assets/samples/protein/adk)."""
        try:
            from MDAnalysisTests import datafiles
        except ImportError:
            committed = SAMPLES / self.name
            if set(splits) == {"test"} and (committed / "test.npz").exists():
                copy_committed(committed, self.data_dir, ("test.npz", "card.json"))
                return self.data_dir
            raise ImportError("protein/adk is built from the AdK trajectories in the "
                              "mdanalysistests package: pip install -r requirements-dev.txt") from None

        mda, start = _mda(), time.time()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        counts = {}
        for split, (traj, first, last) in tqdm(SPLITS.items(), desc=self.name, disable=not progress):
            u = mda.Universe(datafiles.PSF, getattr(datafiles, traj))
            bb = u.select_atoms(BACKBONE)
            pos = np.stack([bb.positions.astype(np.float64) for _ in u.trajectory[first:last + 1]])
            np.savez(self.data_dir / f"{split}.npz", positions=pos, names=np.array(bb.names, dtype=str),
                     resnames=np.array(bb.resnames, dtype=str), resids=bb.resids, charges=bb.charges,
                     dt_ps=u.trajectory.dt)
            counts[split] = int(self._starts(len(pos)).size)
        card = {"dataset": self.name, "source": "mdanalysistests: adk.psf with adk_dims.dcd (train) "
                "and adk_dims2.dcd (frames 0-50 val, 51-101 test)",
                "what": "DIMS (biased closed-to-open transition) runs of AdK, CHARMM, implicit "
                        "solvent, not equilibrium MD", "frame_ps": FRAME_PS,
                "window_frames": WINDOW_FRAMES, "timesteps": self.default_timesteps,
                "cutoff_A": CUTOFF, "backbone_atoms": int(pos.shape[1]), "windows": counts,
                "split_frames": {k: [v[1], v[2]] for k, v in SPLITS.items()},
                "wall_time_s": round(time.time() - start, 1)}
        (self.data_dir / "card.json").write_text(json.dumps(card, indent=2))
        return self.data_dir

    @staticmethod
    def _starts(n_frames: int) -> np.ndarray:
        return np.arange(1, n_frames - WINDOW_FRAMES)

    def available_timesteps(self, split: str) -> list[int]:
        return [p for p in range(1, WINDOW_FRAMES + 1) if WINDOW_FRAMES % p == 0]

    def load(self, split: str, timesteps: int | None = None, starts: int = 1) -> Windows:
        p, path = self._split_file(split, timesteps)
        with np.load(path, allow_pickle=False) as f:
            pos, resids = f["positions"], f["resids"]
            names, resnames = [str(a) for a in f["names"]], [str(r) for r in f["resnames"]]
            static = backbone_features(names, resnames, resids, f["charges"])
        w = protein_windows(pos, static, resids, self._starts(len(pos)), p, FRAME_PS, WINDOW_FRAMES)
        w.meta.update(dataset=self.name, split=split, atom_names=names, resnames=resnames,
                      resids=resids.tolist())
        return w

    def check_upload(self, names: list[str]) -> None:
        """One multi-model PDB, or a topology with a trajectory: ``read_backbone`` says which
        pairs it takes (``read_uploads`` refuses more than two files before asking). A lone
        trajectory is refused here, with the topology to add."""
        kinds = [Path(n).suffix.lower().lstrip(".") for n in names]
        if len(names) == 1 and kinds[0] in ("dcd", "xtc", "trr"):
            made_by = {"dcd": "a .psf (CHARMM, NAMD)", "xtc": "a .gro or .pdb (GROMACS)",
                       "trr": "a .gro or .pdb (GROMACS)"}[kinds[0]]
            raise ValueError(f"{names[0]}: a .{kinds[0]} file holds coordinates only, no atom names "
                             f"or residues. Select it together with its topology: {made_by}, or a "
                             "PDB of the same atoms in the same order.")

    def read_trajectory(self, arg: str) -> Trajectory:
        """A user's topology (+ trajectory: 'topology,trajectory') as backbone frames for the
        Upload page; the time between frames from a DCD pair, or the app's own PDB remark."""
        import torch

        _, static, resids, dt, source, names, resnames, n_frames = read_backbone(arg, frames=(0, 1))
        parts = [Path(q) for q in arg.split(",")]
        file_dt = dt if len(parts) == 2 and n_frames > 1 else None  # a PDB's model spacing is not in it
        pdb_text = head_text(parts[0], 8192) if parts[0].suffix.lower() == ".pdb" else ""
        remark = [line for line in pdb_text.splitlines() if line.startswith("REMARK") and "EGNO FRAME_PS" in line]
        if remark:
            file_dt = float(remark[0].split()[-1])

        def positions(lo, hi):
            return read_backbone(arg, frames=(lo, hi))[0]

        def build(x0, v0, target, p, **_):
            frames = np.concatenate([x0[None], target]) if target is not None else x0[None]
            w = protein_windows(frames, static, resids, np.array([0]), p, FRAME_PS, p if target is not None else None)
            h = w.h.clone()
            h[:, -1] = torch.as_tensor(np.linalg.norm(v0, axis=-1) * WINDOW_FRAMES * FRAME_PS / LENGTH_SCALE,
                                       dtype=h.dtype)
            return replace(w, v=torch.as_tensor(v0, dtype=w.v.dtype), h=h)

        masses = np.array([MASSES.get(a[0], 12.0) for a in names])
        meta = {"atom_names": names, "resnames": resnames, "resids": np.asarray(resids).tolist(), "source": source}
        return Trajectory(n_frames, file_dt, positions, build, meta, masses=masses, prediction=marker_line(pdb_text))

    def write_trajectory(self, frames: np.ndarray, times: np.ndarray, meta: dict, label: str) -> dict[str, bytes]:
        """A multi-model backbone PDB with the time between frames in a remark."""
        text = backbone_pdb(frames, meta["atom_names"], meta["resnames"], meta["resids"])
        return {"pdb": (pdb_header(times, label) + text).encode()}

    def physical_checks(self, one: Windows, frames: np.ndarray, truth: np.ndarray | None,
                        dt: float) -> dict[str, np.ndarray]:
        """Consecutive CA–CA distances (3.8 Å in a trans peptide)."""
        if one.meta.get("atom_names") is None:
            return {}
        return physics.protein_checks(frames, physics.ca_pairs(one.meta["atom_names"], one.meta["resids"]))

    def read_file(self, path: Path, timesteps: int | None = None,
                  max_windows: int | None = None) -> Windows:
        """'TOPOLOGY,TRAJECTORY' (PSF/PDB/GRO + DCD/XTC/TRR) or one multi-model PDB. The backbone
        (N CA C O) is kept; frame 0 is the input. Frames are taken as ``dt`` apart from the
        trajectory; when ΔT / P = 12 ps / P is a whole number of frames inside the file, the
        window has ground truth."""
        p = self._window_timesteps(timesteps, WINDOW_FRAMES)
        pos, static, resids, dt, source, names, resnames, n_frames = read_backbone(
            path, WINDOW_FRAMES * FRAME_PS)
        if n_frames < 2:
            raise ValueError(f"{source}: need at least 2 frames for velocities")
        frames_per_step = WINDOW_FRAMES * FRAME_PS / p / dt
        whole = abs(frames_per_step - round(frames_per_step)) < 1e-3 and round(frames_per_step) >= 1
        window_frames = round(frames_per_step) * p if whole else None
        if window_frames is not None and window_frames >= len(pos):
            window_frames = None
        try:
            w = protein_windows(pos[: (window_frames or 1) + 1], static, resids, np.array([0]), p,
                                dt, window_frames)
        except ValueError as e:
            raise ValueError(f"{source}: {e}") from None
        w.meta.update(source=source, frames=n_frames, nodes=pos.shape[1], dt_ps=dt,
                      atom_names=names, resnames=resnames, resids=np.asarray(resids).tolist())
        return w


def _has_atom_records(path: Path) -> bool:
    with open(path, "rb") as f:
        return any(line.startswith((b"ATOM  ", b"HETATM")) for line in f)


def read_backbone(path, keep_ps: float | None = None, frames: tuple[int, int] | None = None) -> tuple:
    """Backbone positions (T, N, 3) Å, static features, residue ids, frame spacing (ps), a
    display name, atom names, residue names and the trajectory's frame count from
    'TOPOLOGY,TRAJECTORY' or one PDB; ValueError with a clear message. With ``keep_ps``, T
    covers the first ``keep_ps`` ps only (within limits.MAX_ARRAY_VALUES numbers); with
    ``frames`` (lo, hi), T covers those frames only (same limit)."""
    mda = _mda()
    parts = [Path(q) for q in str(path).split(",")]
    source = ", ".join(q.name for q in parts)
    if len(parts) > 2:
        raise ValueError(f"{source}: give one topology and one trajectory file")
    suffixes = [q.suffix.lower().lstrip(".") for q in parts]
    if len(parts) == 2 and suffixes[0] not in Protein.topology_formats:
        parts, suffixes = parts[::-1], suffixes[::-1]
    if suffixes[0] not in Protein.topology_formats:
        raise ValueError(f"{source}: the first file must be a topology ({', '.join(Protein.topology_formats)})")
    if len(parts) == 1 and suffixes[0] != "pdb":
        raise ValueError(f"{source}: a {suffixes[0].upper()} topology needs a trajectory file "
                         "(DCD, XTC or TRR) with it")
    for q in parts:
        check_user_file(q, binary=q.suffix.lower() in (".dcd", ".xtc", ".trr"))
        declared = declared_atoms(q)
        if declared is not None and declared > limits.PROTEIN_MAX_ATOMS:
            raise ValueError(f"{q.name}: declares {declared:,} atoms, over the limit of "
                             f"{limits.PROTEIN_MAX_ATOMS:,}")
        if q.suffix.lower() == ".pdb" and not _has_atom_records(q):
            raise ValueError(f"{q.name}: no ATOM or HETATM records, so no PDB structure to read")
    try:
        u = mda.Universe(*[str(q) for q in parts], format=None if len(parts) == 2 else "PDB")
    except Exception as e:  # MDAnalysis raises many exception types for malformed files
        raise ValueError(f"{source}: MDAnalysis could not read it ({type(e).__name__}: "
                         f"{str(e).splitlines()[0] if str(e) else ''})") from None
    bb = u.select_atoms(BACKBONE)
    if len(bb) == 0:
        raise ValueError(f"{source}: no protein backbone atoms (N, CA, C, O) found")
    if len(bb) > MAX_ATOMS:
        raise ValueError(f"{source}: {len(bb)} backbone atoms is over the limit of {MAX_ATOMS}")
    if u.trajectory.n_frames > MAX_FRAMES:
        raise ValueError(f"{source}: {u.trajectory.n_frames} frames is over the limit of {MAX_FRAMES}")
    n_frames = u.trajectory.n_frames
    dt = float(u.trajectory.dt) if n_frames > 1 else FRAME_PS
    if not (dt > 0 and np.isfinite(dt)):
        dt = FRAME_PS
    keep = n_frames
    if keep_ps is not None:  # the window's frames (and one more), within the size limit
        keep = min(n_frames, int(keep_ps / dt + 1e-6) + 2,
                   max(2, limits.MAX_ARRAY_VALUES // (3 * len(bb))))
    lo = 0
    if frames is not None:
        lo = min(max(frames[0], 0), n_frames - 1)
        keep = min(n_frames, frames[1], lo + max(2, limits.MAX_ARRAY_VALUES // (3 * len(bb))))
    try:
        pos = np.stack([bb.positions.astype(np.float64) for _ in u.trajectory[lo:max(keep, lo + 1)]])
    except Exception as e:
        raise ValueError(f"{source}: the trajectory could not be read ({type(e).__name__}: {e})") from None
    if not np.isfinite(pos).all():
        raise ValueError(f"{source}: non-finite coordinates")
    try:
        charges = bb.charges
    except Exception:  # PDB/GRO topologies carry no charges: CHARMM36 backbone values
        charges = np.array([CHARMM_CHARGES[a] for a in bb.names])
    static = backbone_features(bb.names, bb.resnames, bb.resids, charges)
    return (pos, static, np.asarray(bb.resids), dt, source, [str(a) for a in bb.names],
            [str(r) for r in bb.resnames], n_frames)
