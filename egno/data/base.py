"""The one interface every dataset family implements, and the container its samples travel in.

A sample is one input state of a 3D system (node features h, positions x, velocities v, a graph
with edge features) plus target positions at P times t_p inside a window of length ΔT. Times are
stored as fractions t_p/ΔT in (0, 1]; ``Windows.window`` gives ΔT in the family's time unit, so
``x + v * t * window`` is constant-velocity extrapolation in the family's own units.
"""
from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from egno import limits

from egno.nn.graph import GraphBatch
from egno.paths import default_data_dir
from egno.data.rigid import RigidMotion, still


# eV/amu in Å²/fs²: kT/m in these units gives the variance of one velocity component
EV_PER_AMU_A2_FS2 = 9.6485e-3
KB_EV = 8.617333e-5
BOND_LENGTH = 1.9  # Å: heavy-atom bonds are under it, atoms two bonds apart (~2.4 Å) over it


def uniform_times(timesteps: int) -> np.ndarray:
    """Target times t_p/ΔT = p/P for p = 1..P."""
    assert timesteps >= 1, f"timesteps must be >= 1, got {timesteps}"
    return np.arange(1, timesteps + 1, dtype=np.float64) / timesteps


def ranges(starts: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Concatenation of arange(s, s + c) for each (s, c), without a Python loop."""
    ends = torch.cumsum(counts, 0)
    offsets = torch.repeat_interleave(starts - (ends - counts), counts)
    return torch.arange(int(counts.sum()), device=starts.device) + offsets


@dataclass
class Windows:
    """S samples stored back to back (graphs may differ in size).

    Shapes (N = total nodes over all samples, E = total edges, P = target times):
      h (N, k), x (N, 3), v (N, 3), edge_index (2, E) with node indices local to each sample,
      edge_attr (E, d), node_ptr (S+1,), edge_ptr (S+1,), target (P, N, 3) or None, t (P,),
      up (S, 3) or None: the unit vector against gravity in each sample's frame, for families
      where gravity acts (motion). It is an input vector like x and v: it turns with the sample.
      spin: a rigid rotation split off each sample's input (egno.data.rigid), carried onto the
      prediction after the model; None for data that do not tumble.
    """

    h: torch.Tensor
    x: torch.Tensor
    v: torch.Tensor
    edge_index: torch.Tensor
    edge_attr: torch.Tensor
    node_ptr: torch.Tensor
    edge_ptr: torch.Tensor
    target: torch.Tensor | None
    t: torch.Tensor
    window: float  # ΔT in the family's time unit
    meta: dict = field(default_factory=dict)
    up: torch.Tensor | None = None
    spin: RigidMotion | None = None

    def __post_init__(self):
        n = self.x.shape[0]
        assert self.x.shape == (n, 3) and self.v.shape == (n, 3), "x and v must be (N, 3)"
        assert self.h.shape[0] == n, "h must have one row per node"
        assert self.node_ptr[-1] == n and self.edge_ptr[-1] == self.edge_index.shape[1]
        assert self.edge_attr.shape[0] == self.edge_index.shape[1], "one edge_attr row per edge"
        if self.up is not None:
            assert self.up.shape == (len(self), 3), f"up must be (S, 3), got {tuple(self.up.shape)}"
        if self.spin is not None:
            assert len(self.spin) == len(self), f"one rigid motion per sample, not {len(self.spin)}"
        if self.target is not None:
            assert self.target.shape == (len(self.t), n, 3), (
                f"target must be (P, N, 3) = ({len(self.t)}, {n}, 3), got {tuple(self.target.shape)}"
            )

    def __len__(self) -> int:
        return len(self.node_ptr) - 1

    @property
    def timesteps(self) -> int:
        return len(self.t)

    @classmethod
    def from_arrays(cls, h, x, v, edge_index, edge_attr, target, t, window, meta=None,
                    up=None) -> "Windows":
        """Build from per-sample lists of numpy arrays (h_i (N_i,k), x_i, v_i (N_i,3),
        edge_index_i (2,E_i), edge_attr_i (E_i,d), target_i (P,N_i,3) or None); ``up``: one
        3-vector for every sample, or (S, 3), or None."""
        f32 = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32))  # noqa: E731
        node_ptr = np.concatenate([[0], np.cumsum([len(a) for a in x])])
        edge_ptr = np.concatenate([[0], np.cumsum([e.shape[1] for e in edge_index])])
        return cls(
            h=f32(np.concatenate(h)),
            x=f32(np.concatenate(x)),
            v=f32(np.concatenate(v)),
            edge_index=torch.as_tensor(np.concatenate(edge_index, axis=1).astype(np.int64)),
            edge_attr=f32(np.concatenate(edge_attr)),
            node_ptr=torch.as_tensor(node_ptr, dtype=torch.long),
            edge_ptr=torch.as_tensor(edge_ptr, dtype=torch.long),
            target=None if target is None else f32(np.concatenate(target, axis=1)),
            t=torch.as_tensor(np.asarray(t, dtype=np.float32)),
            window=float(window),
            meta=dict(meta or {}),
            up=None if up is None else f32(np.broadcast_to(np.asarray(up), (len(x), 3))),
        )

    @classmethod
    def concat(cls, parts: list["Windows"]) -> "Windows":
        """Join windows with the same times into one (samples in the order given)."""
        first = parts[0]
        node_off = np.cumsum([0] + [w.x.shape[0] for w in parts[:-1]])
        edge_off = np.cumsum([0] + [w.edge_index.shape[1] for w in parts[:-1]])
        cat = lambda key: torch.cat([getattr(w, key) for w in parts])  # noqa: E731
        return cls(
            h=cat("h"), x=cat("x"), v=cat("v"),
            edge_index=torch.cat([w.edge_index for w in parts], dim=1), edge_attr=cat("edge_attr"),
            node_ptr=torch.cat([w.node_ptr[:-1] + o for w, o in zip(parts, node_off)]
                               + [torch.tensor([sum(w.x.shape[0] for w in parts)])]),
            edge_ptr=torch.cat([w.edge_ptr[:-1] + o for w, o in zip(parts, edge_off)]
                               + [torch.tensor([sum(w.edge_index.shape[1] for w in parts)])]),
            target=None if first.target is None else torch.cat([w.target for w in parts], dim=1),
            t=first.t, window=first.window, meta=dict(first.meta),
            up=None if first.up is None else cat("up"),
            spin=None if all(w.spin is None for w in parts) else RigidMotion.concat(
                [w.spin if w.spin is not None else still(len(w)) for w in parts]),
        )

    def select(self, index) -> "Windows":
        """The samples ``index`` (a sequence of sample numbers) as a new Windows."""
        index = torch.as_tensor(index, dtype=torch.long)
        n_count = self.node_ptr[index + 1] - self.node_ptr[index]
        e_count = self.edge_ptr[index + 1] - self.edge_ptr[index]
        nodes = ranges(self.node_ptr[index], n_count)
        edges = ranges(self.edge_ptr[index], e_count)
        zero = torch.zeros(1, dtype=torch.long)
        return Windows(
            h=self.h[nodes], x=self.x[nodes], v=self.v[nodes], edge_index=self.edge_index[:, edges],
            edge_attr=self.edge_attr[edges], node_ptr=torch.cat([zero, torch.cumsum(n_count, 0)]),
            edge_ptr=torch.cat([zero, torch.cumsum(e_count, 0)]),
            target=None if self.target is None else self.target[:, nodes], t=self.t,
            window=self.window, meta=dict(self.meta), up=None if self.up is None else self.up[index],
            spin=None if self.spin is None else self.spin.select(index.numpy()))

    def sample_nodes(self, i: int) -> slice:
        return slice(int(self.node_ptr[i]), int(self.node_ptr[i + 1]))

    def turned(self, R) -> "Windows":
        """Every sample rotated by R (3×3) about its own input centroid: positions, velocities,
        targets and the up vector. Node and edge features are rotation invariant, so they stay as
        they are. (To turn the motion but not the room, rotate about the up vector.)"""
        R = torch.as_tensor(np.asarray(R), dtype=self.x.dtype)
        counts = self.node_ptr[1:] - self.node_ptr[:-1]
        sample = torch.repeat_interleave(torch.arange(len(self)), counts)
        centre = torch.zeros(len(self), 3, dtype=self.x.dtype).index_add_(0, sample, self.x)
        centroid = centre / counts.clamp(min=1)[:, None].to(self.x.dtype)  # S, 3
        centre = centroid[sample]  # N, 3
        spin = None
        if self.spin is not None:
            c = centroid.double().numpy()
            spin = self.spin.moved(R.double().numpy(), c - c @ R.double().numpy().T)
        return replace(self, x=(self.x - centre) @ R.T + centre, v=self.v @ R.T,
                       target=None if self.target is None else (self.target - centre) @ R.T + centre,
                       up=None if self.up is None else self.up @ R.T, spin=spin)


def collate(w: Windows, index: torch.Tensor | list[int] | None = None) -> GraphBatch:
    """Gather samples ``index`` (default: all) of ``w`` into one GraphBatch."""
    if index is None:
        index = torch.arange(len(w))
    index = torch.as_tensor(index, dtype=torch.long)
    n_start, n_count = w.node_ptr[index], w.node_ptr[index + 1] - w.node_ptr[index]
    e_start, e_count = w.edge_ptr[index], w.edge_ptr[index + 1] - w.edge_ptr[index]
    nodes, edges = ranges(n_start, n_count), ranges(e_start, e_count)
    # edge indices are local to each sample: shift them by the sample's first row in the batch
    new_start = torch.cumsum(n_count, 0) - n_count
    shift = torch.repeat_interleave(new_start, e_count)
    edge_index = w.edge_index[:, edges] + shift
    graph = torch.repeat_interleave(torch.arange(len(index)), n_count)
    return GraphBatch(
        h=w.h[nodes], x=w.x[nodes], v=w.v[nodes], edge_index=edge_index,
        edge_attr=w.edge_attr[edges], graph=graph, num_graphs=len(index), t=w.t,
        window=w.window, target=None if w.target is None else w.target[:, nodes],
        up=None if w.up is None else w.up[index][graph],
    )


class DatasetFamily(ABC):
    """One family of 3D systems (particles, molecules, motion, protein) behind one interface.

    A family instance is one named dataset (e.g. ``nbody``, later ``md17/aspirin``). It builds or
    loads its splits, knows its default ΔT and P, gives ground truth at other resolutions where the
    data has it, and reads a user's file in its formats.
    """

    name: str
    default_timesteps: int
    time_unit: str
    length_unit: str
    file_formats: tuple[str, ...] = ()
    view: str = "points"  # how the app draws a sample: points | skeleton | protein | molecule
    window: float         # ΔT in time_unit
    frame_dt: float       # time between a user's frames when the file does not say
    max_speed: tuple[float, str]  # the fastest a node plausibly moves (length / time unit), and why
    frame_rate: float | None = None  # frames per time unit uploads are resampled to (None: as they come)
    thermal_start: bool = True       # a one-frame upload may start from thermal velocities
    temperature_unit: str = "K"      # of those thermal velocities' temperature
    default_temperature: float = 300.0
    velocity_unit_fs: float = 1.0    # the family's velocity unit in Å/fs (thermal velocities of atoms)
    up_axis: str = "z"               # drawn upwards in animations
    speed_scale: float = 1.0         # node feature h[:, -1] = ‖v‖ · speed_scale (see restate)
    edge_length_column: int = 0      # edge_attr column holding ‖Δx‖² · edge_length_scale
    edge_length_scale: float = 1.0
    shape_metrics: bool = False      # the app shows the radius of gyration and the floor (molecules)
    reader_modules: tuple[str, ...] = ()  # imported before the upload worker's memory cap
    file_pairs: bool = False         # an upload may be a pair of files (topology and trajectory)
    upload_help: str = ""            # what the Upload page says the family reads (markdown)
    # example uploads in assets/samples/examples: (label, file names, what it shows)
    upload_examples: tuple[tuple[str, tuple[str, ...], str], ...] = ()

    variants: tuple[str | None, ...] = (None,)  # the datasets of the family: name/variant, or name alone

    def __init__(self, data_dir: Path | None = None):
        self.data_dir = Path(data_dir) if data_dir else default_data_dir() / self.name

    @classmethod
    def named(cls, variant: str | None, data_dir: Path | None = None) -> "DatasetFamily":
        """The family's dataset ``variant``: ``cls(variant, data_dir)``, or ``cls(data_dir)`` for a
        family of one dataset (``variants`` = (None,))."""
        if cls.variants != (None,):
            return cls(variant, data_dir)
        if variant:
            raise ValueError(f"{cls.name} has no variants, not {cls.name}/{variant}")
        return cls(data_dir)

    @abstractmethod
    def generate(self, progress: bool = True, **options) -> Path:
        """Build the train/val/test splits into ``self.data_dir``; return that directory."""

    @abstractmethod
    def load(self, split: str, timesteps: int | None = None, starts: int = 1) -> Windows:
        """Load a split with targets at ``timesteps`` uniform times (default: the protocol's P).
        ``starts`` > 1 asks for more windows per trajectory where the family has them (training).
        Raises ValueError naming the available resolutions when the data has no ground truth there."""

    @abstractmethod
    def available_timesteps(self, split: str) -> list[int]:
        """The P values for which ``load(split, P)`` has exact ground truth."""

    @abstractmethod
    def read_file(self, path: Path, timesteps: int | None = None,
                  max_windows: int | None = None) -> Windows:
        """Read a user's file (formats in ``file_formats``) into windows (at most ``max_windows``
        where a file makes several: an upload is predicted from its first); raise ValueError with
        a clear message for anything malformed, or over egno.limits. Never unpickles."""

    def read_trajectory(self, arg: str):
        """A user's file (``arg``: one path, or 'first,second' for a pair) as an
        egno.data.trajectory.Trajectory for the Upload page."""
        raise ValueError(f"{self.name} does not read uploads")

    def write_trajectory(self, frames: np.ndarray, times: np.ndarray, meta: dict, label: str) -> dict[str, bytes]:
        """{extension: bytes} of frames (F, N, 3) at times (F,) in the formats ``read_trajectory``
        reads back (see egno.data.export.trajectory_files)."""
        return {}

    def physical_checks(self, one: Windows, frames: np.ndarray, truth: np.ndarray | None,
                        dt: float) -> dict[str, np.ndarray]:
        """Per-frame checks of the laws the family's data obey (egno.data.physics) for one sample:
        ``one`` its input, frames (F, N, 3) with the input first, truth (F, N, 3) or None (rows of
        NaN where the data end), dt the time between frames. None by default."""
        return {}

    def long_truth(self, windows: int, timesteps: int, split: str = "test", starts: int = 1,
                   start_windows: int = 1) -> Windows:
        """Input states of ``split`` with their truth for ``windows`` chained windows
        (egno.data.long); ``starts`` input frames per trajectory where the family has them;
        ``start_windows`` > 1: also inputs at the starts of later windows (nbody)."""
        raise ValueError(f"no long-horizon ground truth for {self.name}")

    def sample_meta(self, windows: Windows, index: int) -> dict:
        """What the app draws sample ``index`` with: the windows' meta, plus what the family reads
        off the sample (a molecule's element symbols)."""
        return dict(windows.meta)

    def pair_note(self, names: list[str]) -> str | None:
        """A warning about the user's file names together (e.g. files that do not belong
        together), or None."""
        return None

    def read_nodes(self, meta: dict) -> np.ndarray | None:
        """Which of a user's file's nodes (a Trajectory's ``meta``) the models read; None: all."""
        return None

    def node_label(self, meta: dict, index: int) -> str:
        """How the page names node ``index`` of a user's file."""
        names = meta.get("joints") or meta.get("atom_names")
        return f"node {index}" + (f" ({names[index]})" if names is not None and index < len(names) else "")

    def drawn_edges(self, meta: dict, x0: np.ndarray) -> np.ndarray | None:
        """Lines to draw between nodes (2, E) in animations; None for none."""
        return None

    def restate(self, w: Windows, x: torch.Tensor, v: torch.Tensor) -> Windows:
        """``w`` with positions x and velocities v (N, 3) as its input state and the features that
        depend on them recomputed: the speed node feature and the squared edge lengths."""
        x, v = x.to(w.x), v.to(w.v)
        h = w.h.clone()
        h[:, -1] = v.norm(dim=-1) * self.speed_scale
        sample = torch.repeat_interleave(torch.arange(len(w)), w.edge_ptr[1:] - w.edge_ptr[:-1])
        rows = w.edge_index + w.node_ptr[:-1][sample]  # edge indices are local to each sample
        attr = w.edge_attr.clone()
        attr[:, self.edge_length_column] = ((x[rows[0]] - x[rows[1]]) ** 2).sum(-1) * self.edge_length_scale
        return replace(w, x=x, v=v, h=h, edge_attr=attr)

    def thermal_velocities(self, masses: np.ndarray, temperature: float, seed: int) -> np.ndarray:
        """Maxwell-Boltzmann velocities (N, 3) at ``temperature`` K for atoms of ``masses`` (amu)
        in the family's velocity unit, centre-of-mass motion removed."""
        rng = np.random.default_rng(seed)
        var = EV_PER_AMU_A2_FS2 * KB_EV * temperature / masses / self.velocity_unit_fs ** 2
        v = rng.standard_normal((len(masses), 3)) * np.sqrt(var)[:, None]
        return v - (masses[:, None] * v).sum(0) / masses.sum()

    def check_upload(self, names: list[str]) -> None:
        """Whether these uploaded file names (one file, or a pair) make one input for
        ``read_file``; ValueError saying what to select otherwise. Any one file by default."""
        if len(names) != 1:
            raise ValueError(f"{', '.join(names)}: {self.name} reads one file at a time")

    def _split_file(self, split: str, timesteps: int | None) -> tuple[int, Path]:
        """The P to load (default: the protocol's) and the split's file, after checking that
        the data has ground truth at that P and that the split was generated."""
        p = timesteps or self.default_timesteps
        if p not in self.available_timesteps(split):
            raise ValueError(f"{self.name} has ground truth for P in {self.available_timesteps(split)}, not {p}")
        path = self.data_dir / f"{split}.npz"
        if not path.exists():
            raise FileNotFoundError(f"{path} not found: run `python -m egno data {self.name}` first")
        return p, path

    def _window_timesteps(self, timesteps: int | None, window_frames: int) -> int:
        """The P for a user's file: one that divides the family's window of saved frames."""
        p = timesteps or self.default_timesteps
        if p not in self.available_timesteps("test"):
            raise ValueError(f"{self.name}: P must divide the {window_frames}-frame window, "
                             f"one of {self.available_timesteps('test')}; got {p}")
        return p

    def describe(self) -> dict:
        """Protocol facts for cards and the app."""
        return {
            "dataset": self.name,
            "default_timesteps": self.default_timesteps,
            "time_unit": self.time_unit,
            "length_unit": self.length_unit,
            "file_formats": list(self.file_formats),
        }

    def floor(self) -> float | None:
        """The test F-MSE no model with this input can beat, where the data measured one."""
        return None

    def generation_card(self) -> dict | None:
        """What made the data (``card.json`` beside the splits), recorded on model cards."""
        path = self.data_dir / "card.json"
        return json.loads(path.read_text()) if path.exists() else None

    def ensure(self, progress: bool = True) -> None:
        """Generate the data if it is not there yet."""
        if not (self.data_dir / "test.npz").exists():
            self.generate(progress=progress)


def test_windows(family: DatasetFamily, timesteps: int | None = None, generate: bool = True,
                 progress: bool = False) -> Windows:
    """The family's test split (generated into its data dir on first use when ``generate``),
    else the committed sample files in assets/samples/<dataset>."""
    if generate:
        if not (family.data_dir / "test.npz").exists():
            family.generate(progress=progress, splits=("test",))
        return family.load("test", timesteps)
    from egno.paths import SAMPLES

    files = sorted((SAMPLES / family.name).glob("*.csv"))
    assert files, f"no committed samples for {family.name}"
    parts = [family.read_file(f, timesteps) for f in files]
    return Windows.concat(parts)


def copy_committed(committed: Path, dest: Path, names: tuple[str, ...]) -> None:
    """Copy a committed test split (assets/samples/<dataset>) into a family's data folder."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        (dest / name).write_bytes((committed / name).read_bytes())


def compression(head: bytes) -> str | None:
    """The kind of compressed stream ``head`` (a file's first bytes) starts, or None."""
    if head[:3] == b"BZh" and head[3:4].isdigit() and head[4:10] == b"1AY&SY":
        return "bzip2"
    return next((kind for magic, kind in limits.COMPRESSED_MAGIC.items()
                 if kind != "bzip2" and head.startswith(magic)), None)


def check_user_file(path: Path, binary: bool = False) -> None:
    """Refuse a user's file before any parser sees it: over the size limit for its kind
    (text, or a binary trajectory), or a compressed stream (gzip, bzip2, xz, zip …) under a name
    that does not say so (parsers such as MDAnalysis unpack those whatever the name)."""
    path = Path(path)
    size = path.stat().st_size
    limit = limits.MAX_BINARY_BYTES if binary else limits.MAX_TEXT_BYTES
    if size > limit:
        raise ValueError(f"{path.name}: {size / limits.MiB:.1f} MB is over the {limit // limits.MiB} MB "
                         f"limit for a {'binary trajectory' if binary else 'text'} file")
    with open(path, "rb") as f:
        kind = compression(f.read(16))
    if kind:
        raise ValueError(f"{path.name}: this is {kind}-compressed data, not a plain "
                         f"{path.suffix.lstrip('.').upper() or 'data'} file; upload it uncompressed")


def _npy_header(npz, key: str, name: str) -> tuple[tuple, np.dtype, int]:
    """Shape, dtype and unpacked size of array ``key`` of an open npz, from the zip directory and
    the .npy header alone (nothing is unpacked)."""
    info = npz.zip.getinfo(f"{key}.npy")
    with npz.zip.open(info) as member:
        version = np.lib.format.read_magic(member)
        read = {(1, 0): np.lib.format.read_array_header_1_0,
                (2, 0): np.lib.format.read_array_header_2_0}.get(version)
        if read is None:
            raise ValueError(f"{name}: array '{key}' has .npy format version {version}, which is not read")
        shape, _, dtype = read(member)
    return tuple(shape), dtype, info.file_size


def read_user_npz(path: Path, required: tuple[str, ...], optional: tuple[str, ...] = (),
                  what: str = "an npz") -> dict[str, np.ndarray]:
    """The named numeric arrays of a user's .npz (``required`` must be there, ``optional`` may
    be), as float64; ValueError with a message that names the file and says what is wrong.
    Never unpickles: an array of Python objects is refused, not loaded. Dtypes, shapes and
    unpacked sizes are checked from the zip directory and the .npy headers before anything is
    unpacked (limits.MAX_UNPACKED_BYTES, limits.MAX_ARRAY_VALUES)."""
    path = Path(path)
    name = path.name
    with open(path, "rb") as f:
        head = f.read(4)
    if not head:
        raise ValueError(f"{name} is empty")
    if head != b"PK\x03\x04":  # every .npz is a zip archive of .npy files (numpy.savez)
        raise ValueError(f"{name}: not a readable npz archive (an .npz is a zip of .npy arrays, "
                         "as numpy.savez writes it)")
    out = {}
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in required if k not in f.files]
            if missing:
                quoted = lambda keys: ", ".join(f"'{k}'" for k in keys)  # noqa: E731
                raise ValueError(f"{name}: {what} needs the arrays {quoted(required)}; missing "
                                 f"{quoted(missing)} (it has {quoted(sorted(f.files)) or 'none'})")
            keys = (*required, *(k for k in optional if k in f.files))
            headers = {key: _npy_header(f, key, name) for key in keys}
            unpacked = sum(size for _, _, size in headers.values())
            if unpacked > limits.MAX_UNPACKED_BYTES:
                raise ValueError(f"{name}: its arrays unpack to {unpacked / limits.MiB:.0f} MB, over the "
                                 f"{limits.MAX_UNPACKED_BYTES // limits.MiB} MB limit")
            for key, (shape, dtype, _) in headers.items():
                if dtype.hasobject:
                    raise ValueError(f"{name}: array '{key}' holds Python objects; only numeric "
                                     "arrays are read (user files are never unpickled)")
                if dtype.kind not in "biuf":
                    raise ValueError(f"{name}: array '{key}' is not numeric (dtype {dtype})")
                values = int(np.prod(shape, dtype=np.float64))
                if values > limits.MAX_ARRAY_VALUES:
                    raise ValueError(f"{name}: array '{key}' has shape {shape}, {values:,} numbers, "
                                     f"over the limit of {limits.MAX_ARRAY_VALUES:,}")
            for key in keys:
                out[key] = np.asarray(f[key], dtype=np.float64)
    except (ValueError, MemoryError):
        raise
    except Exception as e:  # zipfile.BadZipFile, a truncated member, a damaged .npy header
        raise ValueError(f"{name}: not a readable npz archive, it is damaged "
                         f"({type(e).__name__}: {e})") from None
    return out


def bonded_pairs(x0: np.ndarray) -> np.ndarray:
    """Pairs (2, E) of nodes closer than BOND_LENGTH in x0 (N, 3): the lines drawn between atoms."""
    d = np.linalg.norm(x0[:, None] - x0[None], axis=-1)
    i, j = np.nonzero(np.triu(d < BOND_LENGTH, k=1))
    return np.stack([i, j])
