"""The frame player (app/player.py) on a plotly and on a 3Dmol view, colour bars, and views that
fit their column at 1100 px."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from test_families import needs_adk
from test_pages import TIMEOUT, wait_ready


def frame_of(bar) -> int:
    return int(bar.get_attribute("data-frame"))


def step_and_play(bar) -> None:
    """Step forward and back change the shown frame by one; at 4× the player runs on."""
    expect(bar).to_have_attribute("data-frame", "0", timeout=TIMEOUT)
    bar.locator("[data-act=fwd]").click()
    expect(bar).to_have_attribute("data-frame", "1", timeout=TIMEOUT)
    bar.locator("[data-act=fwd]").click()
    expect(bar).to_have_attribute("data-frame", "2", timeout=TIMEOUT)
    bar.locator("[data-act=back]").click()
    expect(bar).to_have_attribute("data-frame", "1", timeout=TIMEOUT)
    bar.locator("[data-act=speed]").select_option("4")
    bar.locator("[data-act=loop]").uncheck()
    bar.locator("[data-act=play]").click()
    # without loop the player stops on the last frame
    expect(bar).to_have_attribute("data-playing", "0", timeout=TIMEOUT)
    last = int(bar.locator("[data-act=slider]").get_attribute("max"))
    assert frame_of(bar) == last
    assert "t = " in bar.locator(".egno-time").inner_text()


def test_plotly_player_steps_and_plays(page, server):
    page.goto(f"{server}/?sample=4", timeout=TIMEOUT)
    wait_ready(page)
    plot = page.locator("div.egno-plotly").first
    expect(plot.locator(".main-svg").first).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_role("button", name="Deploy")).to_have_count(0)  # toolbarMode = "minimal"
    bar = page.locator(".egno-player").first
    step_and_play(bar)
    # the shown frame is marked on the error chart: the dotted line sits at the last time
    x = page.evaluate("() => { const d = document.querySelector('div.egno-plotly');"
                      " const t = d.data.find(t => t.name === 'shown frame'); return t.x[0]; }")
    assert x > 0
    expect(plot.locator(".colorbar").first).to_be_visible()


@needs_adk
def test_3dmol_player_steps_plays_and_marks_the_error_chart(page, server):
    page.goto(f"{server}/?dataset=protein/adk&sample=5", timeout=TIMEOUT)
    wait_ready(page)
    frame = page.frame_locator("iframe").first
    expect(frame.locator("canvas").first).to_be_visible(timeout=TIMEOUT)
    expect(frame.locator("[data-testid=egno-colourbar]")).to_contain_text("Å²")
    step_and_play(frame.locator(".egno-player"))
    page.wait_for_function(
        "() => { const d = document.querySelector('div.egno-plotly');"
        " const t = d && d.data && d.data.find(t => t.name === 'shown frame');"
        " return t && t.x[0] > 0; }", timeout=TIMEOUT)


@pytest.mark.parametrize("path", [
    "?sample=4",
    pytest.param("?dataset=protein/adk&sample=5", marks=needs_adk),
    pytest.param("equivariance?dataset=protein/adk", marks=needs_adk),
    pytest.param("resolution?dataset=protein/adk", marks=needs_adk)])
def test_no_view_is_cut_at_1100_px(page, server, path, shot):
    page.set_viewport_size({"width": 1100, "height": 1400})
    page.goto(f"{server}/{path}", timeout=TIMEOUT)
    wait_ready(page)
    expect(page.locator("iframe, div.egno-plotly").first).to_be_visible(timeout=TIMEOUT)
    page.wait_for_timeout(1500)
    cut = page.evaluate("""() => {
      const out = [];
      for (const f of document.querySelectorAll('iframe')) {
        const c = f.contentDocument && f.contentDocument.querySelector('canvas');
        if (c && c.getBoundingClientRect().width > f.getBoundingClientRect().width + 1)
          out.push('canvas ' + c.getBoundingClientRect().width + ' > ' + f.getBoundingClientRect().width);
      }
      for (const d of document.querySelectorAll('div.egno-plotly')) {
        const svg = d.querySelector('.main-svg');
        if (svg && svg.getBoundingClientRect().width > d.parentElement.getBoundingClientRect().width + 1)
          out.push('plot ' + svg.getBoundingClientRect().width);
      }
      return out; }""")
    assert not cut, cut
    if path == "?sample=4":
        shot(page, "explore_1100")


def test_superposition_toggle_changes_the_rmsd(page, server):
    page.goto(f"{server}/?sample=2", timeout=TIMEOUT)
    wait_ready(page)
    value = page.locator("[data-testid=stMetric]", has_text="RMSD as drawn").locator(
        "[data-testid=stMetricValue]")
    expect(value).to_be_visible(timeout=TIMEOUT)
    text = value.inner_text()
    page.get_by_text("superpose on the truth").click()
    expect(value).not_to_have_text(text, timeout=TIMEOUT)
    wait_ready(page)
    assert float(value.inner_text()) < float(text)
    assert "superpose=1" in page.url


def test_gif_download_is_rendered_on_the_server(page, server, tmp_path):
    from PIL import Image

    page.goto(f"{server}/?sample=1", timeout=TIMEOUT)
    wait_ready(page)
    with page.expect_download(timeout=TIMEOUT) as dl:
        page.get_by_role("button", name="animation (GIF)").click()
    path = tmp_path / "a.gif"
    dl.value.save_as(path)
    assert Image.open(path).n_frames == 6


def test_three_downloads_in_a_row_all_arrive_five_times(page, server, tmp_path):
    """A download button starts no rerun, so clicking the next one at once still gets its file (the
    animation's is made on the server when clicked)."""
    page.goto(f"{server}/?dataset=md17/aspirin&sample=3", timeout=TIMEOUT)
    wait_ready(page)
    for round_ in range(5):
        for name, suffix in (("extended XYZ", ".extxyz"), ("npz", ".npz"), ("animation (GIF)", ".gif")):
            with page.expect_download(timeout=TIMEOUT) as dl:
                page.get_by_role("button", name=name, exact=True).click()
            path = tmp_path / f"{round_}{suffix}"
            dl.value.save_as(path)
            assert path.stat().st_size > 100, (round_, name)
