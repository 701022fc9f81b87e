"""Each page used as a person would, in real Chromium. Screenshots go to tests/screenshots/."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "assets" / "samples" / "nbody" / "test_2.csv"
TIMEOUT = 90_000


def wait_ready(page):
    """Streamlit has finished the run: no 'running' status widget, the app body is drawn."""
    page.wait_for_selector("[data-testid=stApp]", timeout=TIMEOUT)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=TIMEOUT)


def metric_value(page, label: str) -> str:
    box = page.locator("[data-testid=stMetric]", has_text=label).first
    return box.locator("[data-testid=stMetricValue]").inner_text()


def current_frame(page) -> str:
    """The time label of the first view's frame player (app/player.py)."""
    return page.locator(".egno-player .egno-time").first.text_content()


def test_explore_pick_a_sample_and_play_it(page, server, shot):
    page.goto(f"{server}/?sample=4", timeout=TIMEOUT)
    wait_ready(page)
    expect(page.locator(".egno-player .egno-time").first).to_be_visible(timeout=TIMEOUT)
    assert current_frame(page).startswith("input")
    before = metric_value(page, "F-MSE")
    page.locator(".egno-player [data-act=loop]").first.uncheck()
    page.locator(".egno-player [data-act=play]").first.click()
    expect(page.locator(".egno-player").first).to_have_attribute("data-frame", "5", timeout=TIMEOUT)
    assert re.search(r"t = 1 ", current_frame(page))
    shot(page, "explore")
    box = page.locator("[data-testid=stNumberInput] input").first
    box.fill("11")
    box.press("Enter")
    value = page.locator("[data-testid=stMetric]", has_text="F-MSE").first.locator(
        "[data-testid=stMetricValue]")
    expect(value).not_to_have_text(before, timeout=TIMEOUT)
    expect(page.get_by_text("nbody test sample 11").first).to_be_visible(timeout=TIMEOUT)
    assert "sample=11" in page.url


def test_equivariance_rotate_and_read_the_deviation(page, server, shot):
    page.goto(f"{server}/equivariance", timeout=TIMEOUT)
    wait_ready(page)
    # it opens on a fixed rotation and shift: gnn's deviation shows at once, EGNO's does not
    egno = float(metric_value(page, "egno: max deviation"))
    gnn = float(metric_value(page, "gnn: max deviation"))
    assert gnn >= 100 * egno, (gnn, egno)
    expect(page.locator("div.egno-plotly .colorbar")).to_have_count(2, timeout=TIMEOUT)
    page.get_by_role("button", name="random rotation").click()
    wait_ready(page)
    thumb = page.get_by_role("slider", name="β about y")
    thumb.focus()
    for _ in range(15):
        thumb.press("ArrowRight")
    wait_ready(page)
    page.wait_for_timeout(500)
    wait_ready(page)
    egno = float(metric_value(page, "egno: max deviation"))
    gnn = float(metric_value(page, "gnn: max deviation"))
    assert egno < 1e-4, egno
    assert gnn > 1e-2, gnn
    shot(page, "equivariance")


def test_resolution_run_a_sweep_and_see_the_plot(page, server, shot):
    page.goto(f"{server}/resolution", timeout=TIMEOUT)
    wait_ready(page)  # the shipped default sweep is drawn without pressing anything
    page.wait_for_selector("div.egno-plotly .xtick", timeout=TIMEOUT)
    wait_ready(page)
    expect(page.get_by_text("F-MSE (final frame) versus P").first).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_text("trained P = 5").first).to_be_visible()
    with page.expect_download() as dl:
        page.get_by_role("button", name="download CSV").click()
    df = pd.read_csv(dl.value.path())
    assert {"model", "P", "f_mse", "a_mse"} <= set(df.columns) and 50 in set(df["P"])
    egno = df[df["model"] == "egno"]
    assert np.isfinite(egno["f_mse"]).all()
    shot(page, "resolution")


def test_upload_valid_then_broken_file_then_use_another_page(page, server, shot):
    page.goto(f"{server}/upload", timeout=TIMEOUT)
    wait_ready(page)
    uploader = page.locator("[data-testid=stFileUploader] input[type=file]")
    uploader.set_input_files(str(SAMPLE))
    expect(page.get_by_text("test_2.csv: 5 nodes, 11 frames read")).to_be_visible(timeout=TIMEOUT)
    wait_ready(page)
    assert float(metric_value(page, "F-MSE")) >= 0
    with page.expect_download() as dl:
        page.get_by_role("button", name=re.compile(r"prediction\.csv$")).click()
    pred = pd.read_csv(dl.value.path(), comment="#")  # the first line says it holds a prediction
    assert list(pred.columns) == ["frame", "time", "particle", "x", "y", "z", "charge"]
    assert len(pred) == 6 * 5  # the input frame and P = 5 predicted frames of 5 particles
    shot(page, "upload")

    broken = Path(page.context.browser.version and "/tmp") / "broken_upload.csv"
    broken.write_text("frame,particle,x,y,z,charge\n0,0,1,2,nan,1\n0,1,0,0,0,-1\n")
    uploader.set_input_files(str(broken))
    expect(page.get_by_text(re.compile("Could not use this file.*NaN"))).to_be_visible(timeout=TIMEOUT)
    shot(page, "upload_error")

    page.get_by_role("link", name="Explore").click()
    wait_ready(page)
    expect(page.locator("div.egno-plotly").first).to_be_visible(timeout=TIMEOUT)
    assert metric_value(page, "F-MSE")


def test_choices_carry_across_pages(page, server):
    """A page switch clears the URL and the widgets' state in the browser: the dataset, model and
    Explore's sample must still carry over (kept in the session)."""
    page.goto(f"{server}/?model=gnn&sample=9", timeout=TIMEOUT)
    wait_ready(page)
    model_box = page.get_by_role("combobox", name="model")
    expect(model_box).to_have_value("gnn", timeout=TIMEOUT)
    page.locator("[data-testid=stSidebarNavLink]", has_text="Equivariance").click()
    expect(page.get_by_text("Equivariance, live")).to_be_visible(timeout=TIMEOUT)
    wait_ready(page)
    expect(model_box).to_have_value("gnn", timeout=TIMEOUT)
    # Explore's sample is the one checked on Equivariance
    sample = page.locator("[data-testid=stSidebar] [data-testid=stNumberInput] input").first
    expect(sample).to_have_value("9", timeout=TIMEOUT)
    page.locator("[data-testid=stSidebarNavLink]", has_text="Explore").click()
    expect(page.get_by_text("Explore predictions")).to_be_visible(timeout=TIMEOUT)
    wait_ready(page)
    expect(page.locator("[data-testid=stNumberInput] input").first).to_have_value("9", timeout=TIMEOUT)
    expect(model_box).to_have_value("gnn", timeout=TIMEOUT)
