"""Molecules: a tiny MMFF94 generation run (deterministic segments, floors), the heavy-atom graph,
and user files (MD17 npz, XYZ)."""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import ROOT
from egno.run.checkpoint import shipped_path
from egno.data import get_dataset
from egno.data.md17 import BOND, MOLECULES, STRIDE, WINDOW_STEPS, molecule_graph
from egno.data.md17_sim import REDRAWS, frames_needed

pytest.importorskip("rdkit")


@pytest.fixture(scope="module")
def ethanol(tmp_path_factory):
    """md17/ethanol on MMFF94: 12 windows per split from 2 segments each, through the command line."""
    out = tmp_path_factory.mktemp("md17") / "ethanol"
    cmd = [sys.executable, "-W", "ignore", "-m", "egno", "data", "md17", "--molecule", "ethanol",
           "--engine", "mmff", "--data-dir", str(out), "--train", "12", "--val", "12", "--test", "12",
           "--segments", "2", "--workers", "1", "--quiet"]
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stderr
    return get_dataset("md17/ethanol", out)


def test_generation_card_segments_and_floors(ethanol):
    card = json.loads((ethanol.data_dir / "card.json").read_text())
    assert card["engine"] == "mmff" and card["production"] == "nve" and card["temperature_K"] == 500
    seeds = [s for split in ("train", "val", "test") for s in card["splits"][split]["seeds"]]
    assert len(seeds) == 6 and len(set(seeds)) == 6  # every segment of every split its own seed
    test = card["splits"]["test"]
    assert test["segments"] == 2 and test["frames_per_segment"] == frames_needed(6, 30) == 5 * 2 + 200 + 1
    assert test["energy_drift_eV_per_ps_per_atom"]["max_abs"] < 0.01  # velocity Verlet conserves energy
    assert card["rotation"] == "zero" and test["angular_momentum"]["max"] < 1e-4  # nothing tumbles
    assert 0 < test["no_motion_internal_f_mse"] <= test["no_motion_f_mse"]
    assert 0 <= test["rigid_share_of_no_motion"] < 1
    floors = card["floors"]
    assert floors["windows"] == 20
    # hiding the hydrogens' velocities costs far more than a 1e-6 nudge of the full state (on
    # rotation-free ethanol more than standing still: its heavy-atom frame turns with its rotors)
    assert floors["full_state_f_mse"] < 0.1 * floors["heavy_atom_f_mse"]
    assert floors["no_motion_f_mse"] > 0
    with np.load(ethanol.data_dir / "train.npz") as a, np.load(ethanol.data_dir / "test.npz") as b:
        assert a["z"].tolist() == [6, 6, 8, 1, 1, 1, 1, 1, 1]
        assert b["positions"].shape == b["velocities"].shape == (2, 211, 9, 3)  # all atoms stored
        assert b["energy"].shape == (2, 211)
        assert not np.allclose(a["positions"][0, 0], b["positions"][0, 0])


