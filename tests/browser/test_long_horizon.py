"""Long horizon in Chromium on N-body: which EGNO it chains, the divergence rule, no number past a
divergence, the check panels in words. Screenshot: tests/screenshots/long_horizon_nbody.png."""
from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from test_pages import TIMEOUT, wait_ready
from test_upload_flow import shipped

FLAG = Path(__file__).resolve().parents[2] / "assets/checkpoints/nbody/ensemble/egno-flag.json"


def test_long_horizon_says_what_it_chains_and_when_a_rollout_diverged(page, server, shot):
    if "egno" not in shipped("nbody"):
        return
    page.goto(f"{server}/long_horizon?dataset=nbody", timeout=TIMEOUT)
    wait_ready(page)
    expect(page.get_by_text("A rollout counts as diverged").first).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_text("momentum drift (relative)").first).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_text("energy_drift")).to_have_count(0)  # titles in words
    text = page.locator("[data-testid=stMain]").inner_text()
    assert not re.search(r"\b\d(\.\d+)?e\+?[1-9]\d\b", text), "a number past 1e10 on the page"
    shot(page, "long_horizon_nbody")


def test_long_horizon_flags_where_the_ensemble_parts(page, server, shot):
    """With the N-body ensemble's flag shipped, the page says from which window the sample is no
    longer predictable (or that it stays predictable), with the rule, and draws the spread."""
    if not FLAG.exists():
        return
    page.goto(f"{server}/long_horizon?dataset=nbody", timeout=TIMEOUT)
    wait_ready(page)
    expect(page.get_by_text(re.compile(r"No longer predictable from window \d+|Predictable for all")).first
           ).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_text("flagged more than 3 windows before").first).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_text("ensemble spread² (members apart)").first).to_be_visible(timeout=TIMEOUT)
    shot(page, "uncertainty_long_horizon_flag")
