"""Molecular dynamics behind the md17/<molecule> datasets (docs/design.md §2).

MD17 itself (DFT MD at 500 K, 0.5 fs) cannot be downloaded here, so each molecule is built from
SMILES with RDKit (ETKDG embedding, MMFF94 relaxation) and simulated on GFN2-xTB forces from
tblite (``engine="xtb"``) or RDKit MMFF94 forces (``engine="mmff"``: fast, for tests).

Every split is made of ``SEGMENTS`` independent segments, each from its own seed: its own
conformer, thermal velocities, a Langevin equilibration (friction 0.01 / fs) and then the
production run. Production is velocity Verlet (``"nve"``, the default): no thermostat, centre
of mass fixed, so the future of a stored state is determined by it, as in gas-phase ab initio MD.
At the start of production the linear and angular momentum are set to zero (``rotation="zero"``,
the default: ω = I⁻¹L about the centre of mass removed, the kinetic energy kept by rescaling), so
the molecule does not tumble, as in MD17 and GFN2-xTB's own MD driver; ``rotation="thermal"``
keeps the angular momentum the equilibration left (the molecule turns by about a radian per
window), for comparison.
``"langevin"`` (friction 0.001 / fs) is the older thermostatted production, kept for comparison.

Stored per split: positions, velocities (Å, Å/fs) and total energy (eV) of all atoms every
``STRIDE`` steps, shape (segments, frames, atoms, 3). Windows start every ``spacing`` steps
inside each segment and never cross segments. Generation resumes segment by segment.
"""
from __future__ import annotations

import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from egno.align import superpose

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
PRODUCTIONS = ("nve", "langevin")
ROTATIONS = ("zero", "thermal")  # the angular momentum production starts with
TIMESTEP_FS = 0.5
TEMPERATURE_K = 500.0
LANGEVIN_FRICTION_PER_FS = 0.001   # the "langevin" production only
EQUILIBRATION_FRICTION_PER_FS = 0.01
STRIDE = 15            # MD steps between stored frames (7.5 fs)
WINDOW_STEPS = 3000    # ΔT = 1.5 ps
EQUILIBRATION = 2000   # steps of strong friction before a segment's first stored frame
SIZES = {"train": 500, "val": 2000, "test": 2000}  # windows per split
SEEDS = {"train": 1, "val": 2, "test": 3}
SEGMENTS = 10          # independent segments per split: many energies and angular momenta each
FLOOR_WINDOWS = 20     # test windows rerun from their stored state for the floors
FLOOR_PERTURBATION = 1e-6  # relative velocity change of the full-state floor
# a full-size split whose mean temperature misses 500 K by more than this is simulated again
# with the next block of seeds (the card lists each rejected block)
TEMPERATURE_TOLERANCE = 0.10
REDRAWS = 5
AMU_A2_PER_FS = "amu Å²/fs"


class MMFFCalculator:
    """An ASE calculator on RDKit's MMFF94 force field (energies in eV, forces in eV/Å)."""

    implemented_properties = ("energy", "forces")
    KCAL_TO_EV = 0.0433641

    def __init__(self, mol):
        from rdkit.Chem import AllChem

        props = AllChem.MMFFGetMoleculeProperties(mol)
        self.ff = AllChem.MMFFGetMoleculeForceField(mol, props)
        self.results = {}

    def get_potential_energy(self, atoms=None, force_consistent=False):
        return self.ff.CalcEnergy(atoms.positions.ravel().tolist()) * self.KCAL_TO_EV

    def get_forces(self, atoms=None):
        pos = atoms.positions.ravel().tolist()
        self.ff.CalcEnergy(pos)  # RDKit: CalcGrad is only right after CalcEnergy(pos)
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
            raise RuntimeError("run GFN2-xTB with OMP_NUM_THREADS=1 (more threads are far slower on small molecules)")
        from tblite.ase import TBLite

        return TBLite(method="GFN2-xTB", verbosity=0)
    raise ValueError(f"engine must be 'xtb' or 'mmff', not '{engine}'")


def _atoms(smiles: str, engine: str, seed: int):
    from ase import Atoms
    from ase.constraints import FixCom

    mol = build_molecule(smiles, seed)
    atoms = Atoms([a.GetSymbol() for a in mol.GetAtoms()], positions=mol.GetConformer().GetPositions())
    atoms.calc = _calculator(engine, mol)
    atoms.set_constraint(FixCom())  # ASE's way to keep the centre of mass still
    return atoms


