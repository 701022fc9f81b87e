"""Hostile uploads (issue 18): each crafted file ends in a plain message (or a correct prediction
when it is legitimate but large) within seconds, through what the Upload page calls; the worker is
stopped at its time and memory caps and leaves no temporary files; bad URL parameters fall back.
Every file is written by its test (none is committed)."""
from __future__ import annotations

import gzip
import io
import math
import os
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from egno import limits
from egno.uploads.staging import read_uploads

ROOT = Path(__file__).resolve().parents[1]
SECONDS = 10  # the bound for any upload to end


def read(dataset, files, tmp_path):
    """read_uploads timed: (windows, seconds)."""
    start = time.time()
    w = read_uploads(dataset, files, tmp_path)
    return w, time.time() - start


def refused(dataset, files, tmp_path, match: str) -> str:
    start = time.time()
    with pytest.raises(ValueError, match=match) as e:
        read_uploads(dataset, files, tmp_path)
    assert time.time() - start < SECONDS
    assert files[0][0] in str(e.value) or files[-1][0] in str(e.value), "the message names the file"
    assert "upload0" not in str(e.value) and str(tmp_path) not in str(e.value)
    return str(e.value)


def npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def asf(bones: int, length: str = "1", axis: str = "0 0 0 XYZ") -> bytes:
    """An ASF skeleton: a chain of ``bones`` bones b1..bn above the root."""
    text = [":units", "  length 1", ":root", "  order TX TY TZ RX RY RZ", "  axis XYZ", ":bonedata"]
    for i in range(1, bones + 1):
        text += ["  begin", f"    name b{i}", "    direction 0 1 0", f"    length {length}",
                 f"    axis {axis}", "    dof rx ry rz", "  end"]
    text += [":hierarchy", "  begin", "    root b1"]
    text += [f"    b{i} b{i + 1}" for i in range(1, bones)]
    text += ["  end"]
    return ("\n".join(text) + "\n").encode()


def amc(frames: int, bones: int = 3, empty: bool = False) -> bytes:
    lines = [":FULLY-SPECIFIED", ":DEGREES"]
    for f in range(1, frames + 1):
        lines.append(str(f))
        if not empty:
            lines.append(f"root {f * 0.1} 0 0 0 0 0")
            lines += [f"b{i} 0 0 {f % 7}" for i in range(1, bones + 1)]
    return ("\n".join(lines) + "\n").encode()


