"""Worker time of every example upload the Upload page offers (egno.uploads.worker.run_upload, the
whole job: start, read, every shipped model, exports), with ``--busy`` other processes keeping the
cores busy as other users would.

    .venv/bin/python scripts/bench_example_uploads.py --busy 2
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import time


def _spin(stop_at: float) -> None:
    import numpy as np

    a = np.random.default_rng(0).normal(size=(300, 300))
    while time.time() < stop_at:
        a = np.tanh(a @ a.T / 300)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--busy", type=int, default=2, help="busy processes beside the uploads (default 2)")
    a = ap.parse_args()
    from egno.data import get_dataset
    from egno.service.examples import example_path
    from egno.uploads.worker import run_upload

    spinners = [mp.get_context("spawn").Process(target=_spin, args=(time.time() + 900,)) for _ in range(a.busy)]
    for p in spinners:
        p.start()
    try:
        print("| dataset | example | worker time (s) | peak (MB) | ok |")
        print("|---|---|---|---|---|")
        for dataset in ("nbody", "md17/aspirin", "mocap/walk", "protein/adk"):
            for label, names, _ in get_dataset(dataset).upload_examples:
                r = run_upload(dataset, "egno", [(n, example_path(n).read_bytes()) for n in names])
                print(f"| {dataset} | {' + '.join(names)} | {r.seconds:.1f} | {r.peak_mb:.0f} | "
                      f"{'yes' if r.ok else r.message[:60]} |", flush=True)
    finally:
        for p in spinners:
            p.terminate()


if __name__ == "__main__":
    main()
