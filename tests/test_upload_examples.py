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
    assert result.ok, result
    assert all(isinstance(data, bytes) and data for data in result.exports.values())
    out = result.out
    assert np.isfinite(out.x).all() and out.pred.shape[0] == result.timesteps
    if "no_times" in names[0]:  # 0.5 fs apart by default, 75 times too close: it may diverge
        assert np.isfinite(out.pred).all() or not any("_prediction." in n for n in result.exports)
    else:
        assert np.isfinite(out.pred).all() and any("_prediction." in n for n in result.exports)


@pytest.mark.skipif(not shipped_models("nbody"), reason="no shipped nbody checkpoints")
def test_the_particles_example_carries_velocities_and_scores_as_its_test_sample(tmp_path):
    """particles.csv is nbody test sample 0 with its velocities: uploaded, every model's error is the
    one Explore shows for that sample (velocities from frame differences cost accuracy)."""
    from egno.data.base import test_windows
    from egno.run.checkpoint import resolve_checkpoint
    from egno.service.inference import predict_one

    result = run_in_process("nbody", "egno", [("particles.csv", example_path("particles.csv").read_bytes())],
                            tmp_path)
    assert result.meta["velocities"] == "the file's velocities"
    sample = predict_one(resolve_checkpoint("nbody", "egno"), test_windows(get_dataset("nbody"), generate=False), 0)
    assert result.errors["egno"][-1] == pytest.approx(float(sample.frame_mse[-1]), rel=1e-3)
