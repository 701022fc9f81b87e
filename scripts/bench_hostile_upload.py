"""Hostile uploads, measured (issue 18): `python scripts/bench_hostile_upload.py [--switches N]`.

1. Each crafted file class through the upload worker (egno.uploads.worker.run_upload, what the Upload
   page calls): seconds to its message and the worker's peak memory.
2. A real server and Chromium: one browser session uploads hostile and heavy protein files on the
   Upload page over and over, while another session switches samples on Explore; prints that
   session's switch latency and the peak memory of the server and of its upload workers.
Needs Playwright and /usr/bin/chromium (tests/browser/conftest.py starts the server the same way).
"""
from __future__ import annotations

import argparse
import gzip
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def grid_pdb(n: int = 5000, spacing: float = 5.0) -> bytes:
    """A legitimate but large backbone: n atoms on a cubic grid (about 160,000 edges at 5 Å)."""
    from test_uploads_hostile import pdb_model

    side = int(np.ceil(n ** (1 / 3)))
    lines = []
    for model in (1, 2):
        lines.append(f"MODEL     {model:4d}")
        for k, line in enumerate(pdb_model(n)):
            x, y, z = (np.array([k % side, k // side % side, k // side**2]) * spacing)
            lines.append(f"{line[:30]}{x:8.3f}{y:8.3f}{z:8.3f}{line[54:]}")
        lines.append("ENDMDL")
    return ("\n".join(lines) + "\nEND\n").encode()


def hostile_files(tmp: Path) -> list[tuple[str, str, list[tuple[str, bytes]]]]:
    """(class, dataset, files) for every class of the issue."""
    import test_uploads_hostile as t
    from MDAnalysisTests.datafiles import DCD2

    bomb = tmp / "bomb.npz"
    t.zip_bomb(bomb, 300)
    rng = np.random.default_rng(0)
    chain = (np.arange(500)[:, None] * np.array([1.4, 0.0, 0.0]))[None] + 0.01 * rng.standard_normal((6000, 1, 3))
    channels = " ".join(["Xrotation"] * 100_000)
    dcd = Path(DCD2).read_bytes()
    pile = "\n".join(["MODEL        1", *t.pdb_model(5000), "ENDMDL", "MODEL        2",
                      *t.pdb_model(5000), "ENDMDL", "END"]) + "\n"
    pdb_text = b"ATOM      1  N   ALA A   1       0.000   0.000   0.000  1.00  0.00           N\n" * 1_000_000
    return [
        ("XYZ of 40 bytes declaring 1e14 atoms", "md17/aspirin", [("tiny.xyz", b"100000000000000\ncomment\nC 0 0 0\n")]),
        ("ASF chain of 5,000 bones", "mocap/walk", [("chain.asf", t.asf(5000)), ("chain.amc", t.amc(40))]),
        ("AMC of 10,000 empty frames", "mocap/walk", [("s.asf", t.asf(3)), ("s.amc", t.amc(10_000, empty=True))]),
        ("npz of 6,000 frames × 500 atoms", "md17/aspirin", [("chain.npz", t.npz(R=chain.astype(np.float16), z=np.full(500, 6)))]),
        ("zip-bomb npz (300 MB of zeros)", "md17/aspirin", [("bomb.npz", bomb.read_bytes())]),
        ("BVH Frame Time: 100000", "mocap/walk", [("slow.bvh", (t.BVH_HEAD + "MOTION\nFrames: 2\nFrame Time: 100000\n"
                                                             + "0 0 0 0 0 0 0 0 0\n" * 2).encode())]),
        ("BVH joint with 100,000 channels", "mocap/walk", [("wide.bvh", f"HIERARCHY\nROOT Hips\n{{\n  OFFSET 0 0 0\n  CHANNELS 100000 {channels}\n}}\n".encode())]),
        ("PSF declaring 2e7 atoms", "protein/adk", [("big.psf", b"PSF\n\n20000000 !NATOM\n" + b"x\n" * 3), ("adk.dcd", dcd)]),
        ("GRO declaring 2e7 atoms", "protein/adk", [("big.gro", b"t\n20000000\n    1ALA      N    1   0.0   0.0   0.0\n 1 1 1\n"), ("adk.dcd", dcd)]),
        ("gzip saved as .pdb (80 MB of text)", "protein/adk", [("small.pdb", gzip.compress(pdb_text))]),
        ("5,000 backbone atoms at one point", "protein/adk", [("pile.pdb", pile.encode())]),
        ("5,000 backbone atoms on a 5 Å grid (legitimate, large)", "protein/adk", [("grid.pdb", grid_pdb())]),
        ("CSV with only its header", "nbody", [("head.csv", b"frame,particle,x,y,z,charge\n")]),
        ("npz with zero frames", "nbody", [("none.npz", t.npz(loc=np.zeros((0, 5, 3)), charges=np.ones(5), vel=np.zeros((0, 5, 3))))]),
        ("npz with empty charges", "nbody", [("q.npz", t.npz(loc=np.zeros((3, 5, 3)), charges=np.ones((0, 5))))]),
        ("ASF bone with a short axis line", "mocap/walk", [("s.asf", t.asf(3, axis="0 0")), ("s.amc", t.amc(40))]),
        ("ASF bone of length inf", "mocap/walk", [("s.asf", t.asf(3, length="inf")), ("s.amc", t.amc(40))]),
    ]


def per_class(cases) -> None:
    from egno.uploads.worker import run_upload

    print("| file | seconds | worker peak (MB) | outcome |\n|---|---:|---:|---|")
    for what, dataset, files in cases:
        r = run_upload(dataset, "egno", files)
        outcome = "predicted" if r.ok else r.message
        print(f"| {what} | {r['seconds']:.1f} | {r['peak_mb']:.0f} | {outcome[:110]} |", flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _workers() -> list[int]:
    """Process ids of running upload workers (egno.uploads.worker._BOOT)."""
    out = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and b"egno.uploads.worker import work" in (proc / "cmdline").read_bytes():
                out.append(int(proc.name))
        except OSError:
            pass
    return out


def browser_run(cases, switches: int) -> None:
    from playwright.sync_api import sync_playwright

    from egno import get_dataset

    data = Path(tempfile.mkdtemp(prefix="bench_hostile_"))
    get_dataset("nbody", data / "nbody").generate(progress=False, splits=("test",))
    port = _free_port()
    env = {**os.environ, "EGNO_DATA": str(data), "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app" / "main.py"), "--server.address",
         "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
         "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
            break
        except OSError:
            time.sleep(0.3)
    worker_peak, seen, stop = [0], set(), threading.Event()

    def watch():
        while not stop.is_set():
            for p in _workers():
                seen.add(p)
                worker_peak[0] = max(worker_peak[0], _rss_kb(p, "VmHWM"))
            time.sleep(0.05)

    threading.Thread(target=watch, daemon=True).start()
    protein = [(name, data) for _, d, files in cases if d == "protein/adk" for name, data in files
               if name.endswith(".pdb")]
    upload_dir = data / "uploads"
    upload_dir.mkdir()
    paths = []
    for name, content in protein:
        (upload_dir / name).write_bytes(content)
        paths.append(upload_dir / name)
    uploads, latencies = [0], []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            explorer = browser.new_context(viewport={"width": 1400, "height": 1500}).new_page()
            uploader = browser.new_context(viewport={"width": 1400, "height": 1500}).new_page()
            explorer.goto(f"{url}/?dataset=nbody", timeout=120_000)
            explorer.locator(".gtitle", has_text="test sample 0 ·").first.wait_for(timeout=120_000)
            uploader.goto(f"{url}/upload?dataset=protein/adk", timeout=120_000)
            uploader.locator("[data-testid=stFileUploader]").wait_for(timeout=120_000)

            # the uploading session is driven between the explorer's switches (Playwright's sync
            # API is single-threaded): each upload is started, then the explorer switches while
            # the server's worker reads and predicts it
            box = explorer.get_by_label("test sample")
            for k in range(1, switches + 1):
                uploader.locator("[data-testid=stFileUploader] input[type=file]").set_input_files(
                    str(paths[k % len(paths)]))
                uploads[0] += 1
                spinner = uploader.locator("[data-testid=stSpinner]")
                try:  # the upload reached the server and its worker runs
                    spinner.wait_for(timeout=5_000)
                except Exception:
                    pass
                start = time.time()
                box.fill(str(k))
                box.press("Enter")
                explorer.locator(".gtitle", has_text=f"test sample {k} ·").first.wait_for(timeout=60_000)
                latencies.append(time.time() - start)
                spinner.wait_for(state="detached", timeout=60_000)
            browser.close()
    finally:
        stop.set()
        server_peak = _rss_kb(server.pid, "VmHWM")
        server.terminate()
        server.wait(timeout=20)
    lat = np.array(latencies)
    print(f"\n{len(lat)} sample switches on Explore while {uploads[0]} protein uploads "
          f"({', '.join(p.name for p in paths)}) were read in the other session:")
    print(f"  switch latency: median {np.median(lat):.2f} s, max {lat.max():.2f} s")
    print(f"  server peak RSS: {server_peak / 1024:.0f} MB; upload worker peak RSS: {worker_peak[0] / 1024:.0f} MB "
          f"({len(seen)} workers seen)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--switches", type=int, default=12)
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--skip-classes", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cases = hostile_files(Path(tmp))
        if not args.skip_classes:
            per_class(cases)
        if not args.skip_browser:
            browser_run(cases, args.switches)


if __name__ == "__main__":
    main()
