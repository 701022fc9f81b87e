"""The Upload page in real Chromium, one page load per family: example files through the load
buttons, what the page asks for (time between frames, start frame, starting velocities), every model
scored, the upload kept across a page switch and replaced by a new drop, downloads that upload
again with the same frames."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from playwright.sync_api import expect

from test_pages import TIMEOUT, metric_value, wait_ready

ROOT = Path(__file__).resolve().parents[2]


def shipped(dataset: str) -> list[str]:
    from egno.run.checkpoint import shipped_models

    return shipped_models(dataset)


def needs(dataset: str):
    return pytest.mark.skipif("egno" not in shipped(dataset), reason=f"no shipped {dataset} checkpoints")


def open_upload(page, server, dataset: str) -> None:
    page.goto(f"{server}/upload?dataset={dataset}", timeout=TIMEOUT)
    wait_ready(page)
    expect(page.get_by_text("Predict your own trajectory")).to_be_visible(timeout=TIMEOUT)


def load(page, label: str) -> None:
    """Click an example's load button (the examples expander opens itself while nothing is kept)."""
    details = page.locator("[data-testid=stExpander] details", has_text="example files")
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    page.get_by_role("button", name=f"load: {label}").click()
    wait_ready(page)


def success(page, pattern: str):
    box = page.locator("[data-testid=stAlertContentSuccess]")
    expect(box).to_contain_text(re.compile(pattern), timeout=TIMEOUT)
    wait_ready(page)
    return box.inner_text()


def current_upload(page) -> str:
    return page.get_by_text("Current upload:").inner_text()


def download(page, name: str, folder: Path) -> Path:
    with page.expect_download(timeout=TIMEOUT) as dl:
        page.get_by_role("button", name=name, exact=True).click()
    path = folder / name
    dl.value.save_as(path)
    return path


def drop(page, *paths: Path) -> None:
    page.locator("[data-testid=stFileUploader] input[type=file]").set_input_files([str(p) for p in paths])


def scored_by_every_model(page, dataset: str) -> None:
    caption = page.get_by_text(re.compile("^Every shipped")).inner_text()
    assert all(f"{m} " in caption for m in shipped(dataset)) and "no motion" in caption, caption
    assert float(metric_value(page, "F-MSE")) >= 0


@needs("nbody")
def test_particles_start_frame_every_model_kept_replaced_and_round_trip(page, server, tmp_path):
    open_upload(page, server, "nbody")
    load(page, "particles (CSV with charges and velocities)")
    first = success(page, r"particles\.csv: 5 nodes, 11 frames read.*0\.1 .*apart.*input frame 0")
    scored_by_every_model(page, "nbody")
    truth = download(page, "particles_truth.csv", tmp_path)

    # the start frame changes the prediction
    slider = page.get_by_role("slider").first
    slider.focus()
    slider.press("ArrowRight")
    slider.press("ArrowRight")
    moved = success(page, "input frame 2")
    assert moved != first

    # the upload survives a page switch
    page.locator("[data-testid=stSidebarNavLink]", has_text="Explore").click()
    expect(page.get_by_text("Explore predictions")).to_be_visible(timeout=TIMEOUT)
    wait_ready(page)
    page.locator("[data-testid=stSidebarNavLink]", has_text="Upload").click()
    assert "input frame 2" in success(page, r"particles\.csv")
    assert "particles.csv" in current_upload(page)

    # the ground truth uploads again (a new drop replaces the kept file) with the same frames
    drop(page, truth)
    success(page, r"particles_truth\.csv: 5 nodes")
    assert "particles.csv" not in current_upload(page).replace("particles_truth.csv", "")
    again = download(page, "particles_truth_truth.csv", tmp_path)
    a, b = pd.read_csv(truth, comment="#"), pd.read_csv(again, comment="#")
    assert len(a) == len(b) > 5
    np.testing.assert_allclose(a[["x", "y", "z"]].to_numpy(), b[["x", "y", "z"]].to_numpy(), atol=1e-5)
    # a downloaded prediction says so when it comes back
    drop(page, download(page, "particles_truth_egno_prediction.csv", tmp_path))
    success(page, r"particles_truth_egno_prediction\.csv: 5 nodes")
    expect(page.get_by_text(re.compile("This file holds a prediction"))).to_be_visible(timeout=TIMEOUT)


def xyz_frames(path: Path) -> np.ndarray:
    lines, frames = path.read_text().splitlines(), []
    i = 0
    while i < len(lines) and lines[i].strip():
        n = int(lines[i])
        frames.append([[float(v) for v in line.split()[1:4]] for line in lines[i + 2:i + 2 + n]])
        i += n + 2
    return np.asarray(frames)


@needs("md17/aspirin")
def test_molecule_xyz_without_times_asks_warns_and_round_trips(page, server, tmp_path):
    open_upload(page, server, "md17/aspirin")
    load(page, "aspirin XYZ without times")
    dt = page.locator("[data-testid=stNumberInput]", has_text="time between frames").locator("input")
    expect(dt).to_have_value("0.5", timeout=TIMEOUT)
    expect(page.get_by_text("The file does not say how far apart its frames are")).to_be_visible()
    expect(page.get_by_text(re.compile("time between frames is probably wrong"))).to_be_visible()
    dt.fill("37.5")
    dt.press("Enter")
    success(page, r"37\.5 fs apart \(you\)")
    expect(page.get_by_text(re.compile("probably wrong"))).to_have_count(0, timeout=TIMEOUT)
    scored_by_every_model(page, "md17/aspirin")

    truth = download(page, "aspirin_no_times_truth.extxyz", tmp_path)
    drop(page, truth)
    success(page, r"aspirin_no_times_truth\.extxyz: 13 nodes, 9 frames read.*apart \(the file\)")
    again = download(page, "aspirin_no_times_truth_truth.extxyz", tmp_path)
    a, b = xyz_frames(truth), xyz_frames(again)
    assert a.shape == b.shape and a.shape[0] > 2
    np.testing.assert_allclose(a, b, atol=1e-4)


@needs("mocap/walk")
def test_motion_example_pair_loads_and_is_scored(page, server):
    open_upload(page, server, "mocap/walk")
    load(page, "CMU walk ASF + AMC")
    success(page, r"35\.asf, 35_01_first40\.amc: 31 nodes, 40 frames read")
    scored_by_every_model(page, "mocap/walk")
    expect(page.locator("div.egno-plotly").first).to_be_visible(timeout=TIMEOUT)


@needs("protein/adk")
def test_one_frame_pdb_predicts_from_rest_says_so_and_renders_a_gif(page, server):
    open_upload(page, server, "protein/adk")
    load(page, "AdK backbone, one frame (PDB)")
    text = success(page, r"adk_one_frame\.pdb: .*1 frame read.*velocities: zero")
    p = int(re.search(r"predicted P = (\d+) frames", text).group(1))
    expect(page.get_by_text(re.compile("starts from rest")).first).to_be_visible()
    expect(page.get_by_text("nothing to score against", exact=False)).to_be_visible()
    # rendered on the server from the worker's arrays, with no truth to overlay
    with page.expect_download(timeout=TIMEOUT) as dl:
        page.get_by_role("button", name="animation (GIF)").click()
    assert dl.value.suggested_filename == "adk_one_frame_egno.gif"
    assert Image.open(dl.value.path()).n_frames == p + 1  # the input frame and the P predicted
