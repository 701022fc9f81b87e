"""Molecules: a tiny MMFF94 generation run, the heavy-atom graph, and user files (MD17 npz, XYZ)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from egno.data import get_dataset
from egno.data.md17 import BOND, MOLECULES, REDRAWS, STRIDE, WINDOW_STEPS, frames_needed, molecule_graph

pytest.importorskip("rdkit")


@pytest.fixture(scope="module")
def ethanol(tmp_path_factory):
    """md17/ethanol on MMFF94 with 12 windows per split, through the command line."""
    out = tmp_path_factory.mktemp("md17") / "ethanol"
    cmd = [sys.executable, "-W", "ignore", "-m", "egno", "data", "md17", "--molecule", "ethanol",
           "--engine", "mmff", "--data-dir", str(out), "--train", "12", "--val", "12", "--test", "12",
           "--quiet"]
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stderr
    return get_dataset("md17/ethanol", out)


def test_generation_card_and_independent_splits(ethanol):
    card = json.loads((ethanol.data_dir / "card.json").read_text())
    assert card["engine"] == "mmff" and card["timestep_fs"] == 0.5 and card["temperature_K"] == 500
    seeds = [card["splits"][s]["seed"] for s in ("train", "val", "test")]
    assert len(set(seeds)) == 3  # independent trajectories
    assert card["splits"]["test"]["frames"] == frames_needed(12, 30) == 11 * 2 + 200 + 1
    assert abs(card["nve_check"]["drift_eV_per_ps_per_atom"]) < 0.01
    with np.load(ethanol.data_dir / "train.npz") as a, np.load(ethanol.data_dir / "test.npz") as b:
        assert a["z"].tolist() == [6, 6, 8, 1, 1, 1, 1, 1, 1]
        assert not np.allclose(a["positions"][0], b["positions"][0])


def test_windows_heavy_atoms_graph_and_resolutions(ethanol):
    w = ethanol.load("test")
    assert len(w) == 12 and w.timesteps == 8 and w.window == WINDOW_STEPS * 0.5
    one = w.select([0])
    assert one.x.shape == (3, 3)  # C, C, O
    assert one.h[:, :4].tolist() == [[1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0]]
    # C-C and C-O bonds, C…O two bonds apart: 6 directed edges
    assert one.edge_index.shape[1] == 6 and one.edge_attr[:, 2].sum() == 4 and one.edge_attr[:, 3].sum() == 2
    with np.load(ethanol.data_dir / "test.npz") as f:
        pos = f["positions"][:, :3]
    per = WINDOW_STEPS // STRIDE // 8
    np.testing.assert_allclose(w.target[:, 3:6].numpy(), pos[[2 + per * p for p in range(1, 9)]], atol=1e-5)
    assert ethanol.load("test", 50).timesteps == 50 and 8 in ethanol.available_timesteps("test")
    with pytest.raises(ValueError, match="ground truth for P in"):
        ethanol.load("test", 7)


def test_graph_bonds_are_pairs_under_the_cutoff():
    x = np.array([[0.0, 0, 0], [1.5, 0, 0], [3.0, 0, 0], [6.0, 0, 0]])
    edges, attr = molecule_graph(x, np.array([6, 6, 8, 7]))
    pairs = {tuple(e): a for e, a in zip(edges.T, attr)}
    assert {(0, 1), (1, 0), (1, 2), (2, 1)} == {p for p, a in pairs.items() if a[2] == 1}
    assert {(0, 2), (2, 0)} == {p for p, a in pairs.items() if a[3] == 1} and BOND == 1.6
    assert pairs[(1, 2)][:2].tolist() == [0.6, 0.8]


def test_real_md17_npz_schema_is_read_with_the_protocol(tmp_path, ethanol):
    """An sGDML-style file (R, z, E, F; frames 0.5 fs apart): windows every 30 steps."""
    rng = np.random.default_rng(0)
    frames = 3000 + 30 * 4 + 1
    R = np.cumsum(rng.normal(0, 1e-3, (frames, 9, 3)), axis=0) + rng.normal(0, 1, (1, 9, 3))
    z = np.array([6, 6, 8, 1, 1, 1, 1, 1, 1])
    np.savez(tmp_path / "md17_ethanol.npz", R=R, z=z, E=np.zeros((frames, 1)), F=np.zeros_like(R))
    w = ethanol.read_file(tmp_path / "md17_ethanol.npz")
    assert len(w) == 5 and w.target.shape == (8, 15, 3)
    np.testing.assert_allclose(w.select([1]).x.numpy(), R[30, :3], atol=1e-5)
    np.testing.assert_allclose(w.select([1]).target[-1].numpy(), R[3030, :3], atol=1e-5)
    np.testing.assert_allclose(w.select([1]).v.numpy(), (R[31, :3] - R[29, :3]) / 1.0, atol=1e-5)
    np.savez(tmp_path / "bad.npz", positions=R)
    with pytest.raises(ValueError, match="an MD17 npz needs the arrays 'R', 'z'"):
        ethanol.read_file(tmp_path / "bad.npz")
    (tmp_path / "pickled.npz").write_bytes(b"PK not really a zip")
    with pytest.raises(ValueError, match="not a readable npz"):
        ethanol.read_file(tmp_path / "pickled.npz")
    np.savez(tmp_path / "z_float.npz", R=R, z=z + 0.5)
    with pytest.raises(ValueError, match="z must hold atomic numbers"):
        ethanol.read_file(tmp_path / "z_float.npz")


def test_xyz_and_extended_xyz_files(tmp_path, ethanol):
    from ase import Atoms
    from ase.io import write

    rng = np.random.default_rng(1)
    base = rng.normal(0, 1.2, (9, 3))
    images = []
    for k in range(9):
        a = Atoms("C2OH6", positions=base + 0.01 * k)
        a.info["time"] = 187.5 * k  # fs: exactly the P = 8 target spacing
        images.append(a)
    write(tmp_path / "traj.extxyz", images, format="extxyz")
    w = ethanol.read_file(tmp_path / "traj.extxyz")
    assert len(w) == 1 and w.target.shape == (8, 3, 3) and w.meta["symbols"] == ["C", "C", "O"]
    np.testing.assert_allclose(w.target[-1].numpy(), base[:3] + 0.08, atol=1e-5)
    (tmp_path / "plain.xyz").write_text("2\n\nC 0 0 0\nO 1.2 0 0\n2\n\nC 0 0 0.1\nO 1.2 0 0\n")
    plain = ethanol.read_file(tmp_path / "plain.xyz")
    assert plain.target is None and plain.meta["frames"] == 2  # 0.5 fs apart: no ground truth
    (tmp_path / "broken.xyz").write_text("3\n\nC 0 0 0\nO 1 x 0\n")
    with pytest.raises(ValueError, match="not a readable XYZ"):
        ethanol.read_file(tmp_path / "broken.xyz")
    (tmp_path / "changing.xyz").write_text("1\n\nC 0 0 0\n1\n\nO 0 0 0\n")
    with pytest.raises(ValueError, match="same atoms"):
        ethanol.read_file(tmp_path / "changing.xyz")


def test_downloaded_prediction_keeps_its_elements_and_reads_back(tmp_path, ethanol):
    """The app's downloads of a molecule (extended XYZ, CSV, npz) carry element symbols, and the
    extended XYZ is an upload the molecule family reads back: same atoms, times and frames."""
    import io

    import pandas as pd

    from egno.data.md17 import MD17
    from egno.explore import element_symbols, export_csv, export_extxyz, export_npz, read_uploads

    w = ethanol.load("test")
    one = w.select([0])
    symbols = element_symbols({"symbols": MD17.symbols(w, 0)})
    assert symbols == ["C", "C", "O"]
    args = (one.x.numpy(), one.target.numpy(), one.t.numpy(), one.window, symbols)
    back = read_uploads("md17/ethanol", [("pred.extxyz", export_extxyz(*args))], tmp_path)
    assert back.meta["symbols"] == symbols and ethanol.matches(back)
    np.testing.assert_allclose(back.x.numpy(), one.x.numpy(), atol=1e-6)
    np.testing.assert_allclose(back.target.numpy(), one.target.numpy(), atol=1e-6)
    table = pd.read_csv(io.BytesIO(export_csv(*args)))
    assert table.loc[table.frame == 0, "element"].tolist() == symbols
    with np.load(io.BytesIO(export_npz(*args)), allow_pickle=False) as f:
        assert f["elements"].tolist() == symbols and f["positions"].shape == (9, 3, 3)
    assert element_symbols({"atom_names": ["N", "CA", "C", "O"]}) == ["N", "C", "C", "O"]
    assert element_symbols({}) is None and b"\nX " in export_extxyz(*args[:4])


def test_every_molecule_embeds_from_smiles():
    from egno.data.md17 import build_molecule

    heavy = {"aspirin": 13, "benzene": 6, "ethanol": 3, "malonaldehyde": 5, "naphthalene": 10,
             "salicylic": 10, "toluene": 7, "uracil": 8}
    for name, smiles in MOLECULES.items():
        mol = build_molecule(smiles, 0)
        assert mol.GetNumHeavyAtoms() == heavy[name] and mol.GetNumConformers() == 1


def test_symbols_and_which_model_an_upload_goes_to(ethanol):
    w = ethanol.load("test")
    assert ethanol.symbols(w, 0) == ["C", "C", "O"] and ethanol.matches(w)
    assert not get_dataset("md17/aspirin").matches(w)  # another molecule: the app uses md17/all
    assert get_dataset("md17/all").matches(w)


def test_an_interrupted_split_resumes_to_the_same_trajectory(tmp_path, monkeypatch):
    """Kill the MD after the first partial save; the rerun continues from the partial file and
    ends with the frames an uninterrupted run gives, and its card counts both runs' time."""
    import egno.data.md17 as md17

    smiles, frames = MOLECULES["ethanol"], md17.CHUNK_FRAMES + 50
    whole = md17.simulate_split(tmp_path / "whole.npz", smiles, "mmff", 7, frames, progress=False)
    assert whole["resumed"] is False and whole["wall_time_s"] > 0

    class Killed(Exception):
        pass

    class StopAfterSave(md17.tqdm):  # a progress bar that kills the run 10 frames after a save
        def update(self, n=1):
            super().update(n)
            self.frames = getattr(self, "frames", 0) + n
            if self.frames == md17.CHUNK_FRAMES + 10:
                raise Killed

    monkeypatch.setattr(md17, "tqdm", StopAfterSave)
    with pytest.raises(Killed):
        md17.simulate_split(tmp_path / "cut.npz", smiles, "mmff", 7, frames, progress=False)
    assert (tmp_path / "cut.partial.npz").exists() and not (tmp_path / "cut.npz").exists()
    monkeypatch.undo()
    again = md17.simulate_split(tmp_path / "cut.npz", smiles, "mmff", 7, frames, progress=False)
    assert again["resumed"] is True and again["wall_time_s"] > 0
    assert not (tmp_path / "cut.partial.npz").exists()
    with np.load(tmp_path / "whole.npz") as a, np.load(tmp_path / "cut.npz") as b:
        assert a["positions"].shape == b["positions"].shape == (frames, 9, 3)
        np.testing.assert_allclose(a["positions"], b["positions"], atol=1e-8)


