"""AdK backbone dynamics through MDAnalysis: the dataset, its graph and splits, and user files."""
from __future__ import annotations

import numpy as np
import pytest

from egno.data import get_dataset
from egno.data.protein import (CHARMM_CHARGES, CUTOFF, SPLITS, WINDOW_FRAMES, backbone_pdb,
                               cutoff_graph)

datafiles = pytest.importorskip("MDAnalysisTests.datafiles", reason="mdanalysistests not installed")


@pytest.fixture(scope="module")
def adk(tmp_path_factory):
    family = get_dataset("protein/adk", tmp_path_factory.mktemp("protein") / "adk")
    family.generate(progress=False)
    return family


def test_backbone_atoms_and_invariant_features(adk):
    w = adk.load("test")
    one = w.select([0])
    assert one.x.shape == (855, 3) and w.timesteps == 4 and w.window == 12.0
    assert set(w.meta["atom_names"]) == {"N", "CA", "C", "O"} and len(set(w.meta["resids"])) == 214
    h = one.h.numpy()
    assert h.shape == (855, 27)
    assert (h[:, :4].sum(1) == 1).all() and (h[:, 4:25].sum(1) == 1).all()  # atom, residue one-hots
    assert h[:, 24].sum() == 0  # every AdK residue is a standard one (HSD counts as HIS)
    np.testing.assert_allclose(h[:, 25], [CHARMM_CHARGES[a] if i > 4 else h[i, 25]  # N-terminus differs
                                          for i, a in enumerate(w.meta["atom_names"][:855])], atol=0.2)


def test_cutoff_graph_is_every_pair_within_10_angstrom(adk):
    w = adk.load("val").select([3])
    x = w.x.numpy().astype(np.float64)
    d = np.linalg.norm(x[:, None] - x[None], axis=-1)
    expected = {(i, j) for i, j in zip(*np.nonzero(d < CUTOFF)) if i != j}
    got = {tuple(e) for e in w.edge_index.numpy().T}
    assert got == expected and all((j, i) in got for i, j in got)
    np.testing.assert_allclose(w.edge_attr[:, 0].numpy(), (d[tuple(w.edge_index.numpy())] / 10) ** 2, rtol=1e-4)
    edges, attr = cutoff_graph(np.array([[0.0, 0, 0], [9.9, 0, 0], [20.0, 0, 0]]), np.array([1, 5, 6]))
    assert edges.T.tolist() == [[0, 1], [1, 0]] and attr[:, 1].tolist() == [0.0, 0.0]


# MDAnalysis announces that DCDReader's timesteps will stop being copies in 3.0; this test copies
# every frame's positions itself, so that change cannot affect it
@pytest.mark.filterwarnings("ignore:DCDReader currently makes independent timesteps:DeprecationWarning")
def test_splits_share_no_frames(adk):
    """Train is adk_dims.dcd; validation and test are disjoint frame ranges of adk_dims2.dcd, and
    every window (input − 1 .. input + 12) stays inside its range."""
    (_, _, v1), (_, t0, t1) = SPLITS["val"], SPLITS["test"]
    assert SPLITS["train"][0] != SPLITS["val"][0] and v1 < t0
    import MDAnalysis as mda

    u = mda.Universe(datafiles.PSF, datafiles.DCD2)
    bb = u.select_atoms("protein and backbone and name N CA C O")
    frames = np.stack([bb.positions.copy() for _ in u.trajectory])
    test = adk.load("test")
    assert len(test) == (t1 - t0 + 1) - WINDOW_FRAMES - 1
    np.testing.assert_allclose(test.select([0]).x.numpy(), frames[t0 + 1], atol=1e-4)
    last = test.select([len(test) - 1])
    np.testing.assert_allclose(last.target[-1].numpy(), frames[t1], atol=1e-4)
    assert adk.load("test", 12).timesteps == 12
    with pytest.raises(ValueError, match="ground truth for P in"):
        adk.load("test", 5)


