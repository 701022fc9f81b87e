"""Molecules: MD17-protocol trajectories simulated here (DESIGN §2), addressed as md17/<molecule>.

MD17 itself (DFT MD at 500 K, 0.5 fs) cannot be downloaded here, so each molecule is built from
SMILES with RDKit (ETKDG embedding, MMFF94 relaxation) and run with ASE's Langevin integrator
(500 K, 0.5 fs; friction 0.01 / fs while equilibrating, then a gentle 0.001 / fs so the
trajectory stays close to Newtonian over a 1.5 ps window, as MD17's thermostatted DFT MD) on
GFN2-xTB forces from tblite (``engine="xtb"``), or on
RDKit MMFF94 forces (``engine="mmff"``: thousands of steps a second, for tests and quick runs).
Train, validation and test are independent trajectories with their own seeds (the reference
split draws every split's windows from one trajectory, which leaks).

Stored: positions and velocities of all atoms every ``STRIDE`` = 15 MD steps (7.5 fs), after
1000 equilibration steps. A window starts every ``spacing`` steps (default 30); ΔT = 3000 steps
(1500 fs); targets every 3000 / P steps, so P may be any divisor of 200 (8 and 50 included).
Generation is resumable: each split writes a partial file with the integrator state every chunk.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .base import DatasetFamily, Windows, copy_committed, read_user_npz, uniform_times
from .mocap import two_hop

MOLECULES = {  # name -> SMILES (the eight MD17 molecules)
    "aspirin": "CC(=O)Oc1ccccc1C(=O)O",
    "benzene": "c1ccccc1",
    "ethanol": "CCO",
    "malonaldehyde": "O=CCC=O",
    "naphthalene": "c1ccc2ccccc2c1",
    "salicylic": "O=C(O)c1ccccc1O",
    "toluene": "Cc1ccccc1",
    "uracil": "O=c1cc[nH]c(=O)[nH]1",
}
TIMESTEP_FS = 0.5
TEMPERATURE_K = 500.0
FRICTION_PER_FS = 0.001            # production: velocity memory ~1 ps, longer than ΔT = 1.5 ps
EQUILIBRATION_FRICTION_PER_FS = 0.01
STRIDE = 15            # MD steps between stored frames
WINDOW_STEPS = 3000    # ΔT
EQUILIBRATION = 2000   # steps (1 ps, strong friction) dropped before the first stored frame
SIZES = {"train": 500, "val": 2000, "test": 2000}  # windows per split
SEEDS = {"train": 1, "val": 2, "test": 3}
# A full-size split whose mean temperature misses 500 K by more than this is simulated again with
# the next seed (+10, up to REDRAWS times; the card lists each rejected seed and its temperature).
# Under the weak production friction a short split of a small molecule can stay warm or cool for
# picoseconds: ethanol's first training run (seed 201, 9 atoms, 10 ps) averaged 575 K.
TEMPERATURE_TOLERANCE = 0.10
REDRAWS = 5
SEED_REDRAW_STEP = 10
CHUNK_FRAMES = 200     # frames between resumable partial saves
SAMPLES = Path(__file__).resolve().parents[2] / "assets" / "samples"


class MMFFCalculator:
    """An ASE calculator on RDKit's MMFF94 force field (energies in eV, forces in eV/Å)."""

    implemented_properties = ("energy", "forces")
    KCAL_TO_EV = 0.0433641

    def __init__(self, mol):
        from ase.calculators.calculator import Calculator
        from rdkit.Chem import AllChem

        props = AllChem.MMFFGetMoleculeProperties(mol)
        self.ff = AllChem.MMFFGetMoleculeForceField(mol, props)
        self._calc = Calculator()
        self.results = {}

    def get_potential_energy(self, atoms=None, force_consistent=False):
        return self.ff.CalcEnergy(atoms.positions.ravel().tolist()) * self.KCAL_TO_EV

    def get_forces(self, atoms=None):
        pos = atoms.positions.ravel().tolist()
        self.ff.CalcEnergy(pos)  # RDKit 2026.09: CalcGrad is only right after CalcEnergy(pos)
        grad = np.array(self.ff.CalcGrad(pos)).reshape(-1, 3)
        return -grad * self.KCAL_TO_EV

    def get_stress(self, atoms=None):
        raise NotImplementedError

    def calculation_required(self, atoms, properties):
        return True

    def check_state(self, atoms):
        return []