BVH_HEAD = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Spine
  {
    OFFSET 0 10 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 5 0
    }
  }
}
"""


# ---------------------------------------------------------------- hangs
def test_xyz_declaring_1e14_atoms_is_refused_before_ase(tmp_path):
    data = b"100000000000000\ncomment\nC 0 0 0\n"
    assert len(data) < 41
    refused("md17/aspirin", [("tiny.xyz", data)], tmp_path, "100000000000000 atoms; at most 500")


def test_asf_with_a_5000_bone_chain_is_refused(tmp_path):
    refused("mocap/walk", [("chain.asf", asf(5000)), ("chain.amc", amc(40))], tmp_path,
            f"more than {limits.MOTION_MAX_JOINTS} joints")


def test_amc_with_10000_empty_frames_predicts_from_its_first_window(tmp_path):
    w, seconds = read("mocap/walk", [("s.asf", asf(3)), ("s.amc", amc(10_000, empty=True))], tmp_path)
    assert seconds < SECONDS and len(w) == 1 and w.meta["frames"] == 10_000
    assert w.target is not None and np.isfinite(w.target.numpy()).all()


def test_npz_of_6000_frames_of_500_atoms_builds_one_window(tmp_path):
    rng = np.random.default_rng(0)
    chain = np.arange(500)[:, None] * np.array([1.4, 0.0, 0.0])
    R = (chain[None] + 0.01 * rng.standard_normal((6000, 1, 3))).astype(np.float16)
    w, seconds = read("md17/aspirin", [("chain.npz", npz(R=R, z=np.full(500, 6)))], tmp_path)
    assert seconds < SECONDS and len(w) == 1 and w.meta["frames"] == 6000 and w.x.shape == (500, 3)


# ---------------------------------------------------------------- memory
def zip_bomb(path: Path, megabytes: int) -> None:
    """An npz whose 'R' unpacks to ``megabytes`` MB of float64 zeros, written in chunks."""
    values = megabytes * limits.MiB // 8
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (values // 63, 21, 3)})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("R.npy", "w", force_zip64=True) as f:
            f.write(header.getvalue())
            chunk = bytes(limits.MiB)
            for _ in range(megabytes):
                f.write(chunk)
        zf.writestr("z.npy", npz_member(np.full(21, 6)))


def npz_member(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def test_zip_bomb_npz_is_refused_from_its_zip_directory(tmp_path):
    bomb = tmp_path / "bomb.npz"
    zip_bomb(bomb, 300)
    assert bomb.stat().st_size < 2 * limits.MiB
    refused("md17/aspirin", [("bomb.npz", bomb.read_bytes())], tmp_path, "unpack to 300 MB, over the 200 MB limit")


def test_npz_of_objects_or_strings_is_refused_unread(tmp_path):
    data = npz(loc=np.array(["a", "b"]), charges=np.ones(2))
    refused("nbody", [("text.npz", data)], tmp_path, "'loc' is not numeric")


def test_bvh_frame_time_of_100000_s_is_refused(tmp_path):
    text = BVH_HEAD + "MOTION\nFrames: 2\nFrame Time: 100000\n" + "0 0 0 0 0 0 0 0 0\n" * 2
    refused("mocap/walk", [("slow.bvh", text.encode())], tmp_path, "frame time 100000 s is over the limit")


def test_bvh_joint_with_100000_channels_is_refused(tmp_path):
    channels = " ".join(["Xrotation"] * 100_000)
    text = f"HIERARCHY\nROOT Hips\n{{\n  OFFSET 0 0 0\n  CHANNELS 100000 {channels}\n}}\n"
    refused("mocap/walk", [("wide.bvh", text.encode())], tmp_path, "100000 channels for joint Hips")


def test_bvh_frames_that_cannot_fit_in_the_file_are_refused_before_allocation(tmp_path):
    text = BVH_HEAD + f"MOTION\nFrames: {limits.MOTION_MAX_FRAMES}\nFrame Time: 0.01\n0 0 0 0 0 0 0 0 0\n"
    refused("mocap/walk", [("long.bvh", text.encode())], tmp_path, "cannot fit in the file")


@pytest.fixture(scope="module")
def adk_files():
    datafiles = pytest.importorskip("MDAnalysisTests.datafiles")
    return Path(datafiles.PSF), Path(datafiles.DCD2)


def test_psf_header_declaring_2e7_atoms_is_refused(tmp_path, adk_files):
    psf = b"PSF\n\n       1 !NTITLE\n REMARKS x\n\n20000000 !NATOM\n" + b"  1 A 1 ALA N NH1 -0.3 14.0 0\n" * 3
    refused("protein/adk", [("big.psf", psf), ("adk.dcd", adk_files[1].read_bytes())], tmp_path,
            "declares 20000000 atoms but only 3 lines follow")


def test_gro_header_declaring_2e7_atoms_is_refused(tmp_path, adk_files):
    gro = b"title\n20000000\n    1ALA      N    1   0.000   0.000   0.000\n   1.0 1.0 1.0\n"
    refused("protein/adk", [("big.gro", gro), ("adk.dcd", adk_files[1].read_bytes())], tmp_path,
            "declares 20000000 atoms but has 1 atom lines")


def test_psf_declaring_more_atoms_than_the_limit_with_the_lines_is_refused(tmp_path):
    n = limits.PROTEIN_MAX_ATOMS + 1
    psf = f"PSF\n\n{n} !NATOM\n".encode() + b"x\n" * n
    refused("protein/adk", [("many.psf", psf), ("t.dcd", b"\x54\0\0\0CORD")], tmp_path,
            f"declares {n:,} atoms, over the limit")


@pytest.mark.parametrize("kind, pack", [("gzip", gzip.compress),
                                         ("bzip2", __import__("bz2").compress),
                                         ("xz", __import__("lzma").compress)])
def test_compressed_stream_named_pdb_is_refused(tmp_path, kind, pack):
    text = b"ATOM      1  N   ALA A   1       0.000   0.000   0.000  1.00  0.00           N\n" * 1000
    refused("protein/adk", [("small.pdb", pack(text))], tmp_path, f"{kind}-compressed data, not a plain PDB")


def test_gzip_named_xyz_or_csv_is_refused(tmp_path):
    refused("md17/aspirin", [("a.xyz", gzip.compress(b"1\n\nC 0 0 0\n"))], tmp_path, "gzip-compressed")
    refused("nbody", [("a.csv", gzip.compress(b"frame,particle\n"))], tmp_path, "gzip-compressed")


def pdb_model(n_atoms: int, xyz=(0.0, 0.0, 0.0)) -> list[str]:
    names = ("N", "CA", "C", "O")
    lines = []
    for i in range(n_atoms):
        res = i // 4 + 1
        lines.append(f"ATOM  {i % 99999 + 1:5d} {names[i % 4]:<4} ALA A{res % 10000:4d}    "
                     f"{xyz[0]:8.3f}{xyz[1]:8.3f}{xyz[2]:8.3f}  1.00  0.00           {names[i % 4][0]}")
    return lines


def test_5000_backbone_atoms_at_one_point_are_refused_before_the_graph(tmp_path):
    text = "\n".join(["MODEL        1", *pdb_model(5000), "ENDMDL", "MODEL        2", *pdb_model(5000),
                      "ENDMDL", "END"]) + "\n"
    refused("protein/adk", [("pile.pdb", text.encode())], tmp_path,
            f"over {limits.MAX_EDGES:,} edges within 10 Å")


# ---------------------------------------------------------------- formerly tracebacks
def test_csv_with_only_its_header(tmp_path):
    refused("nbody", [("head.csv", b"frame,particle,x,y,z,charge\n")], tmp_path, "no rows under the header")


def test_npz_with_zero_frames(tmp_path):
    data = npz(loc=np.zeros((0, 5, 3)), charges=np.ones(5), vel=np.zeros((0, 5, 3)))
    refused("nbody", [("none.npz", data)], tmp_path, "no frames")
    refused("md17/aspirin", [("none.npz", npz(R=np.zeros((0, 3, 3)), z=np.full(3, 6)))], tmp_path,
            "at least 2 frames")


def test_npz_with_empty_charges(tmp_path):
    refused("nbody", [("q.npz", npz(loc=np.zeros((3, 5, 3)), charges=np.ones((0, 5))))], tmp_path,
            "one charge per particle")
    refused("nbody", [("q.npz", npz(loc=np.zeros((3, 5, 3)), charges=np.ones(0)))], tmp_path,
            "one charge per particle")


def test_asf_bone_with_a_short_axis_line(tmp_path):
    refused("mocap/walk", [("s.asf", asf(3, axis="0 0")), ("s.amc", amc(40))], tmp_path,
            "axis needs three numbers, got 2")


def test_asf_bone_of_infinite_length(tmp_path):
    refused("mocap/walk", [("s.asf", asf(3, length="inf")), ("s.amc", amc(40))], tmp_path,
            "bone length inf is not finite")


def test_asf_whose_forward_kinematics_overflows(tmp_path):
    refused("mocap/walk", [("s.asf", asf(3, length="1e308")), ("s.amc", amc(40))], tmp_path,
            "joint positions are not finite")


def test_legitimate_small_pair_still_reads(tmp_path):
    w, seconds = read("mocap/walk", [("s.amc", amc(40)), ("s.asf", asf(3))], tmp_path)
    assert w.x.shape == (4, 3) and w.target is not None and w.meta["frames"] == 40


# ---------------------------------------------------------------- the worker
@pytest.fixture()
def own_tmp(tmp_path, monkeypatch):
    """The worker's temporary folders go under tmp_path, so the test can see what is left."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def nbody_csv() -> bytes:
    return sorted((ROOT / "assets" / "samples" / "nbody").glob("*.csv"))[0].read_bytes()