def _fake_md(monkeypatch, temperatures):
    """simulate_split replaced by one that writes a file and reports the next temperature."""
    import egno.data.md17 as md17

    seeds = []

    def fake(path, smiles, engine, seed, n_frames, progress=True, desc=""):
        seeds.append(seed)
        np.savez(path, z=np.array([6]), positions=np.zeros((2, 1, 3)), velocities=np.zeros((2, 1, 3)))
        return {"frames": 2, "steps": 15, "mean_temperature_K": temperatures.pop(0),
                "wall_time_s": 0.0, "resumed": False}

    monkeypatch.setattr(md17, "simulate_split", fake)
    monkeypatch.setattr(md17, "nve_drift", lambda *a, **k: {"drift_eV_per_ps_per_atom": 0.0})
    return md17, seeds


def test_a_split_outside_the_temperature_band_is_redrawn_with_the_next_seed(tmp_path, monkeypatch):
    md17, seeds = _fake_md(monkeypatch, [575.0, 449.0, 520.0])
    md17.generate_molecule(tmp_path, "ethanol", "mmff", splits=("train",), progress=False)
    base = md17.SEEDS["train"] + 200  # ethanol is the third molecule
    assert seeds == [base, base + 10, base + 20]
    card = json.loads((tmp_path / "card.json").read_text())
    assert card["splits"]["train"]["seed"] == base + 20
    assert card["splits"]["train"]["mean_temperature_K"] == 520.0
    assert card["rejected"]["train"] == [{"seed": base, "mean_temperature_K": 575.0},
                                         {"seed": base + 10, "mean_temperature_K": 449.0}]
    assert (tmp_path / "train.npz").exists()


