"""The app's library calls on predictions that cannot be trusted: no-motion references,
diverged rows in a resolution sweep, and the warning an upload gets."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from torch import nn

from egno import get_dataset
from egno.run.checkpoint import LoadedModel
from egno.nn.config import preset
from egno.service.inference import (DIVERGED_FACTOR, diverged, predict_one, prediction_warning,
                          resolution_sweep)
from egno.service.inference import test_windows as committed_windows


class Moves(nn.Module):
    """Every node at its input position plus ``offset`` at every target time (NaN allowed)."""

    def __init__(self, offset: float):
        super().__init__()
        self.offset = offset

    def forward(self, batch, t=None):
        t = batch.t if t is None else t
        return batch.x.expand(t.shape[0], -1, -1) + self.offset


def loaded(offset: float) -> LoadedModel:
    return LoadedModel(Moves(offset), preset("nbody", "linear")[0], {}, Path("none"))


@pytest.fixture(scope="module")
def windows():
    return committed_windows(get_dataset("nbody"), generate=False)  # the committed samples


def test_no_motion_is_the_reference_and_is_not_diverged(windows):
    out = predict_one(loaded(0.0), windows, 0)
    np.testing.assert_allclose(out.still_mse, out.frame_mse)
    assert out.still_mse[-1] > 0 and prediction_warning(out) is None


@pytest.mark.parametrize("offset, words", [(1e4, "over 100× that of predicting no motion"),
                                           (float("nan"), "not finite")])
def test_a_prediction_far_off_the_truth_is_flagged(windows, offset, words):
    out = predict_one(loaded(offset), windows, 0)
    assert words in prediction_warning(out)


def test_without_ground_truth_a_wild_move_is_flagged(windows):
    one = replace(windows.select([0]), target=None)
    assert prediction_warning(predict_one(loaded(0.05), one, 0)) is None
    assert "moves a node by" in prediction_warning(predict_one(loaded(1e3), one, 0))


def test_diverged_rule():
    assert not diverged(5.0, 1.0) and diverged(DIVERGED_FACTOR * 1.01, 1.0)
    assert diverged(float("nan"), 1.0) and diverged(float("inf"), 1.0)


def test_resolution_sweep_marks_diverged_rows_with_the_no_motion_reference(windows):
    df = resolution_sweep({"still": loaded(0.0), "wild": loaded(1e4), "nan": loaded(float("nan"))},
                          get_dataset("nbody"), [windows.timesteps], windows_at=lambda p: windows)
    rows = df.set_index("model")
    assert rows.loc["still", "f_mse"] == pytest.approx(rows.loc["still", "no_motion_f_mse"])
    assert rows["diverged"].to_dict() == {"still": False, "wild": True, "nan": True}


def test_best_model_ignores_errors_that_are_not_finite():
    from egno.service.inference import best_model

    errors = {"egno": np.array([0.1, np.nan]), "egnn": np.array([0.2, 0.5]), "gnn": np.array([0.0, np.inf])}
    assert best_model(errors) == "egnn"
    assert best_model({"egno": np.array([np.nan])}) is None


def test_sweep_progress_counts_cost_as_samples_times_p():
    """The time-left estimate divides by cost, not by samples: a window at P = 10 costs twice one
    at P = 5, so after the P = 5 half of the samples a third of the cost is done."""
    family = get_dataset("nbody")
    sets = {5: committed_windows(family, 5, generate=False), 10: committed_windows(family, 10, generate=False)}
    calls = []
    resolution_sweep({"still": loaded(0.0)}, family, [5, 10], windows_at=sets.__getitem__,
                     on_step=lambda *a: calls.append(a), chunk=1)
    n = len(sets[5])
    half = next(c for c in calls if c[0] == n)
    assert half[2:] == (5 * n, 15 * n) and calls[-1] == (2 * n, 2 * n, 15 * n, 15 * n)
