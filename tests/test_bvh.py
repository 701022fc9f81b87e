"""BVH reading through bvhio: forward kinematics by hand, broken files, and the motion windows."""
from __future__ import annotations

import numpy as np
import pytest

from egno.data import get_dataset
from egno.data.asf_amc import MocapFormatError
from egno.data.bvh import read_bvh

HIERARCHY = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Spine
  {
    OFFSET 0 10 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT Head
    {
      OFFSET 0 10 0
      CHANNELS 3 Zrotation Xrotation Yrotation
      End Site
      {
        OFFSET 0 5 0
      }
    }
  }
  JOINT Leg
  {
    OFFSET 5 0 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 -20 0
    }
  }
}
"""


def bvh_text(rows: list[str], frame_time: float = 1 / 120) -> str:
    return HIERARCHY + f"MOTION\nFrames: {len(rows)}\nFrame Time: {frame_time}\n" + "\n".join(rows) + "\n"


def test_forward_kinematics_matches_hand_computed_positions(tmp_path):
    rows = ["0 90 0 0 0 0 0 0 0 0 0 0 0 0 0",
            "1 90 0 90 0 0 0 0 0 0 0 0 0 0 0",      # root turned 90° about z
            "2 90 0 0 0 0 90 0 0 0 0 0 0 0 0"]      # spine turned 90° about z
    path = tmp_path / "walk.bvh"
    path.write_text(bvh_text(rows))
    m = read_bvh(path)
    assert m.joints == ["Hips", "Spine", "Head", "Leg"] and m.frame_time == pytest.approx(1 / 120)
    assert m.bones.tolist() == [[1, 2, 3], [0, 1, 0]]
    expected = np.array([[[0, 90, 0], [0, 100, 0], [0, 110, 0], [5, 90, 0]],
                         [[1, 90, 0], [-9, 90, 0], [-19, 90, 0], [1, 95, 0]],
                         [[2, 90, 0], [2, 100, 0], [-8, 100, 0], [7, 90, 0]]], dtype=float)
    np.testing.assert_allclose(m.positions, expected, atol=1e-4)


@pytest.mark.parametrize("text, message", [
    ("hello world\n", "line 1: a BVH file starts with HIERARCHY"),
    ("\n".join(HIERARCHY.splitlines()[:12]), "file ends where"),  # truncated inside the hierarchy
    (HIERARCHY + "MOTION\nFrames: 3\nFrame Time: 0.01\n" + "0 " * 15 + "\n", "file ends where motion row 2"),
    (HIERARCHY + "MOTION\nFrames: 1\nFrame Time: 0.01\n0 0 0\n", "needs 15 numbers, got 3"),
    (HIERARCHY.replace("OFFSET 0 10 0", "OFFSET 0 ten 0", 1), "line 8: OFFSET has non-numeric"),
    (HIERARCHY.replace("Zrotation Xrotation Yrotation", "Zrotation Qrotation Yrotation", 1), "bad channels"),
    (bvh_text(["0 90 0 0 0 0 0 0 0 0 0 0 0 0 0"], frame_time=0), "frame time 0.0"),
    (bvh_text(["0 90 0 0 0 0 0 nan 0 0 0 0 0 0 0"]), "NaN or inf"),
])
def test_broken_bvh_files_name_the_problem(tmp_path, text, message):
    path = tmp_path / "bad.bvh"
    path.write_text(text)
    with pytest.raises(MocapFormatError, match=message):
        read_bvh(path)
    (tmp_path / "binary.bvh").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(MocapFormatError, match="not a readable text BVH"):
        read_bvh(tmp_path / "binary.bvh")


def test_bvh_upload_is_resampled_scaled_and_scored(tmp_path):
    """A 30 frames/s BVH of 0.5 s: resampled to 120 frames/s, scaled to CMU body size, with
    ground truth for the 0.25 s window."""
    from egno.data.mocap import BODY_SIZE

    rows = [f"{0.5 * k} 90 0 {3 * k} 0 0 {2 * k} 0 0 0 0 0 {k} 0 0" for k in range(16)]
    path = tmp_path / "turn.bvh"
    path.write_text(bvh_text(rows, frame_time=1 / 30))
    w = get_dataset("mocap/walk").read_file(path)
    size = np.hypot(5, 20)  # largest joint distance in frame 0: head (0, 110, 0) to leg (5, 90, 0)
    x = w.x.numpy()
    assert len(w) == 1 and x.shape == (4, 3) and w.target.shape == (5, 4, 3)
    assert w.meta["file_fps"] == pytest.approx(30) and w.meta["frames"] == 61  # 0 to 0.5 s at 120/s
    got = np.linalg.norm(x[:, None] - x[None], axis=-1).max()
    assert got == pytest.approx(BODY_SIZE, rel=1e-5) and w.meta["scale"] == pytest.approx(BODY_SIZE / size)
    assert w.h.shape == (4, 5)  # skeleton-agnostic features work on any tree
