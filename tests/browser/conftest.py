"""Real-browser tests: one Streamlit server per session, Debian's Chromium driven by Playwright."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "tests" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

if not Path(CHROMIUM).exists():
    pytest.skip("Debian chromium is not installed (./test.sh installs it as root)",
                allow_module_level=True)


def pytest_collection_modifyitems(items):
    """Every browser test is slow: ./test.sh --all runs them."""
    for item in items:
        if "browser" in item.path.parts:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def browser_type_launch_args():
    return {"executable_path": CHROMIUM, "args": ARGS}


@pytest.fixture(scope="session")
def browser_context_args():
    return {"viewport": {"width": 1400, "height": 1500}, "accept_downloads": True}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The app on a free port, with the seeded test split generated into a temp data dir."""
    from egno import get_dataset

    data = tmp_path_factory.mktemp("browser_data")
    get_dataset("nbody", data / "nbody").generate(progress=False, splits=("test",))
    port = _free_port()
    env = {**os.environ, "EGNO_DATA": str(data), "PYTHONPATH": str(ROOT)}
    log = open(tmp_path_factory.mktemp("server") / "streamlit.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app" / "main.py"),
         "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
         "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError("streamlit did not become healthy within 60 s")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture()
def shot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        # plots are drawn by plotly.js after the script run ends (app/plotview.py): wait for them
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('div.egno-plotly'))"
            ".every(d => d.classList.contains('js-plotly-plot') && !d.__drawing)", timeout=60_000)
        page.locator("[data-testid=stMain]").evaluate("e => e.scrollTo(0, 0)")
        page.wait_for_timeout(300)
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture(autouse=True)
def nothing_fetched_from_outside(page):
    """The app works offline: every request a page makes stays on the local server (no CDN,
    no web font, no icon service)."""
    outside = []
    page.on("request", lambda r: outside.append(r.url) if r.url.split(":", 1)[0] in ("http", "https")
            and not r.url.startswith(("http://127.0.0.1", "http://localhost")) else None)
    yield
    assert not outside, f"requests left the machine: {sorted(set(outside))[:5]}"