def test_production_is_deterministic_from_a_stored_state(ethanol):
    """Rerunning velocity Verlet from a stored frame's full state gives the stored future."""
    from egno.data.md17_sim import rerun

    with np.load(ethanol.data_dir / "test.npz") as f:
        pos, vel, z = f["positions"][1], f["velocities"][1], f["z"]
    end = rerun(MOLECULES["ethanol"], "mmff", z, pos[4], vel[4], WINDOW_STEPS)
    np.testing.assert_allclose(end, pos[4 + WINDOW_STEPS // STRIDE], atol=1e-6)


def test_hydrogen_redraw_keeps_heavy_atoms_and_zero_momenta():
    """Only the hydrogens change, and a rotation-free state stays free of net motion and rotation."""
    from ase.data import atomic_masses

    from egno.data.md17_sim import build_molecule, momenta, redraw_hydrogens, rigid_correction

    x = build_molecule("CCO", 0).GetConformer().GetPositions()
    z = np.array([6, 6, 8, 1, 1, 1, 1, 1, 1])
    m = atomic_masses[z]
    rng = np.random.default_rng(0)
    v = rng.normal(0, 0.01, (9, 3))
    assert np.abs(momenta(x, v, m)).max() > 1e-3
    v -= rigid_correction(x, v, m, np.ones(9, bool))  # the whole molecule's net motion removed
    np.testing.assert_allclose(momenta(x, v, m), 0, atol=1e-12)
    out = redraw_hydrogens(x, v, z, m, rng)
    np.testing.assert_array_equal(out[:3], v[:3])
    assert not np.allclose(out[3:], v[3:])
    np.testing.assert_allclose(momenta(x, out, m), 0, atol=1e-12)
    many = np.concatenate([redraw_hydrogens(x, v, z, m, rng)[3:] for _ in range(400)])
    # thermal at 500 K for a proton, sqrt(kT/m) = 0.0203 Å/fs, less the 6 of the hydrogens' 18
    # degrees of freedom that carry net momentum: × sqrt(12/18) = 0.0166 Å/fs
    assert 0.0156 < many.std() < 0.0176


def test_zero_rotation_production_and_thermal_comparison(tmp_path):
    """Production starts with no net rotation by default (kept by velocity Verlet); the thermal
    angular momentum of the older data stays one flag away."""
    from egno.data.md17_sim import simulate_segment

    still = simulate_segment(MOLECULES["ethanol"], "mmff", 5, 30)
    thermal = simulate_segment(MOLECULES["ethanol"], "mmff", 5, 30, rotation="thermal")
    m = still["masses"]

    def angular(seg, k):
        return np.linalg.norm(momenta_of(seg["positions"][k], seg["velocities"][k], m)[3:])

    from egno.data.md17_sim import momenta as momenta_of
    assert max(angular(still, k) for k in (0, 29)) < 1e-6 < 0.01 < angular(thermal, 0)
    np.testing.assert_allclose(still["positions"][0], thermal["positions"][0])  # same equilibration
    ke = [0.5 * (m[:, None] * s["velocities"][0] ** 2).sum() for s in (still, thermal)]
    assert abs(ke[0] / ke[1] - 1) < 1e-9  # the kinetic energy kept by rescaling
    with pytest.raises(ValueError, match="rotation"):
        simulate_segment(MOLECULES["ethanol"], "mmff", 5, 3, rotation="none")


def test_windows_heavy_atoms_graph_and_resolutions(ethanol):
    w = ethanol.load("test")
    assert len(w) == 12 and w.timesteps == 8 and w.window == WINDOW_STEPS * 0.5
    one = w.select([0])
    assert one.x.shape == (3, 3)  # C, C, O
    assert one.h[:, :4].tolist() == [[1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0]]
    # C-C and C-O bonds, C…O two bonds apart: 6 directed edges
    assert one.edge_index.shape[1] == 6 and one.edge_attr[:, 2].sum() == 4 and one.edge_attr[:, 3].sum() == 2
    with np.load(ethanol.data_dir / "test.npz") as f:
        pos = f["positions"][:, :, :3]
    per = WINDOW_STEPS // STRIDE // 8
    # window 2 of segment 0 starts at frame 4; window 7 is the second segment's second
    np.testing.assert_allclose(w.target[:, 6:9].numpy(), pos[0, [4 + per * p for p in range(1, 9)]], atol=1e-5)
    np.testing.assert_allclose(w.select([7]).x.numpy(), pos[1, 2], atol=1e-5)
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
    # steps small enough that the file does not turn (a rotation is carried: test_rigid.py)
    R = np.cumsum(rng.normal(0, 1e-5, (frames, 9, 3)), axis=0) + rng.normal(0, 1, (1, 9, 3))
    z = np.array([6, 6, 8, 1, 1, 1, 1, 1, 1])
    np.savez(tmp_path / "md17_ethanol.npz", R=R, z=z, E=np.zeros((frames, 1)), F=np.zeros_like(R))
    w = ethanol.read_file(tmp_path / "md17_ethanol.npz")
    assert len(w) == 5 and w.target.shape == (8, 15, 3)
    np.testing.assert_allclose(w.select([1]).x.numpy(), R[30, :3], atol=1e-5)
    np.testing.assert_allclose(w.select([1]).target[-1].numpy(), R[3030, :3], atol=1e-5)
    assert w.spin is None and max(w.meta["turn_rad"]) < 0.3
    np.testing.assert_allclose(w.select([1]).v.numpy(), (R[31, :3] - R[29, :3]) / 1.0, atol=1e-8)
    np.savez(tmp_path / "bad.npz", positions=R)
    with pytest.raises(ValueError, match="an MD17 npz needs the arrays 'z'; missing 'z'"):
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

    from egno.data.export import element_symbols, table_files
    from egno.data.md17 import MD17
    from egno.uploads.staging import read_uploads

    w = ethanol.load("test")
    one = w.select([0])
    symbols = element_symbols({"symbols": MD17.symbols(w, 0)})
    assert symbols == ["C", "C", "O"]
    frames = np.concatenate([one.x.numpy()[None], one.target.numpy()])
    times = np.concatenate([[0.0], one.t.numpy() * one.window])
    files = table_files(frames, times, symbols, "egno prediction by test")
    back = read_uploads("md17/ethanol", [("pred.extxyz", files["extxyz"])], tmp_path)
    assert back.meta["symbols"] == symbols and ethanol.matches(back)
    np.testing.assert_allclose(back.x.numpy(), one.x.numpy(), atol=1e-6)
    np.testing.assert_allclose(back.target.numpy(), one.target.numpy(), atol=1e-6)
    table = pd.read_csv(io.BytesIO(files["csv"]), comment="#")
    assert table.loc[table.frame == 0, "element"].tolist() == symbols
    with np.load(io.BytesIO(files["npz"]), allow_pickle=False) as f:
        assert f["elements"].tolist() == symbols and f["positions"].shape == (9, 3, 3)
    assert element_symbols({"atom_names": ["N", "CA", "C", "O"]}) == ["N", "C", "C", "O"]
    assert element_symbols({}) is None and b"\nX " in table_files(frames, times, None, "egno x")["extxyz"]


def test_every_molecule_embeds_from_smiles():
    from egno.data.md17_sim import build_molecule

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


def test_an_interrupted_split_keeps_its_finished_segments(tmp_path, monkeypatch):
    """Kill the generation after the first segment; the rerun simulates only the rest and ends
    with the data an uninterrupted run gives."""
    import egno.data.md17_sim as sim

    kw = dict(engine="mmff", sizes={"train": 4}, splits=("train",), segments=2, progress=False, floor_windows=0)
    sim.generate_molecule(tmp_path / "whole", "ethanol", **kw)
    calls = []
    real = sim.simulate_segment

    def killed_after_one(*args):
        if calls:
            raise KeyboardInterrupt
        calls.append(args[2])
        return real(*args)

    monkeypatch.setattr(sim, "simulate_segment", killed_after_one)
    with pytest.raises(KeyboardInterrupt):
        sim.generate_molecule(tmp_path / "cut", "ethanol", **kw)
    assert len(list((tmp_path / "cut" / "segments").glob("train-*.npz"))) == 1
    assert not (tmp_path / "cut" / "train.npz").exists()
    monkeypatch.setattr(sim, "simulate_segment", lambda *a: calls.append(a[2]) or real(*a))
    sim.generate_molecule(tmp_path / "cut", "ethanol", **kw)
    assert len(calls) == 2 and calls[0] != calls[1]  # the second run did only the missing segment
    with np.load(tmp_path / "whole" / "train.npz") as a, np.load(tmp_path / "cut" / "train.npz") as b:
        np.testing.assert_allclose(a["positions"], b["positions"], atol=1e-8)
    assert not (tmp_path / "cut" / "segments").exists()


def _fake_md(monkeypatch, temperatures):
    """Segments replaced by tiny fakes and each split's temperature taken from ``temperatures``."""
    import egno.data.md17_sim as sim

    seeds = []

    def fake(smiles, engine, seed, n_frames, production="nve", rotation="zero"):
        seeds.append(seed)
        return {"z": np.array([6]), "masses": np.array([12.0]), "positions": np.zeros((2, 1, 3)),
                "velocities": np.zeros((2, 1, 3)), "energy": np.zeros(2), "wall_time_s": 0.0}

    def facts(data, seeds, spacing, size):
        return {"seeds": seeds, "mean_temperature_K": temperatures.pop(0)}

    monkeypatch.setattr(sim, "simulate_segment", fake)
    monkeypatch.setattr(sim, "split_facts", facts)
    return sim, seeds


def test_a_split_outside_the_temperature_band_is_redrawn_with_new_seeds(tmp_path, monkeypatch):
    sim, seeds = _fake_md(monkeypatch, [575.0, 449.0, 520.0])
    sim.generate_molecule(tmp_path, "ethanol", "mmff", splits=("train",), progress=False)
    assert len(seeds) == 3 * sim.SEGMENTS and len(set(seeds)) == len(seeds)
    card = json.loads((tmp_path / "card.json").read_text())
    assert card["splits"]["train"]["mean_temperature_K"] == 520.0
    assert card["splits"]["train"]["seeds"] == seeds[-sim.SEGMENTS:]
    rejected = card["rejected"]["train"]
    assert [(r["seeds"], r["mean_temperature_K"]) for r in rejected] == [(seeds[:10], 575.0), (seeds[10:20], 449.0)]
    assert all(r["wall_time_s"] == 0.0 for r in rejected)  # a redrawn block's cost is kept on the card
    assert (tmp_path / "train.npz").exists() and not (tmp_path / "segments").exists()


def test_redraws_end_with_a_clear_error_and_tiny_runs_are_not_redrawn(tmp_path, monkeypatch):
    sim, seeds = _fake_md(monkeypatch, [600.0] * (REDRAWS + 1) + [700.0])
    with pytest.raises(RuntimeError, match="mean temperature within 10% of 500 K"):
        sim.generate_molecule(tmp_path / "full", "ethanol", "mmff", splits=("train",), progress=False)
    assert not (tmp_path / "full" / "train.npz").exists()
    sim.generate_molecule(tmp_path / "tiny", "ethanol", "mmff", sizes={"train": 12},
                          splits=("train",), progress=False)
    card = json.loads((tmp_path / "tiny" / "card.json").read_text())
    assert card["splits"]["train"]["mean_temperature_K"] == 700.0 and card["rejected"]["train"] == []


def test_langevin_production_and_settings_guard(tmp_path):
    """The older thermostatted production still runs (no floors: its future is not determined),
    and a folder of other settings is refused."""
    from egno.data.md17_sim import generate_molecule

    kw = dict(sizes={"train": 2, "test": 2}, segments=2, progress=False)
    generate_molecule(tmp_path, "ethanol", "mmff", splits=("train", "test"), production="langevin", **kw)
    card = json.loads((tmp_path / "card.json").read_text())
    assert card["production"] == "langevin" and card["production_friction_per_fs"] == 0.001
    assert "floors" not in card and card["splits"]["test"]["segments"] == 2
    with pytest.raises(ValueError, match="other settings"):
        generate_molecule(tmp_path, "ethanol", "mmff", splits=("train",), production="nve", **kw)
    with pytest.raises(ValueError, match="one window per segment"):
        generate_molecule(tmp_path / "few", "ethanol", "mmff", sizes={"train": 1}, segments=2,
                          splits=("train",), progress=False)


def test_floor_on_the_card_and_the_shrinkage_ratio(ethanol):
    """The Explore page's heavy-atom floor comes from the card; the radius-of-gyration ratio is
    1 for the truth and reads a prediction shrunk toward its centre as below 1."""
    import torch

    from egno.run.evaluate import gyration_ratio

    card = json.loads((ethanol.data_dir / "card.json").read_text())
    assert ethanol.floor() == card["floors"]["heavy_atom_f_mse"] > 0
    assert get_dataset("md17/all").floor() is None
    w = ethanol.load("test")
    truth = w.target
    centres = torch.stack([truth[:, a:b].mean(1) for a, b in zip(w.node_ptr[:-1], w.node_ptr[1:])], 1)
    shrunk = truth.clone()
    for k, (a, b) in enumerate(zip(w.node_ptr[:-1].tolist(), w.node_ptr[1:].tolist())):
        shrunk[:, a:b] = centres[:, k:k + 1] + 0.8 * (truth[:, a:b] - centres[:, k:k + 1])
    assert gyration_ratio(truth, truth, w.node_ptr) == pytest.approx(1.0)
    assert gyration_ratio(shrunk, truth, w.node_ptr) == pytest.approx(0.8)


def test_model_cards_record_the_generation_card_of_every_molecule_they_train_on(ethanol):
    """A molecule's runs keep its data card; md17/all's keep each molecule's by name."""
    card = json.loads((ethanol.data_dir / "card.json").read_text())
    assert ethanol.generation_card() == card
    together = get_dataset("md17/all", ethanol.data_dir.parent / "all").generation_card()
    assert together["ethanol"] == card and "all" not in together


def test_a_copied_test_sample_is_replaced_not_resumed(tmp_path):
    """The app copies the committed test sample into the data folder; generating there starts
    afresh instead of refusing the older settings."""
    from egno.data.md17_sim import generate_molecule

    (tmp_path / "card.json").write_text(json.dumps({"engine": "xtb", "splits": {"test": {}},
                                                    "note": "test split only, heavy atoms, float32"}))
    generate_molecule(tmp_path, "ethanol", "mmff", sizes={"test": 2}, segments=2, splits=("test",),
                      progress=False, floor_windows=0)
    card = json.loads((tmp_path / "card.json").read_text())
    assert card["production"] == "nve" and card["splits"]["test"]["segments"] == 2 and "note" not in card


def test_the_apps_test_request_never_overwrites_generated_data(ethanol, tmp_path):
    """The app asks for the test split alone; generated data there stay as they are, and an
    empty folder gets the committed sample, without any simulation."""
    import shutil

    from egno.data.md17 import MD17

    folder = tmp_path / "ethanol"
    shutil.copytree(ethanol.data_dir, folder)
    before = (folder / "test.npz").read_bytes(), (folder / "card.json").read_text()
    MD17("ethanol", folder).generate(progress=False, splits=("test",))
    assert ((folder / "test.npz").read_bytes(), (folder / "card.json").read_text()) == before
    empty = tmp_path / "fresh"
    MD17("ethanol", empty).generate(progress=False, splits=("test",))
    assert (empty / "test.npz").exists() and (empty / "card.json").exists()


def test_an_md17_npz_without_positions_names_what_is_missing(tmp_path, ethanol):
    np.savez(tmp_path / "z_only.npz", z=np.array([6, 6, 8]))
    with pytest.raises(ValueError, match="needs the positions as an array 'R'"):
        ethanol.read_file(tmp_path / "z_only.npz")


def test_learning_curve_pool_extends_the_protocol_training_split(ethanol, tmp_path):
    """The learning curve's training pool: its first segments are the protocol's training segments
    (same seeds, deterministic production), validation and test are the protocol's own files, and
    the floors come along."""
    from helpers import load_script

    lc = load_script("scripts/experiments/learning_curve.py")
    pool = lc.make_pool(ethanol.data_dir, tmp_path / "pool", "ethanol", engine="mmff", size=8, segments=4)
    with np.load(ethanol.data_dir / "train.npz") as a, np.load(pool / "train.npz") as b:
        assert b["positions"].shape[0] == 4 and a["positions"].shape[0] == 2
        frames = b["positions"].shape[1]
        assert frames < a["positions"].shape[1]  # 2 windows a segment here, 6 in the protocol's
        np.testing.assert_array_equal(b["positions"][:2], a["positions"][:2, :frames])
        assert not np.allclose(b["positions"][2, 0], a["positions"][0, 0])
    card, protocol = (json.loads((d / "card.json").read_text()) for d in (pool, ethanol.data_dir))
    assert card["floors"] == protocol["floors"] and card["splits"]["test"] == protocol["splits"]["test"]
    family = get_dataset("md17/ethanol", pool)
    assert len(family.load("train")) == 8
    np.testing.assert_array_equal(family.load("test").x.numpy(), ethanol.load("test").x.numpy())


def test_learning_curve_runs_get_the_protocol_schedule_in_steps():
    """Every size trains the shipped card's Adam steps (its epochs of 500 windows) with its model and
    learning rate, one CPU thread per run, nothing shipped."""
    from helpers import load_script

    from egno.__main__ import parser, train_configs

    lc = load_script("scripts/experiments/learning_curve.py")
    cmds = lc.commands("md17/ethanol", "cuda", 4.0)
    assert len(cmds) == len(lc.MODELS) * len(lc.SIZES)
    for cmd in cmds:
        assert "--ship" not in cmd
        a = parser().parse_args(cmd[3:])
        assert (a.threads, a.device, a.time_limit) == (1, "cuda", 4.0)
        mc, tc = train_configs(a)
        assert tc.max_train in lc.SIZES and str(a.data_dir).endswith("md17-more/ethanol")
        shipped = json.loads(shipped_path("md17/ethanol", mc.model).with_suffix(".json").read_text())["train_config"]
        per_epoch = tc.max_train / tc.batch_size  # steps; epochs are whole, so within half an epoch
        assert abs(tc.epochs * per_epoch - shipped["epochs"] * 500 / shipped["batch_size"]) <= per_epoch / 2
        assert abs(tc.patience * per_epoch - shipped["patience"] * 500 / shipped["batch_size"]) <= per_epoch / 2
    assert lc.steps(lc.protocol("md17/ethanol")) == 3000  # 150 epochs of 500 windows, batch 25


def test_segments_follow_the_load_order_and_window_errors_average_to_the_f_mse(ethanol):
    """Each window's segment (the split's independent samples) and each window's F-MSE: their
    node-weighted mean is the split's F-MSE."""
    import torch

    from egno.run.evaluate import metrics, window_f_mse

    test = ethanol.load("test")
    segment = ethanol.segments("test")
    assert segment.tolist() == [0] * 6 + [1] * 6 and len(segment) == len(test)
    torch.manual_seed(0)
    pred = test.target + 0.1 * torch.randn_like(test.target)
    per = window_f_mse(pred, test.target, test.node_ptr)
    sizes = (test.node_ptr[1:] - test.node_ptr[:-1]).double()
    assert per.shape == (len(test),) and (per > 0).all()
    assert float((per * sizes).sum() / sizes.sum()) == pytest.approx(metrics(pred, test.target)["f_mse"], rel=1e-12)


def test_schedule_sweep_changes_one_flag_and_picks_by_validation():
    """Each sweep run is the shipped card's command with one schedule change (nothing shipped, one
    CPU thread), and each model's pick is its lowest validation F-MSE: never the test's, never a
    diverged run."""
    from helpers import load_script

    from egno.__main__ import parser, train_configs

    sw = load_script("scripts/experiments/schedule_sweep.py")
    cmds = sw.commands("md17/ethanol", ["egno", "egnn-s"], None)
    assert len(cmds) == 2 * len(sw.DEFAULT)
    shipped = parser().parse_args(shlex.split(json.loads(
        shipped_path("md17/ethanol", "egno").with_suffix(".json").read_text())["command"])[3:])
    _, base = train_configs(shipped)
    changed = []
    for cmd in cmds[:len(sw.DEFAULT)] + sw.commands("md17/ethanol", ["egno"], None, ["rerun", "wd 1e-2"]):
        assert "--ship" not in cmd
        a = parser().parse_args(cmd[3:])
        assert a.threads == 1 and "runs/schedule/md17/ethanol/egno-" in str(a.out)
        _, tc = train_configs(a)
        changed.append({k for k, v in tc.to_dict().items() if v != base.to_dict()[k]} - {"time_limit_min"})
    assert changed == [{"lr"}, {"lr"}, {"patience"}, set(), {"weight_decay"}]
    only = sw.commands("md17/ethanol", ["egno"], None, ["lr 2e-4"])
    assert len(only) == 1 and only[0][-2:] == ["--lr", "2e-4"]

    def card(val, test, stop="early stop"):
        return {"metrics": {"val": {"f_mse": val}, "test": {"f_mse": test}}, "stop_reason": stop}

    got = {("egno", "shipped"): card(0.40, 0.30), ("egno", "lr 1e-3"): card(0.35, 0.50),
           ("egno", "lr 2e-4"): card(0.10, 0.10, "diverged: non-finite loss"),
           ("egnn", "shipped"): card(0.50, 0.20), ("egnn", "no early stop"): card(0.45, 0.60),
           ("egnn-s", "lr 1e-3"): card(0.30, 0.30), ("egnn-s", "shipped"): card(0.30, 0.30)}
    assert sw.picks(got, ["egno", "egnn", "egnn-s", "egnn-r"]) == {
        "egno": "lr 1e-3", "egnn": "no early stop", "egnn-s": "shipped"}
    # a rerun of the shipped schedule stands for the shipped card, whose validation data may differ
    got |= {("egnn-s", "rerun"): card(0.32, 0.31), ("egnn-s", "wd 1e-2"): card(0.29, 0.29),
            ("egno", "rerun"): card(0.35, 0.40)}
    assert sw.picks(got, ["egno", "egnn-s"]) == {"egno": "rerun", "egnn-s": "wd 1e-2"}


def test_evaluate_a_shipped_molecule_on_a_fresh_clone(tmp_path):
    """No generated data: the committed test split is used (copied into the data folder)."""
    cmd = [sys.executable, "-W", "ignore", "-m", "egno", "evaluate", "--dataset", "md17/uracil", "--model",
           "linear", "--split", "test", "--json", "--quiet", "--threads", "1"]
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "EGNO_DATA": str(tmp_path)})
    assert run.returncode == 0, run.stderr
    row = json.loads(run.stdout.strip().splitlines()[-1])
    committed = json.loads((ROOT / "assets/samples/md17/uracil/card.json").read_text())
    assert row["split"] == "test" and row["n_samples"] == committed["sizes"]["test"]
    assert np.isfinite(row["f_mse"]) and 0 < row["gyration_ratio"]
    assert (tmp_path / "md17" / "uracil" / "test.npz").exists()


