"""The uncertainty views in Chromium: the predicted error range on Explore's chart, the toggle
that colours nodes by predicted uncertainty, and Upload's expected error for a file with no future
frames. Screenshots go to tests/screenshots/ (copies in docs/screenshots/)."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from test_pages import TIMEOUT, wait_ready
from test_upload_flow import drop, open_upload

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not (ROOT / "assets/checkpoints/nbody/uncertainty/egno.pt").exists(),
                                reason="no shipped nbody variance head")


def test_explore_toggles_colours_between_error_and_predicted_uncertainty(page, server, shot):
    page.goto(f"{server}/?dataset=nbody&sample=3", timeout=TIMEOUT)
    wait_ready(page)
    expect(page.get_by_text("egno: predicted 90 % range").first).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_text("squared error (").first).to_be_visible(timeout=TIMEOUT)
    shot(page, "uncertainty_explore_error")
    page.get_by_text("colour by predicted uncertainty").click()
    wait_ready(page)
    expect(page.get_by_text("predicted σ²").first).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_text("squared error (")).to_have_count(0)
    shot(page, "uncertainty_explore_spread")


def test_upload_without_future_frames_still_says_how_large_an_error_to_expect(page, server, tmp_path, shot):
    lines = (ROOT / "assets/samples/examples/particles.csv").read_text().splitlines()
    frame = lines[0].split(",").index("frame") if "frame" in lines[0] else None
    rows = [lines[0]] + [ln for ln in lines[1:] if frame is None or ln.split(",")[frame] == "0"]
    path = tmp_path / "one_frame.csv"
    path.write_text("\n".join(rows) + "\n")
    open_upload(page, server, "nbody")
    drop(page, path)
    wait_ready(page)
    expect(page.get_by_text("expects an RMSE of").first).to_be_visible(timeout=TIMEOUT)
    shot(page, "uncertainty_upload_no_future_frames")


@pytest.mark.skipif(not (ROOT / "assets/checkpoints/mocap/walk/ensemble/egno.json").exists(),
                    reason="no shipped mocap/walk ensemble")
def test_explore_draws_an_ensembles_alternative_futures(page, server, shot):
    page.goto(f"{server}/?dataset=mocap/walk&sample=3", timeout=TIMEOUT)
    wait_ready(page)
    expect(page.get_by_text("other ensemble members")).to_have_count(0)
    page.get_by_text("alternative futures (5 ensemble members)").click()
    wait_ready(page)
    expect(page.get_by_text("other ensemble members").first).to_be_visible(timeout=TIMEOUT)
    shot(page, "uncertainty_explore_alternative_futures")
