"""Shared fixtures: a tiny N-body dataset generated once per test session."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_nbody(tmp_path_factory) -> Path:
    """nbody with 60/20/20 trajectories (the real simulator, fewer systems)."""
    from egno.data import get_dataset

    out = tmp_path_factory.mktemp("data") / "nbody"
    get_dataset("nbody", out).generate(progress=False, seed=7, sizes={"train": 60, "val": 20, "test": 20})
    return out


@pytest.fixture()
def env_with_data(tiny_nbody):
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
