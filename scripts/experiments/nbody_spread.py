"""How far apart the N-body particles are: percentiles of the pair distances in the training
inputs (frames 26-34) and on the long-horizon test truth at the start and after 5, 10 and 20
windows (docs/results/long_horizon.md, training from later true states).

    python scripts/experiments/nbody_spread.py
"""
from __future__ import annotations

import numpy as np

from egno.data import get_dataset
from egno.data.long import long_windows

PERCENTILES = (1, 50, 99, 100)


def pair_distances(loc: np.ndarray) -> np.ndarray:
    """(..., N, 3) -> (..., N(N-1)/2)."""
    i, j = np.triu_indices(loc.shape[-2], 1)
    return np.linalg.norm(loc[..., i, :] - loc[..., j, :], axis=-1)


def main() -> None:
    family = get_dataset("nbody")
    long_windows(family, 1, 5)  # simulates the long test file when missing
    with np.load(family.data_dir / "train.npz", allow_pickle=False) as f:
        train = pair_distances(f["loc"][:, 26:35])
    with np.load(family.data_dir / "long_test.npz", allow_pickle=False) as f:
        test = pair_distances(f["loc"])  # frame 30 (the input) first, 10 frames per window
    print("pair distance percentiles", PERCENTILES)
    print(f"training inputs (frames 26-34): {np.percentile(train, PERCENTILES).round(2)}")
    for k in (0, 5, 10, 20):
        print(f"long-horizon test truth, window {k:2d}: {np.percentile(test[:, 10 * k], PERCENTILES).round(2)}")


if __name__ == "__main__":
    main()