def _integrator(atoms, production: str, rng):
    from ase import units
    from ase.md.langevin import Langevin
    from ase.md.verlet import VelocityVerlet

    if production == "nve":
        return VelocityVerlet(atoms, TIMESTEP_FS * units.fs)
    if production == "langevin":
        return Langevin(atoms, TIMESTEP_FS * units.fs, temperature_K=TEMPERATURE_K,
                        friction=LANGEVIN_FRICTION_PER_FS / units.fs, fixcm=False, rng=rng)
    raise ValueError(f"production must be one of {PRODUCTIONS}, not '{production}'")


def _record(atoms, dyn, n_frames: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions (Å), velocities (Å/fs) and total energy (eV) every STRIDE steps, n_frames times."""
    from ase import units

    pos, vel, energy = [], [], []
    for i in range(n_frames):
        if i:
            dyn.run(STRIDE)
        pos.append(atoms.positions.copy())
        vel.append(atoms.get_velocities() * units.fs)  # ASE velocity × fs → Å/fs
        energy.append(atoms.get_potential_energy() + atoms.get_kinetic_energy())
    return np.array(pos), np.array(vel), np.array(energy)


def simulate_segment(smiles: str, engine: str, seed: int, n_frames: int, production: str = "nve",
                     rotation: str = "zero") -> dict:
    """One segment: seeded conformer and velocities, Langevin equilibration, then ``production``
    (with the net rotation removed first when ``rotation`` is "zero")."""
    from ase import units
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import Stationary, ZeroRotation, thermalize_momenta

    start = time.time()
    atoms = _atoms(smiles, engine, seed)
    rng = np.random.default_rng(seed)
    thermalize_momenta(atoms, temperature_K=TEMPERATURE_K, rng=rng)
    Stationary(atoms)
    ZeroRotation(atoms)
    Langevin(atoms, TIMESTEP_FS * units.fs, temperature_K=TEMPERATURE_K,
             friction=EQUILIBRATION_FRICTION_PER_FS / units.fs, fixcm=False, rng=rng).run(EQUILIBRATION)
    if rotation == "zero":  # the thermostat re-randomises the rotation, so zero it after, not before
        Stationary(atoms, preserve_temperature=True)
        ZeroRotation(atoms, preserve_temperature=True)
    elif rotation != "thermal":
        raise ValueError(f"rotation must be one of {ROTATIONS}, not '{rotation}'")
    pos, vel, energy = _record(atoms, _integrator(atoms, production, rng), n_frames)
    return {"z": atoms.numbers, "masses": atoms.get_masses(), "positions": pos, "velocities": vel,
            "energy": energy, "wall_time_s": time.time() - start}


def rerun(smiles: str, engine: str, z: np.ndarray, x: np.ndarray, v: np.ndarray, steps: int) -> np.ndarray:
    """Positions of all atoms after ``steps`` NVE steps from state (x, v) in Å and Å/fs."""
    from ase import units

    atoms = _atoms(smiles, engine, 0)
    assert (atoms.numbers == z).all(), "the stored atoms do not match the molecule's SMILES"
    atoms.positions = x
    atoms.set_velocities(v / units.fs)
    _integrator(atoms, "nve", None).run(steps)
    return atoms.positions.copy()


def redraw_hydrogens(x: np.ndarray, v: np.ndarray, z: np.ndarray, masses: np.ndarray, rng) -> np.ndarray:
    """Velocities (Å/fs) with the hydrogens' drawn anew at 500 K, the heavy atoms' untouched and
    the total linear and angular momentum kept as they were (the hidden part of the state a
    heavy-atom model cannot see; a rotation-free state stays rotation-free)."""
    from ase import units

    h = z == 1
    sigma = np.sqrt(units.kB * TEMPERATURE_K / masses[h])[:, None] * units.fs  # Å/fs
    out = v.copy()
    out[h] = rng.normal(size=(int(h.sum()), 3)) * sigma
    return out - rigid_correction(x, out - v, masses, h)


def momenta(x: np.ndarray, v: np.ndarray, masses: np.ndarray) -> np.ndarray:
    """Linear and angular momentum (6,) of velocities v (N, 3), the latter about the centre of mass."""
    r = x - (masses[:, None] * x).sum(0) / masses.sum()
    return np.concatenate([(masses[:, None] * v).sum(0), (masses[:, None] * np.cross(r, v)).sum(0)])


def rigid_correction(x: np.ndarray, dv: np.ndarray, masses: np.ndarray, subset: np.ndarray) -> np.ndarray:
    """The rigid velocity field a + ω × r on ``subset`` (zero elsewhere) carrying the same linear
    and angular momentum as ``dv``: subtract it and dv changes neither."""
    r = x - (masses[:, None] * x).sum(0) / masses.sum()

    def field(c: np.ndarray) -> np.ndarray:
        out = np.zeros_like(x)
        out[subset] = c[:3] + np.cross(c[3:], r[subset])
        return out

    basis = np.eye(6)
    A = np.stack([momenta(x, field(b), masses) for b in basis], axis=1)  # 6×6, linear in (a, ω)
    coef = np.linalg.lstsq(A, momenta(x, dv, masses), rcond=None)[0]
    return field(coef)


def heavy_mse(a: np.ndarray, b: np.ndarray, z: np.ndarray) -> float:
    """MSE over heavy atoms and x, y, z (Å²): the protocol's F-MSE for one window."""
    return float(((a[z > 1] - b[z > 1]) ** 2).mean())


def _segment_job(job: tuple) -> tuple:
    key, smiles, engine, seed, n_frames, production, rotation = job
    return key, simulate_segment(smiles, engine, seed, n_frames, production, rotation)


def _floor_job(job: tuple) -> tuple:
    """Half the heavy-atom F-MSE between the stored future and a rerun with the velocities
    nudged by 1e-6 (full state) or the hydrogens' velocities redrawn (heavy-atom state)."""
    key, smiles, engine, seed, z, masses, x, v, truth = job
    rng = np.random.default_rng(seed)
    nudged = v * (1 + FLOOR_PERTURBATION * rng.standard_normal(v.shape))
    full = rerun(smiles, engine, z, x, nudged, WINDOW_STEPS)
    heavy = rerun(smiles, engine, z, x, redraw_hydrogens(x, v, z, masses, rng), WINDOW_STEPS)
    return key, {"full_state": heavy_mse(full, truth, z) / 2, "heavy_atom": heavy_mse(heavy, truth, z) / 2,
                 "no_motion": heavy_mse(x, truth, z)}


def frames_needed(windows: int, spacing: int) -> int:
    """Stored frames for ``windows`` windows starting every ``spacing`` steps."""
    return (windows - 1) * spacing // STRIDE + WINDOW_STEPS // STRIDE + 1


def segment_windows(size: int, segments: int) -> list[int]:
    """Windows taken from each segment: ``size`` split as evenly as possible."""
    return [size // segments + (k < size % segments) for k in range(segments)]


def _run(fn, jobs: list, workers: int, bar):
    """Yield fn(job) for every job, ``workers`` processes at a time (in this process when 1)."""
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield fn(job)
            bar.update(1)
        return
    with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=get_context("spawn")) as pool:
        for out in pool.map(fn, jobs):
            yield out
            bar.update(1)


def _save(path: Path, **arrays) -> None:
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)  # a killed run leaves no half-written file


