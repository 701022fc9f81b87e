"""Every example file the Upload page offers loads and predicts (in-process, one worker job each)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from app.upload_state import EXAMPLE_SETS
from egno.checkpoint import shipped_models
from egno.examples import COMMITTED, MADE, example_path
from egno.uploads import _predict

DATASET = {"points": "nbody", "molecule": "md17/aspirin", "skeleton": "mocap/walk", "protein": "protein/adk"}
SETS = [(view, names) for view, sets in EXAMPLE_SETS.items() for _, names, _ in sets]


def test_every_example_file_is_offered():
    offered = {n for _, names in SETS for n in names}
    assert offered == {p.name for p in COMMITTED.iterdir() if p.is_file()} | set(MADE)
    assert not any((COMMITTED / name).exists() for name in MADE)  # third-party data stays uncommitted


@pytest.mark.parametrize("view, names", SETS, ids=["+".join(n) for _, n in SETS])
def test_example_loads_and_predicts(view, names, tmp_path):
    dataset = DATASET[view]
    if not shipped_models(dataset):
        pytest.skip(f"no shipped {dataset} checkpoints")
    for i, name in enumerate(names):
        (tmp_path / f"file{i}").write_bytes(example_path(name).read_bytes())
    req = {"dataset": dataset, "model": "egno", "names": names, "timesteps": None, "device": "cpu",
           "mode": "predict", "options": {}, "memory_mb": 0}
    result = _predict(req, tmp_path)
    assert result["ok"] and result["exports"], result
    json.dumps(result)  # plain data only, as the worker writes it
    with np.load(tmp_path / "result.npz", allow_pickle=False) as f:
        assert np.isfinite(f["x"]).all() and f["pred"].shape[0] == result["timesteps"]
        if "no_times" not in names[0]:  # 0.5 fs apart by default: that one may diverge (the page warns)
            assert np.isfinite(f["pred"]).all()