def test_an_older_card_outside_the_band_is_redrawn_and_a_good_one_kept(tmp_path, monkeypatch):
    md17, seeds = _fake_md(monkeypatch, [575.0, 505.0, 490.0, 495.0])
    md17.generate_molecule(tmp_path, "ethanol", "mmff", splits=("train", "val"), progress=False)
    card = json.loads((tmp_path / "card.json").read_text())
    assert card["rejected"] == {"train": [{"seed": seeds[0], "mean_temperature_K": 575.0}], "val": []}
    card["splits"]["val"]["mean_temperature_K"] = 560.0  # as a card written before the rule
    (tmp_path / "card.json").write_text(json.dumps(card))
    md17.generate_molecule(tmp_path, "ethanol", "mmff", splits=("train", "val"), progress=False)
    card = json.loads((tmp_path / "card.json").read_text())
    assert card["splits"]["train"]["mean_temperature_K"] == 505.0  # kept, not simulated again
    assert card["splits"]["val"]["mean_temperature_K"] == 495.0
    assert card["rejected"]["val"] == [{"seed": seeds[2], "mean_temperature_K": 560.0}]
    assert seeds[3] == seeds[2] + 10


def test_redraws_end_with_a_clear_error_and_tiny_runs_are_not_redrawn(tmp_path, monkeypatch):
    md17, seeds = _fake_md(monkeypatch, [600.0] * (REDRAWS + 1) + [700.0])
    with pytest.raises(RuntimeError, match="mean temperature within 10% of 500 K"):
        md17.generate_molecule(tmp_path / "full", "ethanol", "mmff", splits=("train",), progress=False)
    assert not (tmp_path / "full" / "train.npz").exists()
    md17.generate_molecule(tmp_path / "tiny", "ethanol", "mmff", sizes={"train": 12},
                           splits=("train",), progress=False)
    card = json.loads((tmp_path / "tiny" / "card.json").read_text())
    assert card["splits"]["train"]["mean_temperature_K"] == 700.0 and card["rejected"]["train"] == []