def test_worker_predicts_and_returns_plain_arrays(own_tmp):
    from egno.uploads.worker import UPLOAD_PREFIX, run_upload

    r = run_upload("nbody", "egno", [("mine.csv", nbody_csv())])
    assert r.ok, r.message
    assert r.out.pred.shape == (5, 5, 3) and r.out.truth.shape == (5, 5, 3)
    assert r.meta["source"] == "mine.csv"
    assert r.exports["mine_egno_prediction.csv"].startswith(b"# egno prediction by nbody/egno")
    assert 0 < r.peak_mb < limits.WORKER_MEMORY_BYTES / limits.MiB
    assert not list(own_tmp.glob(UPLOAD_PREFIX + "*")), "temporary folder removed"


def test_worker_message_for_a_refused_file_names_it(own_tmp):
    from egno.uploads.worker import run_upload

    r = run_upload("nbody", "egno", [("head.csv", b"frame,particle,x,y,z,charge\n")])
    assert not r.ok and r.message == "head.csv: no rows under the header"


def test_worker_past_its_time_is_killed_and_its_folder_removed(own_tmp):
    from egno.uploads.worker import UPLOAD_PREFIX, run_upload

    start = time.time()
    r = run_upload("nbody", "egno", [("mine.csv", nbody_csv())], seconds=0.5)
    assert time.time() - start < 5
    assert not r.ok and "took longer than 0.5 s" in r.message and "mine.csv" in r.message
    assert not list(own_tmp.glob(UPLOAD_PREFIX + "*"))


