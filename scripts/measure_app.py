"""Measure the app as a person meets it (run on a quiet machine; prints one JSON line at the end).

    .venv/bin/python scripts/measure_app.py [--sessions 8]

1. cold start: `./run.sh` (venv already installed) until the page has drawn its plot;
2. warm interaction: choosing another test sample until the new prediction is drawn (median of 10);
3. load: N browser sessions opened at once, each must draw its plot; the server's resident memory
   (process tree) is sampled throughout and its peak reported.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from egno.paths import ROOT

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PLOT_READY = ".egno-player .egno-time"  # the frame player appears once plotly has drawn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants (MB), from /proc."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
            todo += [int(c) for c in children]
        except OSError:
            pass
    return total / 1024


class MemorySampler(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0.0, False

    def run(self):
        while not self.stop:
            self.peak = max(self.peak, tree_rss_mb(self.pid))
            time.sleep(0.1)


def wait_plot(page, timeout=120_000):
    page.wait_for_selector(PLOT_READY, timeout=timeout)
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')",
                           timeout=timeout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=8)
    a = ap.parse_args()
    port = free_port()
    env = {**os.environ, "PORT": str(port)}
    start = time.perf_counter()
    server = subprocess.Popen([str(ROOT / "run.sh")], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    sampler = MemorySampler(server.pid)
    sampler.start()
    url = f"http://127.0.0.1:{port}/"
    result = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            while True:
                try:
                    page.goto(url, timeout=5_000)
                    break
                except Exception:  # server not listening yet
                    time.sleep(0.2)
            wait_plot(page)
            result["cold_start_to_drawn_page_s"] = round(time.perf_counter() - start, 2)

            box = page.locator("[data-testid=stNumberInput] input").first
            times = []
            for sample in range(20, 31):
                label = page.get_by_text(f"nbody test sample {sample} ·")
                t0 = time.perf_counter()
                box.fill(str(sample))
                box.press("Enter")
                label.first.wait_for(timeout=60_000)
                wait_plot(page)
                times.append(time.perf_counter() - t0)
            result["choose_sample_to_drawn_s_median"] = round(statistics.median(times[1:]), 3)
            result["choose_sample_to_drawn_s_max"] = round(max(times[1:]), 3)

            pages = [browser.new_page(viewport={"width": 1200, "height": 900})
                     for _ in range(a.sessions)]
            t0 = time.perf_counter()
            for i, p in enumerate(pages):
                p.goto(f"{url}?sample={100 + i}", wait_until="commit")
            ok = 0
            for i, p in enumerate(pages):
                wait_plot(p, timeout=180_000)
                ok += p.get_by_text(f"nbody test sample {100 + i} ·").count() > 0
            result["sessions"] = a.sessions
            result["sessions_served_correctly"] = ok
            result["all_sessions_drawn_s"] = round(time.perf_counter() - t0, 2)
            browser.close()
    finally:
        sampler.stop = True
        sampler.join()
        result["server_peak_rss_mb"] = round(sampler.peak, 1)
        os.killpg(server.pid, signal.SIGTERM)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