def test_train_and_val_alone_take_the_committed_test_split_beside_them(ethanol, tmp_path):
    """`egno data md17 --splits train val`: the committed test split (and its facts and floors) goes
    beside the simulated splits, so the folder trains and evaluates with no test MD; a committed
    split made with other settings is refused rather than mixed in."""
    import shutil

    from egno.data.md17 import MD17, add_committed_test
    from egno.paths import SAMPLES

    committed = SAMPLES / "md17" / "ethanol"
    theirs = json.loads((committed / "card.json").read_text())
    folder = tmp_path / "ethanol"
    folder.mkdir()
    for split in ("train", "val"):
        shutil.copy(ethanol.data_dir / f"{split}.npz", folder)
    settings = {k: v for k, v in theirs.items() if k not in ("splits", "floors", "note", "rejected")}
    ours = {**settings, "splits": {s: json.loads((ethanol.data_dir / "card.json").read_text())["splits"][s]
                                   for s in ("train", "val")}}
    (folder / "card.json").write_text(json.dumps(ours))
    add_committed_test(folder, committed)
    card = json.loads((folder / "card.json").read_text())
    assert (folder / "test.npz").read_bytes() == (committed / "test.npz").read_bytes()
    assert card["splits"]["test"] == theirs["splits"]["test"] and card["floors"] == theirs["floors"]
    assert card["splits"]["train"] == ours["splits"]["train"] and "committed sample" in card["test_source"]
    family = MD17("ethanol", folder)
    assert len(family.load("test")) == theirs["sizes"]["test"] and len(family.load("train")) == 12
    assert family.floor() == theirs["floors"]["heavy_atom_f_mse"]

    other = tmp_path / "mmff"
    shutil.copytree(ethanol.data_dir, other)
    (other / "test.npz").unlink()
    with pytest.raises(ValueError, match="other settings.*engine"):
        add_committed_test(other, committed)
    assert not (other / "test.npz").exists()

    # longer training segments (data to chain) leave the test split alone; another test size does not
    longer = tmp_path / "longer"
    longer.mkdir()
    (longer / "card.json").write_text(json.dumps({**ours, "sizes": {**theirs["sizes"], "train": 9000, "val": 10010}}))
    add_committed_test(longer, committed)
    assert (longer / "test.npz").exists()
    fewer = tmp_path / "fewer"
    fewer.mkdir()
    (fewer / "card.json").write_text(json.dumps({**ours, "sizes": {**theirs["sizes"], "test": 20}}))
    with pytest.raises(ValueError, match="other settings.*test size"):
        add_committed_test(fewer, committed)


