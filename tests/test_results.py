"""The typed results the library hands the app: predictions, upload results and stored sweeps."""
from __future__ import annotations

import numpy as np
import pytest

from egno.data import get_dataset
from egno.run.checkpoint import shipped_models
from egno.service.results import Prediction, SweepSettings
from egno.service.sweeps import default_settings, load_sweep
from egno.uploads.result import UploadResult


def test_a_prediction_knows_its_times_and_frames():
    x = np.zeros((2, 3))
    out = Prediction(x=x, v=x, pred=np.ones((4, 2, 3)), t=np.arange(1, 5) / 4, window=2.0)
    np.testing.assert_allclose(out.times, [0.5, 1.0, 1.5, 2.0])
    assert out.frames.shape == (5, 2, 3) and out.truth is None
    assert out.with_(window=1.0).window == 1.0 and out.window == 2.0
    assert set(out.plain()) >= {"x", "pred", "t", "window", "truth", "frame_mse"}


def test_an_upload_result_comes_back_typed_from_the_workers_plain_data():
    x = np.zeros((2, 3))
    plain = {"ok": True, "dataset": "nbody", "model": "egno",
             "out": Prediction(x=x, v=x, pred=x[None], t=np.ones(1), window=1.0).plain(),
             "errors": {"egno": np.ones(1)}, "exports": {"a.csv": b"frame"}}
    result = UploadResult.from_plain(plain)
    assert isinstance(result.out, Prediction) and result.exports["a.csv"] == b"frame"
    with pytest.raises(AssertionError, match="unknown result fields"):
        UploadResult.from_plain({"ok": True, "surprise": 1})


@pytest.mark.skipif(not shipped_models("nbody"), reason="no shipped nbody checkpoints")
def test_the_shipped_sweep_loads_only_for_its_own_settings():
    family = get_dataset("nbody")
    settings = default_settings(family, shipped_models("nbody"), 2000)
    sweep = load_sweep("nbody", settings)
    assert sweep is not None and sweep.settings == settings and sweep.rows
    assert {row["P"] for row in sweep.rows} == set(settings.ps)
    assert load_sweep("nbody", SweepSettings(ps=[2], models=["egno"], n_samples=7)) is None
