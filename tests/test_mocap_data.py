"""CMU motion capture: ASF/AMC parsing, forward kinematics, trial splits, invariant features."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from egno.data import get_dataset
from egno.data.asf_amc import MocapFormatError, euler_xyz, forward_kinematics, read_amc, read_asf
from egno.data.mocap import SOURCE, SPLITS, bone_graph

ASF35 = SOURCE / "35" / "35.asf"
pytestmark = pytest.mark.skipif(not ASF35.exists(), reason="../shared/data/cmu_mocap not present")


@pytest.fixture(scope="module")
def walk(tmp_path_factory):
    family = get_dataset("mocap/walk", tmp_path_factory.mktemp("mocap") / "walk")
    family.generate(progress=False)
    return family


def test_skeleton_has_31_joints_and_30_bones():
    sk = read_asf(ASF35)
    assert len(sk.joints) == 31 and sk.edges().shape == (2, 30) and sk.length_unit == 0.45
    assert sk.joints[0] == "root" and {"head", "lfemur", "rthumb"} <= set(sk.joints)


def test_forward_kinematics_keeps_every_bone_length():
    sk = read_asf(ASF35)
    pos = forward_kinematics(sk, read_amc(SOURCE / "35" / "35_01.amc", sk))
    assert pos.shape == (358, 31, 3)
    child, parent = sk.edges()
    lengths = np.array([sk.bones[sk.joints[c]].length for c in child])
    dist = np.linalg.norm(pos[:, child] - pos[:, parent], axis=-1)
    np.testing.assert_allclose(dist, np.broadcast_to(lengths, dist.shape), atol=1e-5)
    head, toes = pos[:, sk.joints.index("head")], pos[:, sk.joints.index("ltoes")]
    assert (head[:, 1] > toes[:, 1] + 20).all()  # upright: the head ~25 units above the toes


def test_euler_convention_is_rz_ry_rx():
    R = euler_xyz(90, 0, 0)
    np.testing.assert_allclose(R @ [0, 1, 0], [0, 0, 1], atol=1e-12)
    np.testing.assert_allclose(euler_xyz(10, 20, 30), euler_xyz(0, 0, 30) @ euler_xyz(0, 20, 0)
                               @ euler_xyz(10, 0, 0), atol=1e-12)


@pytest.mark.parametrize("text, message", [
    ("hello\n", "no :bonedata"),
    (":bonedata\n begin\n name a\n direction 1 x 0\n end\n", "cannot read"),
    (":root\n order TX TY TZ RX RY RZ\n:bonedata\n begin\n name a\n direction 1 0 0\n length 1\n"
     " axis 0 0 0 XYZ\n end\n:hierarchy\n begin\n root b\n end\n", "unknown bone"),
    (":bonedata\n begin\n name a\n axis 0 0 0 ZYX\n end\n", "not supported"),
])
def test_broken_asf_files_name_the_problem(tmp_path, text, message):
    path = tmp_path / "bad.asf"
    path.write_text(text)
    with pytest.raises(MocapFormatError, match=message):
        read_asf(path)


@pytest.mark.parametrize("text, message", [
    ("", "no frames"),
    ("root 1 2 3 4 5 6\n", "before the first frame"),
    ("1\nroot 1 2 3 4 5\n", "has 5 values"),
    ("1\nnosuchbone 1\n", "not in the skeleton"),
    ("1\nltibia abc\n", "non-numeric"),
    ("1\nltibia nan\n", "NaN or inf"),
])
def test_broken_amc_files_name_the_problem(tmp_path, text, message):
    path = tmp_path / "bad.amc"
    path.write_text(text)
    with pytest.raises(MocapFormatError, match=message):
        read_amc(path, read_asf(ASF35))
    (tmp_path / "binary.amc").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(MocapFormatError, match="not a readable text file"):
        read_amc(tmp_path / "binary.amc", read_asf(ASF35))


def test_splits_are_by_trial_and_disjoint():
    for spec in SPLITS.values():
        trials = [set(spec[s]) for s in ("train", "val", "test")]
        assert not (trials[0] & trials[1] or trials[0] & trials[2] or trials[1] & trials[2])
    assert SPLITS["run"]["test"] == [4, 8, 9]  # 0-based 3, 7, 8 of 09_01..09_11, as in the paper


def test_walk_dataset_windows_graph_and_invariant_features(walk):
    w = walk.load("test")
    assert w.timesteps == 5 and w.window == pytest.approx(0.25)
    first = w.select([0])
    assert first.x.shape == (31, 3) and first.edge_index.shape[1] == 130  # 60 bone + 70 2-hop
    # node features: place in the tree (depth, leaf, chain, branch) + speed; no coordinate
    h = first.h.numpy()
    assert h.shape == (31, 5) and h[0, 0] == 0 and h[0, 3] == 1  # the root: depth 0, 3 children
    assert (h[:, 1:4].sum(1) == 1).all() and h[:, 1].sum() == 7  # 7 leaves (toes, head, hands)
    speed = np.linalg.norm(first.v.numpy(), axis=-1) * 0.25 / 10
    np.testing.assert_allclose(h[:, 4], speed, rtol=1e-5)
    fine = walk.load("test", 30)
    np.testing.assert_allclose(fine.target[5::6].numpy(), w.target.numpy())


def test_features_do_not_change_under_rotation(walk):
    """Rotating the motion leaves every node and edge feature unchanged (the reference code's
    joint-height feature would not)."""
    from egno.data.mocap import build_mocap_windows
    from helpers import random_orthogonal

    R = random_orthogonal(3).numpy()
    w = walk.load("test").select([4])
    x, v = w.x.numpy()[None], w.v.numpy()[None]
    a = build_mocap_windows(x, v, None, walk.bones, 31, 5)
    b = build_mocap_windows(x @ R.T, v @ R.T, None, walk.bones, 31, 5)
    np.testing.assert_allclose(a.h.numpy(), b.h.numpy(), atol=1e-5)
    np.testing.assert_allclose(a.edge_attr.numpy(), b.edge_attr.numpy(), atol=1e-5)


def test_every_motion_sample_carries_the_up_vector_and_it_turns_with_the_body(walk):
    """Gravity points along −y in the CMU frame; Windows.up travels through select, concat and
    collate to the models, and turning a sample turns its up vector."""
    from egno.data.base import Windows
    from egno.data import collate
    from helpers import random_orthogonal

    w = walk.load("test")
    assert w.up.shape == (len(w), 3) and (w.up == torch.tensor([0.0, 1.0, 0.0])).all()
    both = Windows.concat([w.select([0, 1]), w.select([2])])
    assert both.up.shape == (3, 3)
    batch = collate(both)
    assert batch.up.shape == batch.x.shape
    R = random_orthogonal(4).float()
    turned = w.select([3]).turned(R)
    torch.testing.assert_close(turned.up[0], R[:, 1])


def test_body_size_constant_matches_the_subjects(walk):
    from egno.data.mocap import BODY_SIZE

    with np.load(walk.data_dir / "train.npz") as f:
        pos = f["positions"][::10]
    size = np.linalg.norm(pos[:, :, None] - pos[:, None], axis=-1).max((1, 2))
    assert abs(np.median(size) / BODY_SIZE - 1) < 0.03


def test_evaluate_data_dir_reads_every_trial(tmp_path, walk):
    import shutil

    for name in ("35.asf", "35_07.amc", "35_08.amc"):
        shutil.copy(SOURCE / "35" / name, tmp_path / name)
    w = walk.read_file(tmp_path)
    test = walk.load("test")
    assert len(w) == len(test) and w.meta["trials"] == ["35_07", "35_08"]
    np.testing.assert_allclose(w.target.numpy(), test.target.numpy(), atol=1e-4)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no .amc files"):
        walk.read_file(tmp_path / "empty")


def test_committed_test_sample_serves_machines_without_the_cmu_files(tmp_path, walk):
    """Without ../shared the app's test split comes from assets/samples (derived positions)."""
    family = get_dataset("mocap/walk", tmp_path / "walk")
    family.source = tmp_path / "nowhere"
    family.generate(progress=False, splits=("test",))
    committed, generated = family.load("test"), walk.load("test")
    assert len(committed) == len(generated)
    np.testing.assert_allclose(committed.x.numpy(), generated.x.numpy(), atol=1e-4)
    with pytest.raises(FileNotFoundError, match="missing"):
        family.generate(progress=False)


