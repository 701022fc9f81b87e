"""Server-side GIF / MP4 export (egno/service/render.py and `python -m egno render`)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT
from egno import get_dataset
from egno.run.checkpoint import shipped_models
from egno.service.results import Prediction
from egno.service.render import NO_TRUTH, graph_edges, render_animation


def _out(p: int = 5, n: int = 4, truth: bool = True) -> Prediction:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3))
    pred = x + np.cumsum(0.1 * rng.normal(size=(p, n, 3)), axis=0)
    target = pred + 0.05 * rng.normal(size=pred.shape) if truth else None
    return Prediction(x=x, v=np.zeros_like(x), pred=pred, truth=target, t=np.arange(1, p + 1) / p, window=1.0,
                      node_error=((pred - target) ** 2).mean(-1) if truth else None)


@pytest.mark.parametrize("layout", ["overlay", "side"])
def test_gif_has_one_frame_per_time(tmp_path, layout):
    path = render_animation(_out(), get_dataset("nbody"), {}, tmp_path / "a.gif", layout=layout)
    assert Image.open(path).n_frames == 6  # the input and P = 5 targets


def test_prediction_without_truth_renders(tmp_path):
    path = render_animation(_out(p=3, truth=False), get_dataset("nbody"), {}, tmp_path / "b.gif")
    assert Image.open(path).n_frames == 4


def _grey_pixels(image: Image.Image, frame: int) -> int:
    """Pixels of one GIF frame in NO_TRUTH, the colour of nodes without a truth."""
    image.seek(frame)
    rgb = np.asarray(image.convert("RGB")).astype(int)
    grey = np.array([int(NO_TRUTH[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(rgb - grey).max(-1) < 8).sum())


@pytest.mark.parametrize("dataset", ["nbody", "md17/ethanol"])
def test_rollout_past_the_datas_frames_renders_unscored_nodes_grey(tmp_path, dataset):
    # a chained rollout (Long horizon): truth and error NaN after the file's or data's last frame
    out = _out(p=6, n=6)
    out.truth[3:], out.node_error[3:] = np.nan, np.nan
    image = Image.open(render_animation(out, get_dataset(dataset), {}, tmp_path / "c.gif"))
    assert image.n_frames == 7
    grey = [_grey_pixels(image, k) for k in range(7)]
    assert not any(grey[:4]) and all(grey[4:]), grey


def test_molecule_bonds_from_distances():
    x = np.array([[0, 0, 0], [1.5, 0, 0], [3.0, 0, 0]], dtype=float)  # a chain: 0-1, 1-2 bonded
    edges = graph_edges(get_dataset("md17/ethanol"), {}, x)
    assert sorted(map(tuple, edges.T.tolist())) == [(0, 1), (1, 2)]


@pytest.mark.skipif(not shipped_models("nbody"), reason="no shipped nbody checkpoints")
@pytest.mark.slow
def test_render_command_writes_a_gif_and_an_mp4(tmp_path, monkeypatch):
    monkeypatch.setenv("EGNO_DATA", str(tmp_path / "data"))
    get_dataset("nbody", tmp_path / "data" / "nbody").generate(progress=False, splits=("test",))
    for name in ("r.gif", "r.mp4"):
        done = subprocess.run([sys.executable, "-m", "egno", "render", "--dataset", "nbody", "--sample", "2",
                               "--out", str(tmp_path / name)], cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert "6 frames" in done.stdout
    assert Image.open(tmp_path / "r.gif").n_frames == 6
    assert (tmp_path / "r.mp4").read_bytes()[4:8] == b"ftyp"  # an MP4 container


@pytest.mark.parametrize("dataset", ["md17/aspirin", "protein/adk", "mocap/walk"])
def test_upload_without_truth_renders_in_every_view(tmp_path, dataset):
    # a one-frame upload (PDB, XYZ) has nothing to score against: truth and errors are None
    out = _out(p=3, n=31, truth=False)
    for suffix in (".gif", ".mp4"):
        path = render_animation(out, get_dataset(dataset), {}, tmp_path / f"d{suffix}")
        assert path.stat().st_size > 1000
    assert Image.open(tmp_path / "d.gif").n_frames == 4