def test_read_psf_dcd_pair_has_ground_truth_at_the_protocol_times(adk):
    import MDAnalysis as mda

    w = adk.read_file(f"{datafiles.PSF},{datafiles.DCD2}")
    u = mda.Universe(datafiles.PSF, datafiles.DCD2)
    bb = u.select_atoms("protein and backbone and name N CA C O")
    frames = np.stack([bb.positions.copy() for _ in u.trajectory])
    assert len(w) == 1 and w.meta["nodes"] == 855 and w.meta["dt_ps"] == pytest.approx(1.0, rel=1e-6)
    np.testing.assert_allclose(w.target.numpy(), frames[[3, 6, 9, 12]], atol=1e-4)
    np.testing.assert_allclose(w.v.numpy(), frames[1] - frames[0], atol=1e-4)  # one-sided at frame 0
    # the order of the pair does not matter
    np.testing.assert_array_equal(adk.read_file(f"{datafiles.DCD2},{datafiles.PSF}").x.numpy(), w.x.numpy())
    # the TMD run is 0.01 ps per frame: 12 ps is beyond its 100 frames, so no ground truth
    tmd = adk.read_file(f"{datafiles.PSF},{datafiles.DCD_NAMD_GBIS}")
    assert tmd.target is None and tmd.meta["dt_ps"] == pytest.approx(0.01, rel=1e-6)


def test_multi_model_pdb_round_trip(tmp_path, adk):
    w = adk.load("test").select([2])
    frames = np.concatenate([w.x.numpy()[None], w.target.numpy()])
    frames = np.concatenate([frames[:1]] + [frames[k:k + 1] for k in range(1, 5) for _ in range(3)])
    text = backbone_pdb(frames, w.meta["atom_names"], w.meta["resnames"], w.meta["resids"])
    assert text.count("MODEL") == 13
    (tmp_path / "mine.pdb").write_text(text)
    got = adk.read_file(tmp_path / "mine.pdb")
    # PDB without CRYST time stamps: frames are taken 1 ps apart, so targets are frames 3, 6, 9, 12
    np.testing.assert_allclose(got.x.numpy(), frames[0], atol=1e-3)
    np.testing.assert_allclose(got.target.numpy(), frames[[3, 6, 9, 12]], atol=1e-3)
    charges = got.h.numpy()[:, 25]
    table = np.array(list(CHARMM_CHARGES.values()))
    assert np.isclose(charges[:, None], table[None], atol=1e-6).any(1).all()  # PDB: no charges


@pytest.mark.parametrize("files, message", [
    (["psf"], "needs a trajectory"),
    # MDAnalysis's DCDReader.__del__ fails on a reader whose file never opened (its own destructor,
    # after our clear error has been raised): that message is not ours to mend
    pytest.param(["psf", "garbage.dcd"], "MDAnalysis could not read", marks=pytest.mark.filterwarnings(
        "ignore::pytest.PytestUnraisableExceptionWarning")),
    (["water.pdb"], "no protein backbone"),
    (["a.pdb", "b.pdb", "c.dcd"], "one topology and one trajectory"),
    (["x.dcd", "y.xtc"], "must be a topology"),
])
def test_broken_or_unusable_files_explain(tmp_path, adk, files, message):
    paths = []
    for name in files:
        if name == "psf":
            paths.append(datafiles.PSF)
            continue
        path = tmp_path / name
        if name == "water.pdb":
            path.write_text("ATOM      1  OW  HOH A   1       0.000   0.000   0.000  1.00  0.00           O\nEND\n")
        else:
            path.write_bytes(b"\x00\x01 not a trajectory " * 20)
        paths.append(str(path))
    with pytest.raises(ValueError, match=message):
        adk.read_file(",".join(paths))


def test_upload_limits_and_p(tmp_path, adk):
    from egno.uploads.staging import read_uploads

    with pytest.raises(ValueError, match="P must divide"):
        adk.read_file(f"{datafiles.PSF},{datafiles.DCD2}", timesteps=5)
    with pytest.raises(ValueError, match="reads pdb, psf"):
        read_uploads("protein/adk", [("model.cif", b"data_")], tmp_path)
    with pytest.raises(ValueError, match="^empty.pdb is empty$"):
        read_uploads("protein/adk", [("empty.pdb", b"")], tmp_path)
    with pytest.raises(ValueError, match="^notes.pdb: no ATOM or HETATM records"):
        read_uploads("protein/adk", [("notes.pdb", b"hello\nthis is text\n")], tmp_path)
    from pathlib import Path

    w = read_uploads("protein/adk", [("adk.dcd", Path(datafiles.DCD2).read_bytes()),
                                     ("adk.psf", Path(datafiles.PSF).read_bytes())], tmp_path)
    assert w.meta["source"] == "adk.psf, adk.dcd" and w.target is not None
