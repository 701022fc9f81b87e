"""docs/contributing.md's steps for a new dataset family, followed with a tiny one: particles turning
on a circle. One module and its registration (and a model preset) are all it takes to generate,
train, evaluate, chain windows and read an upload."""
from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

from conftest import ROOT

FAMILY = '''
"""Particles turning steadily about a common axis: x(t) = R(ωt) x(0)."""
from pathlib import Path

import numpy as np

from egno.data.base import DatasetFamily, Windows, uniform_times
from egno.data.trajectory import Trajectory, from_array

N, OMEGA, WINDOW = 4, 1.2, 1.0


def turn(x, t):
    c, s = np.cos(OMEGA * t), np.sin(OMEGA * t)
    return x @ np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]).T


def windows(x0, targets, p, v0=None):
    full = np.array([(i, j) for i in range(N) for j in range(N) if i != j]).T
    v0 = [np.cross([0.0, 0.0, OMEGA], x) for x in x0] if v0 is None else v0
    return Windows.from_arrays(
        [np.linalg.norm(v, axis=-1, keepdims=True) for v in v0], list(x0), v0, [full] * len(x0),
        [np.stack([np.ones(full.shape[1]), ((x[full[0]] - x[full[1]]) ** 2).sum(-1)], -1) for x in x0],
        None if targets is None else list(targets), uniform_times(p), window=WINDOW)


class Circle(DatasetFamily):
    name = "circle"
    default_timesteps = 4
    time_unit = "s"
    length_unit = "m"
    file_formats = ("npz",)
    window = WINDOW
    frame_dt = WINDOW / 4
    max_speed = (10.0, "far above the circle's speed")
    edge_length_column = 1

    def generate(self, progress=True, sizes=None, **_):
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for k, split in enumerate(("train", "val", "test")):
            x0 = np.random.default_rng(k).normal(size=((sizes or {}).get(split, 16), N, 3))
            np.savez(self.data_dir / f"{split}.npz", x0=x0)
        return self.data_dir

    def available_timesteps(self, split):
        return [1, 2, 4]

    def load(self, split, timesteps=None, starts=1):
        p, path = self._split_file(split, timesteps)
        x0 = np.load(path)["x0"]
        return windows(x0, [np.stack([turn(x, WINDOW * q / p) for q in range(1, p + 1)]) for x in x0], p)

    def read_file(self, path, timesteps=None, max_windows=None):
        pos = np.load(path, allow_pickle=False)["pos"]
        p = timesteps or self.default_timesteps
        return windows(pos[:1], [pos[1:p + 1]] if len(pos) > p else None, p)

    def read_trajectory(self, arg):
        pos = np.load(arg, allow_pickle=False)["pos"]

        def build(x0, v0, target, p, **_):
            return windows(x0[None], None if target is None else target[None], p, v0[None])

        return Trajectory(len(pos), None, from_array(pos), build, masses=np.ones(N))
'''


@pytest.fixture()
def circle(tmp_path, monkeypatch):
    """Steps 1, 3 and 4 of docs/contributing.md: the module, its registry line, its preset."""
    from egno.data import REGISTRY
    from egno.nn.config import PRESETS

    (tmp_path / "circle_family.py").write_text(FAMILY)
    spec = importlib.util.spec_from_file_location("circle_family", tmp_path / "circle_family.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "circle_family", module)
    spec.loader.exec_module(module)
    monkeypatch.setitem(REGISTRY, "circle", module.Circle)
    monkeypatch.setitem(PRESETS, "circle", dict(model=dict(node_features=1, edge_features=2, hidden=16,
                                                           layers=2, timesteps=4),
                                                train=dict(batch_size=8, epochs=2, eval_every=1)))
    monkeypatch.setenv("EGNO_DATA", str(tmp_path / "data"))
    return module


def test_the_documented_steps_are_the_ones_in_the_guide():
    guide = (ROOT / "docs" / "contributing.md").read_text()
    for step in ("DatasetFamily", "REGISTRY", "PRESETS", "egno/data/__init__.py", "egno/nn/config.py"):
        assert step in guide, step


def test_a_new_family_trains_evaluates_chains_and_reads_uploads(circle, tmp_path):
    from egno.data import dataset_names, get_dataset
    from egno.nn.config import preset
    from egno.run.checkpoint import load_checkpoint
    from egno.run.evaluate import evaluate
    from egno.run.rollout import chain
    from egno.run.train import train
    from egno.uploads.frames import Options, read_trajectory, upload_window

    assert "circle" in dataset_names()
    family = get_dataset("circle")
    family.generate(progress=False)
    mc, tc = preset("circle", "egno")
    loaded = load_checkpoint(train("circle", mc, tc, tmp_path / "run", progress=False))
    test = family.load("test")
    scores = evaluate(loaded.model, test)
    assert np.isfinite(scores["f_mse"]) and scores["n_samples"] == 16
    chained = chain(loaded.model, test, windows=3, timesteps=4, family="circle")
    assert chained.shape == (12, test.x.shape[0], 3) and np.isfinite(chained.numpy()).all()
    pos = np.stack([circle.turn(test.select([0]).x.numpy(), t) for t in np.arange(9) * 0.25])
    np.savez(tmp_path / "upload.npz", pos=pos)
    w = upload_window("circle", read_trajectory("circle", str(tmp_path / "upload.npz")), Options())
    np.testing.assert_allclose(w.target.numpy(), pos[1:5], atol=1e-6)  # scored at the file's frames
    np.testing.assert_allclose(w.v.numpy(), (pos[1] - pos[0]) / 0.25, atol=1e-6)  # from the frames
