"""Each family's Explore and Upload at 1100×800 and 1400×900: every metric label whole, and a
screenshot of each (tests/screenshots; copies in docs/screenshots/layout)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from test_pages import TIMEOUT, wait_ready
from test_upload_flow import load, shipped

FAMILIES = [("nbody", "particles (CSV with charges and velocities)"),
            ("md17/aspirin", "aspirin XYZ with times"),
            ("mocap/walk", "CMU walk ASF + AMC"),
            ("protein/adk", "AdK backbone PDB + DCD")]
SIZES = [(1100, 800), (1400, 900)]

# Streamlit ends a label too long for its column with an ellipsis (.stMarkdownEllipsis)
CUT_LABELS = """() => Array.from(document.querySelectorAll('[data-testid=stMetricLabel] .stMarkdownEllipsis'))
  .filter(t => t.scrollWidth > t.clientWidth + 1).map(t => t.innerText)"""


def cut_labels(page) -> list[str]:
    """Metric labels drawn shorter than their text with no way to read the rest."""
    return page.evaluate(CUT_LABELS)


@pytest.mark.parametrize("width, height", SIZES)
@pytest.mark.parametrize("dataset, example", FAMILIES, ids=[d for d, _ in FAMILIES])
def test_explore_and_upload_labels_are_whole(page, server, shot, dataset, example, width, height):
    if "egno" not in shipped(dataset):
        pytest.skip(f"no shipped {dataset} checkpoints")
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{server}/?dataset={dataset}&sample=1", timeout=TIMEOUT)
    wait_ready(page)
    expect(page.locator("iframe, div.egno-plotly").first).to_be_visible(timeout=TIMEOUT)
    assert not cut_labels(page)
    name = dataset.replace("/", "_")
    shot(page, f"layout_explore_{name}_{width}x{height}")
    page.goto(f"{server}/upload?dataset={dataset}", timeout=TIMEOUT)
    wait_ready(page)
    load(page, example)
    expect(page.locator("[data-testid=stMetric]").first).to_be_visible(timeout=TIMEOUT)
    assert not cut_labels(page)
    shot(page, f"layout_upload_{name}_{width}x{height}")


def test_a_held_back_molecule_between_its_frames_is_scored_in_the_browser(page, server, tmp_path):
    """Caffeine (none of the eight), all atoms, frames 5 fs apart with a time each: the targets
    fall between frames, so the truth is interpolated and scored; no speed warning from its
    hydrogens."""
    from test_pages import metric_value
    from test_upload_flow import drop, open_upload
    from test_upload_page import caffeine_xyz

    if "egno" not in shipped("md17/all"):
        pytest.skip("no shipped md17/all checkpoints")
    path = tmp_path / "caffeine.xyz"
    path.write_bytes(caffeine_xyz())
    open_upload(page, server, "md17/aspirin")
    drop(page, path)
    wait_ready(page)
    expect(page.get_by_text("interpolated linearly")).to_be_visible(timeout=TIMEOUT)
    assert float(metric_value(page, "F-MSE")) > 0
    expect(page.get_by_text("probably wrong")).to_have_count(0)