def test_worker_over_its_memory_says_so(own_tmp):
    from egno.uploads.worker import run_upload

    # the worker's libraries take about 1 GB of address space before the cap is set: a 600 MB cap
    # leaves nothing for the work (a library whose threads cannot start may instead hang until
    # the time limit)
    buf = io.BytesIO()
    np.savez_compressed(buf, loc=np.zeros((10_000, 100, 3), np.float32), charges=np.ones(100))
    r = run_upload("nbody", "egno", [("big.npz", buf.getvalue())], memory=600 * limits.MiB, seconds=8)
    assert not r.ok and r.message.startswith("big.npz: ")
    assert "more memory than the 600 MB" in r.message or "longer than 8 s" in r.message, r.message


def test_stale_upload_folders_are_swept(own_tmp):
    from egno.uploads.worker import UPLOAD_PREFIX, sweep_stale

    old, new = own_tmp / f"{UPLOAD_PREFIX}old", own_tmp / f"{UPLOAD_PREFIX}new"
    for folder in (old, new):
        folder.mkdir()
        (folder / "file0").write_bytes(b"x")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    assert sweep_stale() == 1 and not old.exists() and new.exists()


# ---------------------------------------------------------------- URL parameters
def test_bad_url_parameters_fall_back_with_a_note(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from egno import get_dataset

    get_dataset("nbody", tmp_path / "nbody").generate(progress=False, splits=("test",))
    monkeypatch.setenv("EGNO_DATA", str(tmp_path))
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=120)
    at.switch_page("views/equivariance.py")  # a fresh session opening a link with bad parameters
    for key, value in {"alpha": "1e999", "beta": "abc", "gamma": "500", "sample": "-3",
                       "dataset": "no/such", "model": "<script>"}.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    for key, top in (("alpha", 180), ("beta", 90)):  # the page's defaults
        assert math.isfinite(at.session_state[key]) and abs(at.session_state[key]) <= top
    assert at.session_state.gamma == 180.0 and at.session_state.eq_sample == 0
    notes = " ".join(c.value for c in at.caption)
    assert "`alpha`" in notes and "`dataset`" in notes and "<script>" not in notes