def build_molecule(smiles: str, seed: int):
    """RDKit molecule with hydrogens and one MMFF-relaxed 3D conformer (seeded)."""
    from rdkit import Chem
    from rdkit.Chem import AllChem

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"RDKit cannot parse SMILES '{smiles}'")
    mol = Chem.AddHs(mol)
    params = AllChem.ETKDGv3()
    params.randomSeed = seed
    if AllChem.EmbedMolecule(mol, params) != 0:
        raise ValueError(f"RDKit could not embed '{smiles}' in 3D")
    AllChem.MMFFOptimizeMolecule(mol)
    return mol


def _calculator(engine: str, mol):
    if engine == "mmff":
        return MMFFCalculator(mol)
    if engine == "xtb":
        if os.environ.get("OMP_NUM_THREADS") != "1":
            raise RuntimeError("run GFN2-xTB with OMP_NUM_THREADS=1 (2 threads were ~30x slower here)")
        from tblite.ase import TBLite

        return TBLite(method="GFN2-xTB", verbosity=0)
    raise ValueError(f"engine must be 'xtb' or 'mmff', not '{engine}'")


def frames_needed(windows: int, spacing: int) -> int:
    """Stored frames for ``windows`` windows starting every ``spacing`` steps."""
    return (windows - 1) * spacing // STRIDE + WINDOW_STEPS // STRIDE + 1


def simulate_split(path: Path, smiles: str, engine: str, seed: int, n_frames: int,
                   progress: bool = True, desc: str = "") -> dict:
    """Langevin MD into ``path`` (npz: z, positions, velocities in Å and Å/fs), resuming from
    ``path``.partial.npz when a previous run was interrupted. Returns timing facts."""
    from ase import Atoms, units
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import Stationary, ZeroRotation, thermalize_momenta

    mol = build_molecule(smiles, seed)
    atoms = Atoms([a.GetSymbol() for a in mol.GetAtoms()], positions=mol.GetConformer().GetPositions())
    atoms.calc = _calculator(engine, mol)
    rng = np.random.default_rng(seed)
    partial = path.with_suffix(".partial.npz")
    pos, vel, done, before = [], [], 0, None
    if partial.exists():
        with np.load(partial, allow_pickle=False) as f:
            pos, vel = list(f["positions"]), list(f["velocities"])
            before = float(f["elapsed_s"]) if "elapsed_s" in f.files else None  # older partials lack it
            atoms.positions = f["state_x"]
            atoms.set_velocities(f["state_v"])
            rng.bit_generator.state = json.loads(str(f["rng"]))
        done = len(pos)
    from ase.constraints import FixCom

    atoms.set_constraint(FixCom())  # ASE's recommended way to keep the centre of mass still
    start = time.time()
    if done == 0:
        thermalize_momenta(atoms, temperature_K=TEMPERATURE_K, rng=rng)
        Stationary(atoms)
        ZeroRotation(atoms)
        Langevin(atoms, TIMESTEP_FS * units.fs, temperature_K=TEMPERATURE_K,
                 friction=EQUILIBRATION_FRICTION_PER_FS / units.fs, fixcm=False, rng=rng).run(EQUILIBRATION)
    dyn = Langevin(atoms, TIMESTEP_FS * units.fs, temperature_K=TEMPERATURE_K,
                   friction=FRICTION_PER_FS / units.fs, fixcm=False, rng=rng)
    to_fs = units.fs  # ASE velocity unit is Å / (ASE time); × units.fs gives Å/fs
    with tqdm(total=n_frames, initial=done, desc=desc, disable=not progress) as bar:
        while len(pos) < n_frames:
            if pos:
                dyn.run(STRIDE)
            pos.append(atoms.positions.copy())
            vel.append(atoms.get_velocities() * to_fs)
            bar.update(1)
            if len(pos) % CHUNK_FRAMES == 0 and len(pos) < n_frames:
                np.savez(partial, positions=np.array(pos), velocities=np.array(vel),
                         state_x=atoms.positions, state_v=atoms.get_velocities(),
                         rng=json.dumps(rng.bit_generator.state),
                         elapsed_s=(before or 0.0) + time.time() - start)
    pos, vel = np.array(pos), np.array(vel)
    np.savez(path, z=atoms.numbers, positions=pos, velocities=vel)
    partial.unlink(missing_ok=True)
    masses = atoms.get_masses()
    kinetic = 0.5 * (masses[None, :, None] * (vel / to_fs) ** 2).sum((1, 2))  # eV per frame
    temperature = 2 * kinetic / ((3 * len(atoms) - 3) * units.kB)  # centre of mass fixed
    return {"frames": len(pos), "steps": (len(pos) - 1) * STRIDE + EQUILIBRATION,
            "mean_temperature_K": float(temperature.mean()),
            # over every run of this split; None when it resumed a partial file that had no clock
            "wall_time_s": None if done and before is None else round((before or 0.0) + time.time() - start, 1),
            "resumed": bool(done)}