def test_a_folder_without_its_test_split_keeps_its_card(ethanol, tmp_path):
    """Reading a folder whose generation has not made its test split yet (or stopped before it)
    never overwrites its card with the committed one: the committed split is merged where it was
    made the same way, refused where not."""
    import shutil

    from egno.data.md17 import MD17

    folder = tmp_path / "ethanol"
    shutil.copytree(ethanol.data_dir, folder)
    (folder / "test.npz").unlink()
    before = (folder / "card.json").read_text()
    with pytest.raises(ValueError, match="other settings.*engine"):
        MD17("ethanol", folder).ensure(progress=False)
    assert (folder / "card.json").read_text() == before and not (folder / "test.npz").exists()


def test_the_splits_flag_reaches_the_simulation(ethanol, tmp_path):
    """`--splits train` simulates that split only; with tiny MMFF settings the committed test split
    does not match, and the command says so instead of mixing it in."""
    out = tmp_path / "ethanol"
    cmd = [sys.executable, "-W", "ignore", "-m", "egno", "data", "md17", "--molecule", "ethanol",
           "--engine", "mmff", "--data-dir", str(out), "--train", "4", "--segments", "2", "--workers", "1",
           "--splits", "train", "--quiet"]
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode != 0 and "other settings" in run.stderr
    assert (out / "train.npz").exists() and not (out / "val.npz").exists() and not (out / "test.npz").exists()