def split_facts(data: dict, seeds: list[int], spacing: int, size: int) -> dict:
    """Temperature, energy drift, angular momentum and no-motion F-MSE of one stored split."""
    from ase import units

    pos, vel, energy, z, m = data["positions"], data["velocities"], data["energy"], data["z"], data["masses"]
    kinetic = 0.5 * (m[None, None, :, None] * (vel / units.fs) ** 2).sum((2, 3))  # eV
    temperature = 2 * kinetic / ((3 * len(z) - 3) * units.kB)  # centre of mass fixed
    ps = (pos.shape[1] - 1) * STRIDE * TIMESTEP_FS / 1000
    drift = (energy[:, -1] - energy[:, 0]) / ps / len(z)
    com = (m[None, :, None] * pos[:, 0]).sum(1) / m.sum()
    angular = np.linalg.norm((m[None, :, None] * np.cross(pos[:, 0] - com[:, None], vel[:, 0])).sum(1), axis=-1)
    step, ahead = spacing // STRIDE, WINDOW_STEPS // STRIDE
    starts = [(s, f) for s, n in enumerate(segment_windows(size, len(pos))) for f in range(0, n * step, step)]
    no_motion = np.mean([heavy_mse(pos[s, f], pos[s, f + ahead], z) for s, f in starts])
    internal = np.mean([heavy_mse(superpose(pos[s, f + ahead][None, z > 1], pos[s, f][None, z > 1])[0],
                                  pos[s, f][z > 1], z[z > 1]) for s, f in starts])
    return {"segments": len(pos), "seeds": seeds, "frames_per_segment": pos.shape[1],
            "steps": len(pos) * ((pos.shape[1] - 1) * STRIDE + EQUILIBRATION),
            "mean_temperature_K": float(temperature.mean()),
            "segment_temperature_K": [round(float(t), 1) for t in temperature.mean(1)],
            "energy_drift_eV_per_ps_per_atom": {"mean_abs": float(np.abs(drift).mean()),
                                                "max_abs": float(np.abs(drift).max())},
            "angular_momentum": {"unit": AMU_A2_PER_FS, "mean": float(angular.mean()),
                                 "std": float(angular.std()), "min": float(angular.min()),
                                 "max": float(angular.max())},
            "no_motion_f_mse": float(no_motion),
            # the final frame laid on the first by Kabsch: what is left once the rigid motion is removed
            "no_motion_internal_f_mse": float(internal),
            "rigid_share_of_no_motion": float(1 - internal / no_motion)}