def nve_drift(smiles: str, engine: str, seed: int, steps: int = 2000) -> dict:
    """Energy drift of a short velocity-Verlet (NVE) run from a 500 K start: a check that the
    forces are conservative and 0.5 fs is small enough."""
    from ase import Atoms, units
    from ase.md.velocitydistribution import Stationary, ZeroRotation, thermalize_momenta
    from ase.md.verlet import VelocityVerlet

    mol = build_molecule(smiles, seed)
    atoms = Atoms([a.GetSymbol() for a in mol.GetAtoms()], positions=mol.GetConformer().GetPositions())
    atoms.calc = _calculator(engine, mol)
    thermalize_momenta(atoms, temperature_K=TEMPERATURE_K, rng=np.random.default_rng(seed))
    Stationary(atoms)
    ZeroRotation(atoms)
    dyn = VelocityVerlet(atoms, TIMESTEP_FS * units.fs)
    energies = []
    for _ in range(steps // 100 + 1):
        energies.append(atoms.get_potential_energy() + atoms.get_kinetic_energy())
        dyn.run(100)
    e = np.array(energies)
    return {"steps": steps, "drift_eV_per_ps_per_atom": float((e[-1] - e[0]) / (steps * TIMESTEP_FS / 1000) / len(atoms)),
            "max_deviation_eV": float(np.abs(e - e[0]).max())}


def generate_molecule(data_dir: Path, name: str, engine: str = "xtb", spacing: int = 30,
                      sizes: dict | None = None, progress: bool = True,
                      splits: tuple[str, ...] = ("train", "val", "test"),
                      train_spacing: int | None = None) -> Path:
    """All splits of one molecule plus its card (resumable: finished splits are kept).
    ``spacing``: MD steps between window starts; ``train_spacing``: the same for the training
    split when it differs (a longer training trajectory, windows further apart)."""
    smiles = MOLECULES[name]
    train_spacing = train_spacing or spacing
    if spacing % STRIDE or train_spacing % STRIDE:
        raise ValueError(f"window spacings must be multiples of the {STRIDE}-step frame stride, "
                         f"not {spacing} / {train_spacing}")
    sizes = {**SIZES, **(sizes or {})}
    data_dir.mkdir(parents=True, exist_ok=True)
    card_path = data_dir / "card.json"
    card = json.loads(card_path.read_text()) if card_path.exists() else {}
    if card and (card.get("engine") != engine or card.get("spacing_steps") != spacing
                 or split_spacing(card, "train") != train_spacing
                 or card.get("friction_per_fs") != FRICTION_PER_FS):
        raise ValueError(f"{data_dir} holds {card.get('engine')} data with spacing "
                         f"{card.get('spacing_steps')} (training split "
                         f"{split_spacing(card, 'train')}); use another --data-dir")
    card.update(dataset=f"md17/{name}", smiles=smiles, engine=engine, temperature_K=TEMPERATURE_K,
                timestep_fs=TIMESTEP_FS, friction_per_fs=FRICTION_PER_FS,
                equilibration_friction_per_fs=EQUILIBRATION_FRICTION_PER_FS, stride_steps=STRIDE,
                window_steps=WINDOW_STEPS, spacing_steps=spacing,
                train_spacing_steps=train_spacing, equilibration_steps=EQUILIBRATION,
                sizes=sizes, seeds=SEEDS)
    card.setdefault("splits", {})
    offset = list(MOLECULES).index(name) * 100
    checked = sizes == SIZES  # tiny custom runs fluctuate far more: no temperature redraws there
    for split in splits:
        path = data_dir / f"{split}.npz"
        rejected = card.setdefault("rejected", {}).setdefault(split, [])
        done = card["splits"].get(split)
        if path.exists() and done:
            if not checked or temperature_ok(done["mean_temperature_K"]):
                continue
            _reject(card, split, done, path)  # an older card's split outside the band
            card_path.write_text(json.dumps(card, indent=2))
        card["splits"].pop(split, None)  # its data file is gone: simulate it (again)
        while split not in card["splits"]:
            if len(rejected) > REDRAWS:
                raise RuntimeError(f"{name} {split}: none of {len(rejected)} seeds gave a mean "
                                   f"temperature within {TEMPERATURE_TOLERANCE:.0%} of "
                                   f"{TEMPERATURE_K:.0f} K: {rejected}")
            seed = SEEDS[split] + offset + SEED_REDRAW_STEP * len(rejected)
            frames = frames_needed(sizes[split], split_spacing(card, split))
            facts = simulate_split(path, smiles, engine, seed, frames, progress,
                                   f"{name} {split}") | {"seed": seed}
            if checked and not temperature_ok(facts["mean_temperature_K"]):
                _reject(card, split, facts, path)
            else:
                card["splits"][split] = facts
            card_path.write_text(json.dumps(card, indent=2))
    if "nve_check" not in card:
        card["nve_check"] = nve_drift(smiles, engine, 99 + offset)
    card_path.write_text(json.dumps(card, indent=2))
    return data_dir


def _reject(card: dict, split: str, facts: dict, path: Path) -> None:
    """Record a split's seed and temperature as rejected and delete its data."""
    card["rejected"][split].append({"seed": facts["seed"], "mean_temperature_K": facts["mean_temperature_K"]})
    card["splits"].pop(split, None)
    path.unlink()


def temperature_ok(kelvin: float) -> bool:
    """Whether a split's mean temperature is within the protocol's band around 500 K."""
    return abs(kelvin - TEMPERATURE_K) <= TEMPERATURE_TOLERANCE * TEMPERATURE_K


def split_spacing(card: dict, split: str) -> int:
    """MD steps between window starts in ``split``, from its molecule's card (cards written before
    the training split had its own spacing give one spacing for all)."""
    spacing = card["spacing_steps"]
    return card.get("train_spacing_steps", spacing) if split == "train" else spacing


def generate_job(job: tuple) -> str:
    """(dataset name, engine, sizes, data_dir, quiet, train spacing) -> output folder; a picklable
    entry point for the one-process-per-molecule pool of ``python -m egno data md17``."""
    from . import get_dataset

    name, engine, sizes, data_dir, quiet, train_spacing = job
    return str(get_dataset(name, data_dir).generate(progress=not quiet, engine=engine, sizes=sizes,
                                                    train_spacing=train_spacing))


# ---------------------------------------------------------------- windows and the family
ELEMENTS = (6, 7, 8)  # C, N, O one-hot; anything else heavy goes to the "other" column
BOND = 1.6            # Å: heavy-atom pairs closer than this at the input frame are bonds
MAX_ATOMS = 500
MAX_FRAMES = 200_000
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


class MD17(DatasetFamily):
    default_timesteps = 8
    time_unit = "fs"
    length_unit = "Å"
    file_formats = ("xyz", "extxyz", "npz")
    view = "molecule"

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
                 train_spacing: int | None = None, **_) -> Path:
        """Simulate the molecule's splits (md17/all: every molecule's). A request for the test
        split alone is served from the committed sample (assets/samples/md17) when there is one:
        the app then needs no minutes of GFN2-xTB MD."""
        for name, folder in self._molecule_dirs().items():
            committed = SAMPLES / "md17" / name
            if set(splits) == {"test"} and (committed / "test.npz").exists():
                copy_committed(committed, folder, ("test.npz", "card.json"))
                continue
            generate_molecule(folder, name, engine, spacing, sizes, progress, splits, train_spacing)
        return self.data_dir

    def ensure(self, progress: bool = True) -> None:
        missing = [m for m, d in self._molecule_dirs().items() if not (d / "test.npz").exists()]
        if missing:
            raise FileNotFoundError(f"no simulated data for {missing}: run `python -m egno data "
                                    f"md17 --molecule {self.variant}` first (GFN2-xTB, long)")

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
            step = split_spacing(card, split) // STRIDE
            n = min(card["sizes"][split], (len(pos) - WINDOW_STEPS // STRIDE - 1) // step + 1)
            parts.append(molecule_windows(pos, vel, z, np.arange(n) * step, WINDOW_STEPS // STRIDE // p, p))
        w = Windows.concat(parts) if len(parts) > 1 else parts[0]
        w.meta.update(dataset=self.name, split=split)
        return w

    def read_file(self, path: Path, timesteps: int | None = None) -> Windows:
        """An MD17/sGDML npz (R (T, N, 3) Å, z (N,), frames 0.5 fs apart: windows every 30
        steps, up to 2000, as the protocol) or a multi-frame XYZ / extended XYZ read with ASE
        (frames 0.5 fs apart unless each frame's info has ``time`` in fs: one window from
        frame 0). Velocities by finite differences; heavy atoms only."""
        p = timesteps or self.default_timesteps
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".npz":
            pos, z, dt = *_read_md17_npz(path), TIMESTEP_FS
        elif suffix in (".xyz", ".extxyz"):
            pos, z, dt = _read_xyz(path)
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
        vel = np.gradient(pos, dt, axis=0)
        steps_per_target = WINDOW_STEPS * TIMESTEP_FS / p / dt
        whole = abs(steps_per_target - round(steps_per_target)) < 1e-6 and round(steps_per_target) >= 1
        per = round(steps_per_target) if whole else None
        if suffix == ".npz" and per is not None:
            starts = np.arange(0, len(pos) - per * p, round(30 * TIMESTEP_FS / dt))[:2000]
        else:
            starts = np.array([0])
        if per is not None and len(pos) <= per * p:
            per = None
        w = molecule_windows(pos, vel, z, starts if per is not None else np.array([0]), per, p)
        w.meta.update(source=path.name, frames=len(pos), nodes=int((z > 1).sum()),
                      symbols=[_symbol(e) for e in z[z > 1]])
        return w


def _symbol(z: int) -> str:
    from ase.data import chemical_symbols

    return chemical_symbols[int(z)]


def _read_md17_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """R (T, N, 3) Å and z (N,) of an MD17/sGDML npz."""
    arrays = read_user_npz(path, ("R", "z"), what="an MD17 npz")
    pos, z = arrays["R"], arrays["z"].ravel()
    if not (np.isfinite(z).all() and (z == np.round(z)).all() and (z >= 1).all() and (z <= 118).all()):
        raise ValueError(f"{path.name}: z must hold atomic numbers (whole numbers 1-118)")
    z = z.astype(int)
    if pos.ndim != 3 or pos.shape[-1] != 3:
        raise ValueError(f"{path.name}: R must be (frames, atoms, 3), got {pos.shape}")
    if not np.isfinite(pos).all():
        raise ValueError(f"{path.name}: R has NaN or inf")
    return pos, z


def _read_xyz(path: Path) -> tuple[np.ndarray, np.ndarray, float]:
    from ase.io import read

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
    dt = TIMESTEP_FS
    if len(images) > 1 and all(isinstance(t, (int, float)) for t in times):
        steps = np.diff(times)
        if not (steps > 0).all() or np.ptp(steps) > 1e-6 * max(steps.max(), 1):
            raise ValueError(f"{path.name}: frame times must be evenly spaced and increasing")
        dt = float(steps[0])
    return pos, z, dt
