"""What a sample switch costs on Explore with the ensemble's alternative futures on: the shipped
model's prediction and every member's, for 20 test samples of a dataset with a shipped ensemble,
one torch thread (as the app runs). Pause other jobs while timing.

    .venv/bin/python scripts/experiments/ensemble_latency.py mocap/walk
"""
from __future__ import annotations

import sys
import time

import numpy as np
import torch

from egno import get_dataset
from egno.run.checkpoint import ensemble_paths, load_checkpoint
from egno.service.inference import predict_one, test_windows, with_members


def main(dataset: str) -> None:
    torch.set_num_threads(1)
    w = test_windows(get_dataset(dataset), generate=True)
    members = [load_checkpoint(p) for p in ensemble_paths(dataset)]
    if not members:
        sys.exit(f"no ensemble is shipped for {dataset}")
    with_members(predict_one(members[0], w, 0), members, w, 0)  # warm-up
    seconds = []
    for i in range(1, 21):
        began = time.perf_counter()
        with_members(predict_one(members[0], w, i), members, w, i)
        seconds.append(time.perf_counter() - began)
    print(f"{dataset}: prediction + {len(members)} members per sample: median "
          f"{np.median(seconds) * 1000:.0f} ms, max {max(seconds) * 1000:.0f} ms over 20 samples")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "mocap/walk")