def test_bone_graph_two_hop_pairs():
    edges, kind = bone_graph(np.array([[1, 2], [0, 1]]), 3)  # a chain 0-1-2
    pairs = {tuple(e) for e in edges.T}
    assert pairs == {(1, 0), (2, 1), (0, 1), (1, 2), (0, 2), (2, 0)}
    assert kind.sum(0).tolist() == [4.0, 2.0]


def test_read_amc_upload_with_its_skeleton(tmp_path):
    import shutil

    shutil.copy(ASF35, tmp_path / "35.asf")
    shutil.copy(SOURCE / "35" / "35_02.amc", tmp_path / "35_02.amc")
    family = get_dataset("mocap/walk", tmp_path / "data")
    w = family.read_file(tmp_path / "35_02.amc")
    assert len(w) == 1 and w.target.shape == (5, 31, 3)
    pair = family.read_file(f"{tmp_path / '35.asf'},{tmp_path / '35_02.amc'}")
    np.testing.assert_array_equal(pair.x.numpy(), w.x.numpy())
    with pytest.raises(ValueError, match="no skeleton file"):
        family.read_file(tmp_path / "nothing_01.amc")


def test_read_uploads_orders_an_asf_amc_pair(tmp_path):
    from egno.uploads.staging import read_uploads

    files = [("35_02.amc", (SOURCE / "35" / "35_02.amc").read_bytes()), ("35.asf", ASF35.read_bytes())]
    w = read_uploads("mocap/walk", files, tmp_path)
    assert len(w) == 1 and w.target.shape == (5, 31, 3) and w.meta["source"] == "35_02.amc"
    with pytest.raises(ValueError, match="35.asf: no :bonedata"):
        read_uploads("mocap/walk", [("35.asf", b"junk"), files[0]], tmp_path)


@pytest.mark.parametrize("names, message", [
    (["35_02.amc"], "35_02.amc: an .amc file holds the motion only; select its subject's .asf"),
    (["35.asf"], "35.asf: an .asf file holds the skeleton only; select an .amc"),
    (["a.amc", "b.amc"], "a.amc, b.amc: give one .bvh file, or one .asf skeleton with one .amc"),
    (["35.asf", "walk.bvh"], "35.asf, walk.bvh: give one .bvh file, or one .asf"),
])
def test_uploads_that_are_not_one_motion_say_what_to_select(tmp_path, names, message):
    """Upload names the user's files only (the reader's temporary names never show)."""
    from egno.uploads.staging import read_uploads

    with pytest.raises(ValueError) as e:
        read_uploads("mocap/walk", [(n, b"some bytes") for n in names], tmp_path)
    assert str(e.value).startswith(message) and "upload" not in str(e.value)
