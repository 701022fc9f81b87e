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
    """Caffeine (none of the eight) or toluene, all atoms, frames 5 fs apart with a time each: the targets
    fall between frames, so the truth is interpolated and scored; no speed warning from its
    hydrogens."""
    from test_pages import metric_value
    from test_upload_flow import drop, open_upload
    from test_upload_page import mmff_xyz

    # caffeine goes to md17/all; while none is shipped, toluene (to its own model) takes its place
    caffeine = "egno" in shipped("md17/all")
    path = tmp_path / ("caffeine.xyz" if caffeine else "toluene.xyz")
    path.write_bytes(mmff_xyz() if caffeine else mmff_xyz(smiles="Cc1ccccc1"))
    open_upload(page, server, "md17/aspirin")
    drop(page, path)
    wait_ready(page)
    expect(page.get_by_text("interpolated linearly")).to_be_visible(timeout=TIMEOUT)
    assert float(metric_value(page, "F-MSE")) > 0
    expect(page.get_by_text("probably wrong")).to_have_count(0)


VIEW_BOX = """() => {
  const f = document.querySelector('iframe');
  const r = f.getBoundingClientRect();
  const d = f.contentDocument;
  const c = d.getElementById('egno-controls').getBoundingClientRect();
  return {controls_bottom: r.top + c.bottom, viewport: window.innerHeight};
}"""


def drawn_share(png: bytes) -> tuple[float, float]:
    """The share of an image's width and height that its non-white pixels span."""
    import io

    import numpy as np
    from PIL import Image

    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    ink = (rgb < 235).any(-1)
    cols, rows = np.flatnonzero(ink.any(0)), np.flatnonzero(ink.any(1))
    if not len(cols):
        return 0.0, 0.0
    return (cols[-1] - cols[0] + 1) / ink.shape[1], (rows[-1] - rows[0] + 1) / ink.shape[0]


@pytest.mark.parametrize("dataset", ["md17/aspirin", "md17/ethanol"])
def test_molecule_player_above_the_fold_and_the_molecule_fills_its_view(page, server, shot, dataset):
    if "egno" not in shipped(dataset):
        pytest.skip(f"no shipped {dataset} checkpoints")
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{server}/?dataset={dataset}&sample=1", timeout=TIMEOUT)
    wait_ready(page)
    frame = page.frame_locator("iframe").first
    expect(frame.locator("#egno-controls button").first).to_be_visible(timeout=TIMEOUT)
    page.locator("[data-testid=stMain]").evaluate("e => e.scrollTo(0, 0)")
    page.wait_for_timeout(1500)  # 3Dmol draws after its script runs
    box = page.evaluate(VIEW_BOX)
    assert box["controls_bottom"] <= box["viewport"], box  # play and the slider without scrolling
    width, height = drawn_share(frame.locator("#egno-view").screenshot())
    assert max(width, height) >= 0.4, (width, height)  # ethanol: 3 heavy atoms, framed over its window
    shot(page, f"layout_explore_{dataset.replace('/', '_')}_player_1400x900")


def test_equivariance_sidebar_buttons_are_whole(page, server):
    if "egno" not in shipped("nbody"):
        pytest.skip("no shipped nbody checkpoints")
    page.set_viewport_size({"width": 1100, "height": 800})
    page.goto(f"{server}/equivariance?dataset=nbody", timeout=TIMEOUT)
    wait_ready(page)
    button = page.locator("[data-testid=stSidebar] button", has_text="random rotation")
    expect(button).to_be_visible(timeout=TIMEOUT)
    cut = page.evaluate("""() => Array.from(document.querySelectorAll('[data-testid=stSidebar] button p'))
      .filter(p => p.scrollWidth > p.clientWidth + 1).map(p => p.innerText)""")
    assert not cut, cut
