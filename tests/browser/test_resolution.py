"""The Resolution sweep's cancel in real Chromium: a click during the run stops it (a script run cannot
be interrupted from streamlit.testing)."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from test_pages import TIMEOUT, wait_ready

# a sweep of minutes on CPU (2000 samples, P up to 100), from a link
LONG = "resolution?P=2&P=10&P=50&P=100&models=egno&models=linear&n_samples=2000"


def test_cancel_stops_the_sweep_early_and_the_page_works_on(page, server):
    page.goto(f"{server}/{LONG}", timeout=TIMEOUT)
    wait_ready(page)
    page.get_by_role("button", name="run sweep").click()
    expect(page.get_by_text(re.compile(r"evaluated \d+/\d+ sample predictions · about \d+ s left"))
           ).to_be_visible(timeout=TIMEOUT)
    page.get_by_role("button", name="cancel").click()
    note = page.get_by_text(re.compile(r"Sweep cancelled after \d+ of \d+ sample predictions"))
    expect(note).to_be_visible(timeout=TIMEOUT)
    done, total = map(int, re.search(r"after (\d+) of (\d+)", note.inner_text()).groups())
    assert 0 < done < total == 4 * 2 * 2000, (done, total)
    wait_ready(page)
    expect(page.get_by_role("button", name="download CSV")).to_have_count(0)  # no result kept
    expect(page.get_by_role("button", name="cancel")).to_have_count(0)

    # the page works on: a small sweep runs to its table
    page.get_by_role("combobox", name="test samples").click()
    page.get_by_role("option", name="20", exact=True).click()
    wait_ready(page)
    assert "n_samples=20" in page.url
    page.get_by_role("button", name="run sweep").click()
    expect(page.get_by_role("button", name="download CSV")).to_be_visible(timeout=TIMEOUT)
    expect(note).to_have_count(0)