def temperature_ok(kelvin: float) -> bool:
    """Whether a split's mean temperature is within the protocol's band around 500 K."""
    return abs(kelvin - TEMPERATURE_K) <= TEMPERATURE_TOLERANCE * TEMPERATURE_K


def _seeds(name: str, split: str, redraw: int, segments: int) -> list[int]:
    base = 100_000 * SEEDS[split] + 1000 * list(MOLECULES).index(name) + 100 * redraw
    return [base + k for k in range(segments)]


def generate_molecule(data_dir: Path, name: str, engine: str = "xtb", spacing: int = 30,
                      sizes: dict | None = None, progress: bool = True,
                      splits: tuple[str, ...] = ("train", "val", "test"), segments: int = SEGMENTS,
                      production: str = "nve", workers: int = 1, floor_windows: int = FLOOR_WINDOWS,
                      rotation: str = "zero") -> Path:
    """Every split of one molecule, its floors and its card (resumable segment by segment)."""
    smiles = MOLECULES[name]
    if spacing % STRIDE:
        raise ValueError(f"the window spacing must be a multiple of the {STRIDE}-step frame stride, not {spacing}")
    if production not in PRODUCTIONS:
        raise ValueError(f"production must be one of {PRODUCTIONS}, not '{production}'")
    if rotation not in ROTATIONS:
        raise ValueError(f"rotation must be one of {ROTATIONS}, not '{rotation}'")
    sizes = {**SIZES, **(sizes or {})}
    if any(sizes[s] < segments for s in splits):
        raise ValueError(f"every split needs at least one window per segment ({segments}), got {sizes}")
    data_dir.mkdir(parents=True, exist_ok=True)
    card_path = data_dir / "card.json"
    card = json.loads(card_path.read_text()) if card_path.exists() else {}
    if card.get("note", "").startswith("test split only"):
        card = {}  # a copy of the committed test sample (the app's), not a generation to resume
    settings = dict(engine=engine, production=production, rotation=rotation, spacing_steps=spacing,
                    segments=segments, sizes=sizes)
    if card and any(card.get(k) != v for k, v in settings.items()):
        raise ValueError(f"{data_dir} holds data made with other settings "
                         f"({ {k: card.get(k) for k in settings} }); use another --data-dir")
    card.update(dataset=f"md17/{name}", smiles=smiles, temperature_K=TEMPERATURE_K, timestep_fs=TIMESTEP_FS,
                equilibration_friction_per_fs=EQUILIBRATION_FRICTION_PER_FS, stride_steps=STRIDE,
                window_steps=WINDOW_STEPS, equilibration_steps=EQUILIBRATION, **settings)
    if production == "langevin":
        card["production_friction_per_fs"] = LANGEVIN_FRICTION_PER_FS
    card.setdefault("splits", {})
    card.setdefault("rejected", {})
    checked = sizes == SIZES  # tiny custom runs fluctuate far more: no temperature redraws there
    parts = data_dir / "segments"
    for split in splits:
        if (data_dir / f"{split}.npz").exists() and split in card["splits"]:
            continue
        rejected = card["rejected"].setdefault(split, [])
        while split not in card["splits"]:
            if len(rejected) > REDRAWS:
                raise RuntimeError(f"{name} {split}: no block of seeds gave a mean temperature within "
                                   f"{TEMPERATURE_TOLERANCE:.0%} of {TEMPERATURE_K:.0f} K: {rejected}")
            seeds = _seeds(name, split, len(rejected), segments)
            per = segment_windows(sizes[split], segments)
            parts.mkdir(exist_ok=True)
            jobs = [(parts / f"{split}-{seed}.npz", smiles, engine, seed, frames_needed(n, spacing), production,
                     rotation)
                    for seed, n in zip(seeds, per) if not (parts / f"{split}-{seed}.npz").exists()]
            with tqdm(total=len(seeds), initial=len(seeds) - len(jobs), desc=f"{name} {split}",
                      disable=not progress, unit="segment") as bar:
                for path, out in _run(_segment_job, jobs, workers, bar):
                    _save(path, **out)
            data = _assemble([parts / f"{split}-{s}.npz" for s in seeds])
            facts = split_facts(data, seeds, spacing, sizes[split])
            facts["wall_time_s"] = round(float(data["wall_time_s"].sum()), 1)  # summed over segments
            if checked and not temperature_ok(facts["mean_temperature_K"]):
                rejected.append({"seeds": seeds, "mean_temperature_K": facts["mean_temperature_K"],
                                 "wall_time_s": facts["wall_time_s"]})
            else:
                np.savez(data_dir / f"{split}.npz", **{k: v for k, v in data.items() if k != "wall_time_s"})
                card["splits"][split] = facts
            for s in seeds:
                (parts / f"{split}-{s}.npz").unlink()
            card_path.write_text(json.dumps(card, indent=2))
    if production == "nve" and "test" in card["splits"] and "floors" not in card and floor_windows:
        card["floors"] = measure_floors(data_dir, smiles, engine, spacing, sizes["test"], floor_windows,
                                        workers, progress, name)
        card_path.write_text(json.dumps(card, indent=2))
    if parts.exists() and not any(parts.iterdir()):
        parts.rmdir()
    return data_dir