def test_a_schedule_is_picked_only_beyond_the_validation_noise():
    """A setting replaces the rerun of the shipped schedule only when it is lower on validation by
    more than two standard errors of the per-segment difference; a diverged run never."""
    from helpers import load_script

    sw = load_script("scripts/experiments/schedule_sweep.py")
    base = np.linspace(0.1, 0.3, 10)
    noise = np.array([1, -1] * 5) * 0.05
    ok, bad = {"stop_reason": "epochs done"}, {"stop_reason": "diverged: non-finite loss"}
    per_segment = {("egno", "rerun"): base, ("egno", "wd 1e-2"): base - 0.01 + noise,  # lower mean, noisy
                   ("egnn", "rerun"): base, ("egnn", "lr 2e-4"): base - 0.01,       # lower on every segment
                   ("gnn", "rerun"): base, ("gnn", "wd 1e-2"): base - 0.05}
    got = {("egno", "wd 1e-2"): ok, ("egnn", "lr 2e-4"): ok, ("gnn", "wd 1e-2"): bad}
    assert sw.significant_picks(per_segment, got, ["egno", "egnn", "gnn", "egnn-s"]) == {
        "egno": "rerun", "egnn": "lr 2e-4", "gnn": "rerun"}


def test_shape_pick_takes_the_smallest_weight_that_keeps_the_size_beyond_noise():
    """The shape-loss weight: the smallest whose validation gyration ratio is at least 0.95 by
    more than two standard errors over the segments (weight 0 first); none where none does."""
    from helpers import load_script

    sw = load_script("scripts/experiments/schedule_sweep.py")
    spread = np.array([1, -1] * 5) * 0.01  # standard error 0.0033
    plain, small, large = 0.955 + spread, 0.97 + spread, 0.99 + spread
    assert not sw.keeps_size(plain) and sw.keeps_size(small)  # 0.955 − 0.0067 < 0.95 ≤ 0.97 − 0.0067
    assert sw.keeps_size(0.952 + spread / 10)  # closer to 0.95 but ten times less spread: kept
    tried = [(0.1, "shape 0.1", large), (0.0, "rerun", plain), (0.03, "shape 0.03", small)]
    assert sw.shape_pick(tried) == "shape 0.03"
    assert sw.shape_pick([(0.0, "shipped", large), (0.03, "shape 0.03", large)]) == "shipped"
    assert sw.shape_pick([(0.0, "rerun", plain), (0.03, "shape 0.03", plain)]) is None
    assert sw.shape_weight("shape 0.03") == 0.03 and sw.shape_weight("rerun") == 0.0