def test_training_windows_can_be_further_apart(tmp_path):
    """--train-spacing 60: the training split is simulated longer and its windows start 60 steps
    (4 stored frames) apart, validation keeps 30; a folder of another spacing is refused."""
    out = tmp_path / "ethanol"
    base = [sys.executable, "-W", "ignore", "-m", "egno", "data", "md17", "--molecule", "ethanol",
            "--engine", "mmff", "--data-dir", str(out), "--train", "12", "--val", "12", "--test", "12",
            "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(base + ["--train-spacing", "60"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, env=env)
    assert run.returncode == 0, run.stderr
    card = json.loads((out / "card.json").read_text())
    assert card["train_spacing_steps"] == 60 and card["spacing_steps"] == 30
    assert card["splits"]["train"]["frames"] == frames_needed(12, 60) == 11 * 4 + 200 + 1
    assert card["splits"]["val"]["frames"] == frames_needed(12, 30)
    family = get_dataset("md17/ethanol", out)
    train, val = family.load("train"), family.load("val")
    assert len(train) == len(val) == 12
    with np.load(out / "train.npz") as f:
        heavy = f["positions"][:, :3]
    np.testing.assert_allclose(train.select([5]).x.numpy(), heavy[5 * 4], atol=1e-5)
    again = subprocess.run(base, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert again.returncode != 0 and "training split 60" in again.stderr