def _assemble(paths: list[Path]) -> dict:
    """One split from its segment files: arrays stacked along a leading segment axis."""
    loaded = []
    for p in paths:
        with np.load(p, allow_pickle=False) as f:
            loaded.append({k: f[k] for k in f.files})
    out = {k: np.stack([d[k] for d in loaded]) for k in ("positions", "velocities", "energy")}
    out.update(z=loaded[0]["z"], masses=loaded[0]["masses"],
               wall_time_s=np.array([float(d["wall_time_s"]) for d in loaded]))
    return out


def measure_floors(data_dir: Path, smiles: str, engine: str, spacing: int, size: int, windows: int,
                   workers: int = 1, progress: bool = True, name: str = "") -> dict:
    """Full-state and heavy-atom floors on ``windows`` test windows spread over the segments."""
    with np.load(data_dir / "test.npz", allow_pickle=False) as f:
        pos, vel, z, m = f["positions"], f["velocities"], f["z"], f["masses"]
    step, ahead = spacing // STRIDE, WINDOW_STEPS // STRIDE
    per = segment_windows(size, len(pos))
    rounds = -(-windows // len(pos))  # windows per segment, rounded up; window k from segment k mod S
    picks = [(k % len(pos), step * int(np.linspace(0, per[k % len(pos)] - 1, rounds, dtype=int)[k // len(pos)]))
             for k in range(windows)]
    jobs = [((s, f), smiles, engine, 7919 + k, z, m, pos[s, f], vel[s, f], pos[s, f + ahead])
            for k, (s, f) in enumerate(picks)]
    start = time.time()
    rows = []
    with tqdm(total=len(jobs), desc=f"{name} floors", disable=not progress, unit="window") as bar:
        for _, row in _run(_floor_job, jobs, workers, bar):
            rows.append(row)
    mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
    return {"windows": len(rows), "full_state_f_mse": mean["full_state"],
            "heavy_atom_f_mse": mean["heavy_atom"], "no_motion_f_mse": mean["no_motion"],
            "heavy_atom_fraction_of_no_motion": mean["heavy_atom"] / mean["no_motion"],
            "steps": 2 * len(rows) * WINDOW_STEPS, "wall_time_s": round(time.time() - start, 1)}
