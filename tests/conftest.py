"""Shared fixtures: a tiny N-body dataset generated once per test session."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
torch.set_num_threads(1)


def _patient_wait(runner, timeout: float = 3) -> None:
    """streamlit.testing's wait for a script run, polling every 20 ms instead of every 1 ms: its
    near-busy loop starves the niced upload worker when two test processes share two cores."""
    import time

    t0 = time.time()
    while time.time() - t0 < timeout:
        time.sleep(0.02)
        if runner.script_stopped():
            return
    runner.request_stop()
    runner.join()
    raise RuntimeError(f"AppTest script run timed out after {timeout}(s)")


def _patch_apptest() -> None:
    try:
        from streamlit.testing.v1 import local_script_runner
    except ImportError:
        return
    local_script_runner.require_widgets_deltas = _patient_wait


_patch_apptest()


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
