"""Motion, protein and molecules in real Chromium: skeleton and 3Dmol views, uploads (ASF+AMC, PSF+DCD, XYZ)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect

from test_pages import TIMEOUT, metric_value, wait_ready

ROOT = Path(__file__).resolve().parents[2]
CMU = ROOT.parent / "shared" / "data" / "cmu_mocap" / "35"


def shipped(dataset: str) -> bool:
    from egno.run.checkpoint import shipped_models

    return "egno" in shipped_models(dataset)


needs_walk = pytest.mark.skipif(not shipped("mocap/walk"), reason="no shipped mocap/walk checkpoints")
needs_adk = pytest.mark.skipif(not shipped("protein/adk"), reason="no shipped protein/adk checkpoints")


@needs_walk
def test_motion_explore_draws_the_skeleton_and_plays(page, server, shot):
    page.goto(f"{server}/?dataset=mocap/walk&sample=3", timeout=TIMEOUT)
    wait_ready(page)
    expect(page.get_by_text("mocap/walk test sample 3").first).to_be_visible(timeout=TIMEOUT)
    plot = page.locator("div.egno-plotly").first
    legend = plot.locator(".legendtext")
    expect(legend.filter(has_text="prediction bones")).to_have_count(1, timeout=TIMEOUT)
    expect(legend.filter(has_text="prediction trail")).to_have_count(1)
    page.locator(".egno-player [data-act=fwd]").first.click()
    expect(page.locator(".egno-player .egno-time").first).to_contain_text("(1/5)", timeout=TIMEOUT)
    assert page.locator(".egno-player .egno-time").first.inner_text().startswith("t = 0.05 s")
    assert float(metric_value(page, "F-MSE (")) > 0
    shot(page, "explore_mocap")


@needs_walk
@pytest.mark.skipif(not CMU.exists(), reason="../shared/data/cmu_mocap not present")
def test_upload_an_asf_amc_pair(page, server, shot):
    page.goto(f"{server}/upload?dataset=mocap/walk", timeout=TIMEOUT)
    wait_ready(page)
    uploader = page.locator("[data-testid=stFileUploader] input[type=file]")
    uploader.set_input_files([str(CMU / "35_03.amc"), str(CMU / "35.asf")])
    expect(page.get_by_text(re.compile(r"35_03\.amc.*31 nodes, \d+ frames read"))).to_be_visible(timeout=TIMEOUT)
    wait_ready(page)
    assert float(metric_value(page, "F-MSE")) >= 0
    expect(page.locator("div.egno-plotly").first).to_be_visible()
    shot(page, "upload_mocap")
    page.goto(f"{server}/upload?dataset=mocap/walk", timeout=TIMEOUT)  # a fresh upload list
    wait_ready(page)
    uploader = page.locator("[data-testid=stFileUploader] input[type=file]")
    uploader.set_input_files([str(CMU / "35_03.amc")])  # the motion without its skeleton
    expect(page.get_by_text(re.compile("Could not use this file: 35_03.amc: an .amc file holds the "
                                      "motion only"))).to_be_visible(timeout=TIMEOUT)


@needs_adk
def test_protein_explore_shows_3dmol_and_the_error_chart(page, server, shot):
    page.goto(f"{server}/?dataset=protein/adk&sample=5", timeout=TIMEOUT)
    wait_ready(page)
    frame = page.frame_locator("iframe").first
    expect(frame.locator("canvas").first).to_be_visible(timeout=TIMEOUT)
    expect(page.locator("div.egno-plotly").first).to_be_visible(timeout=TIMEOUT)
    assert float(metric_value(page, "F-MSE (")) > 0
    page.wait_for_timeout(1500)  # let 3Dmol draw a few frames
    shot(page, "explore_protein")


@needs_adk
def test_upload_a_psf_dcd_pair(page, server, shot):
    datafiles = pytest.importorskip("MDAnalysisTests.datafiles")
    page.goto(f"{server}/upload?dataset=protein/adk", timeout=TIMEOUT)
    wait_ready(page)
    uploader = page.locator("[data-testid=stFileUploader] input[type=file]")
    uploader.set_input_files([datafiles.PSF, datafiles.DCD2])
    read = re.compile(r"adk\.psf, adk_dims2\.dcd: 855 nodes, 102 frames read")
    expect(page.get_by_text(read)).to_be_visible(timeout=TIMEOUT)
    wait_ready(page)
    assert float(metric_value(page, "F-MSE")) > 0
    expect(page.frame_locator("iframe").first.locator("canvas").first).to_be_visible(timeout=TIMEOUT)
    shot(page, "upload_protein")


def _glycine_xyz(path: Path, frames: int = 40) -> Path:
    """A short MMFF94 trajectory (0.5 fs steps) of glycine, a molecule not among the eight, as
    multi-frame XYZ written by ASE."""
    from ase import Atoms
    from ase.io import write
    from ase.md.verlet import VelocityVerlet
    from ase.md.velocitydistribution import thermalize_momenta
    from ase import units

    from egno.data.md17_sim import MMFFCalculator, build_molecule

    mol = build_molecule("NCC(=O)O", seed=0)
    atoms = Atoms([a.GetSymbol() for a in mol.GetAtoms()], positions=mol.GetConformer().GetPositions())
    atoms.calc = MMFFCalculator(mol)
    thermalize_momenta(atoms, temperature_K=500, rng=np.random.default_rng(0))
    images = []
    md = VelocityVerlet(atoms, timestep=0.5 * units.fs)
    for _ in range(frames):
        images.append(atoms.copy())
        md.run(1)
    write(path, images, format="xyz")
    return path


@pytest.mark.skipif(not shipped("md17/all"), reason="no shipped md17/all checkpoint")
def test_upload_an_xyz_of_a_molecule_not_among_the_eight(page, server, shot, tmp_path):
    xyz = _glycine_xyz(tmp_path / "glycine.xyz")
    page.goto(f"{server}/upload?dataset=md17/ethanol", timeout=TIMEOUT)
    wait_ready(page)
    page.locator("[data-testid=stFileUploader] input[type=file]").set_input_files([str(xyz)])
    other = re.compile(r"is none of the eight MD17 molecules: predicted with md17/all/egno")
    expect(page.get_by_text(other)).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_text(re.compile(r"glycine\.xyz: 5 nodes, 40 frames read"))).to_be_visible(timeout=TIMEOUT)
    wait_ready(page)
    expect(page.frame_locator("iframe").first.locator("canvas").first).to_be_visible(timeout=TIMEOUT)
    with page.expect_download() as dl:
        page.get_by_role("button", name=re.compile(r"prediction\.extxyz$")).click()
    text = Path(dl.value.path()).read_text()
    assert text.startswith("5\n") and "prediction" in text.splitlines()[1]  # five heavy atoms, predicted
    shot(page, "upload_molecule")