def test_long_truth_starts_every_window_spacing_in_train_and_every_window_elsewhere(ethanol):
    """Chained training draws an input at each of the split's window starts; validation and the
    long-horizon test start once a window."""
    per = WINDOW_STEPS // STRIDE
    with np.load(ethanol.data_dir / "train.npz") as f:
        pos = f["positions"][:, :, f["z"] > 1]
    train = ethanol.long_truth(2, 8, "train")
    starts = np.arange(0, pos.shape[1] - per, 2)  # spacing 30 steps: 2 stored frames
    assert len(train) == pos.shape[0] * len(starts)
    k = 3  # segment 0, frame 6: window 1 inside the segment, window 2 past its end
    np.testing.assert_allclose(train.select([k]).x.numpy(), pos[0, starts[k]], atol=1e-5)
    np.testing.assert_allclose(train.target[7, 3 * k:3 * k + 3].numpy(), pos[0, starts[k] + per], atol=1e-5)
    assert torch.isnan(train.target[15, 3 * k:3 * k + 3]).all()
    assert len(ethanol.long_truth(2, 8, "val")) == len(ethanol.long_truth(2, 8, "test")) == 2
    with np.load(ethanol.data_dir / "test.npz") as f:
        test = f["positions"][:, :, f["z"] > 1]
    more = ethanol.long_truth(2, 8, "test", starts=100)  # a start every 2 frames: 6 per segment here
    assert len(more) == 2 * len(range(0, test.shape[1] - per, 2))
    np.testing.assert_allclose(more.select([7]).x.numpy(), test[1, 2], atol=1e-5)
    with pytest.raises(ValueError, match="starts per window"):
        ethanol.long_truth(2, 8, "test", starts=per + 1)
