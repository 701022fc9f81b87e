"""Every example file the Upload page offers loads and predicts (in-process, one worker job each)."""
from __future__ import annotations


import numpy as np
import pytest

from egno.data import get_dataset
from egno.run.checkpoint import shipped_models
from egno.service.examples import COMMITTED, MADE, example_path
from egno.uploads.worker import run_in_process

DATASETS = ("nbody", "md17/aspirin", "mocap/walk", "protein/adk")  # one of each family
SETS = [(d, list(names)) for d in DATASETS for _, names, _ in get_dataset(d).upload_examples]


def test_every_example_file_is_offered():
    offered = {n for _, names in SETS for n in names}
    assert offered == {p.name for p in COMMITTED.iterdir() if p.is_file()} | set(MADE)
    assert not any((COMMITTED / name).exists() for name in MADE)  # third-party data stays uncommitted


@pytest.mark.parametrize("dataset, names", SETS, ids=["+".join(n) for _, n in SETS])
def test_example_loads_and_predicts(dataset, names, tmp_path):
    if not shipped_models(dataset):
        pytest.skip(f"no shipped {dataset} checkpoints")
    result = run_in_process(dataset, "egno", [(n, example_path(n).read_bytes()) for n in names], tmp_path)
    assert result.ok and result.exports, result
    assert all(isinstance(data, bytes) and data for data in result.exports.values())
    out = result.out
    assert np.isfinite(out.x).all() and out.pred.shape[0] == result.timesteps
    if "no_times" not in names[0]:  # 0.5 fs apart by default: that one may diverge (the page warns)
        assert np.isfinite(out.pred).all()
