"""The no-longer-predictable flag (egno.run.flag): spreads, the threshold chosen on validation and
its report, on cases with known answers; a chained ensemble's spread is invariant."""
from __future__ import annotations

import numpy as np
import pytest

from egno import get_dataset
from egno.run import checkpoint, flag
from egno.service.inference import random_rotation, transform_windows
from test_ensemble import member


def test_the_ensemble_spread_is_the_members_rms_distance_at_each_windows_end():
    # 2 members, 2 windows of P = 2, 3 nodes: samples of 2 and 1 nodes
    preds = np.zeros((2, 4, 3, 3))
    preds[1, 1, :, 0] = 3.0   # window 1's end: the members 3 apart in x on every node
    preds[1, 3, 2, :] = 6.0   # window 2's end: 6 apart in x, y and z on the second sample's node
    preds[1, 2, :, :] = 99.0  # not a window's end: ignored
    spread = flag.ensemble_spread(preds, np.array([0, 2, 3]), 2)
    var1 = 3.0 ** 2 / 2 / 3  # ddof 1, averaged over x, y, z
    assert np.allclose(spread, [[np.sqrt(var1), 0.0], [np.sqrt(var1), np.sqrt(6.0 ** 2 / 2)]])
    preds[0, 3, 0, 0] = np.inf  # a member no longer finite: NaN, flagged at any threshold
    spread = flag.ensemble_spread(preds, np.array([0, 2, 3]), 2)
    assert np.isnan(spread[0, 1]) and flag.first_unpredictable(spread, 1e9) == [2, None]


def test_the_threshold_keeps_premature_flags_rare_and_the_report_counts_how_early():
    spread = np.array([[0.1, 0.2, 0.3],   # calm: any flag is premature
                       [0.1, 0.5, 0.6],   # calm
                       [0.2, 0.9, 2.0],   # diverges in window 3
                       [1.0, 1.1, 1.2],   # diverges in window 1: never flagged before it
                       [0.1, 0.1, 0.1]])  # diverges in window 2: never flagged
    diverged = [None, None, 3, 1, 2]
    # no warning horizon: only a flag in the window of the divergence (or later) is in time
    assert flag.choose_threshold(spread, diverged, 0.0, horizon=0) == 0.9
    assert flag.choose_threshold(spread, diverged, 0.2, horizon=0) == 0.6  # r2 flagged in window 2
    # one window of warning: flagging r2 in window 2 is in time
    assert flag.choose_threshold(spread, diverged, 0.0, horizon=1) == 0.6
    assert flag.choose_threshold(spread, diverged, 0.2, horizon=1) == 0.3  # one calm rollout flagged
    assert flag.premature([2, None, 1, 1, None], diverged, 1).tolist() == [True, False, True, False, False]
    r = flag.flag_report(spread, diverged, 0.6, horizon=1)
    assert r == {"samples": 5, "diverged": 3, "premature": 0, "flagged_before_divergence": 1,
                 "windows_early_median": 1.0, "windows_early_min_max": [1, 1], "flagged_at_or_after": 1,
                 "never_flagged": 1, "calm": 2, "calm_flagged": 0}
    assert flag.choose_threshold(np.full((2, 3), np.nan), [1, None], 0.1, 1) == np.inf


def test_the_clock_flag_is_the_same_window_for_every_sample(tiny_nbody):
    w = get_dataset("nbody", tiny_nbody).load("test", 5).select([0, 1])
    spread, pred = flag.chained_spread("clock", [member(0)], w, 3, 5, "nbody")
    assert spread.tolist() == [[1.0, 2.0, 3.0]] * 2 and pred.shape == (15, w.x.shape[0], 3)


def test_a_chained_ensembles_spread_is_invariant_and_needs_two_members(tiny_nbody):
    w = get_dataset("nbody", tiny_nbody).load("test", 5).select([2])
    models = [member(s) for s in (0, 1, 2)]
    spread, pred = flag.chained_spread("ensemble", models, w, 3, 5, "nbody")
    assert spread.shape == (1, 3) and pred.shape == (15, w.x.shape[0], 3) and (spread > 1e-6).all()
    R, shift = random_rotation(5), np.array([0.3, -2.0, 1.1])
    moved, _ = flag.chained_spread("ensemble", models, transform_windows(w, R, shift), 3, 5, "nbody")
    assert np.allclose(moved, spread, rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="at least two"):
        flag.chained_spread("ensemble", models[:1], w, 3, 5, "nbody")


FLAG = checkpoint.ensemble_flag("nbody")


@pytest.mark.slow
@pytest.mark.skipif(FLAG is None, reason="no shipped N-body flag")
def test_the_shipped_flag_reproduces_its_card():
    from egno.data.long import long_windows

    family = get_dataset("nbody")
    models = [checkpoint.load_checkpoint(p).model for p in checkpoint.ensemble_paths("nbody")]
    val, test = (long_windows(family, FLAG["windows"], FLAG["timesteps"], s) for s in ("val", "test"))
    got = flag.flag_study("ensemble", models, val, test, FLAG["windows"], "nbody", FLAG["false_rate"],
                          FLAG["horizon"])
    # chained N-body is chaotic: the order of a sum (threads, device) moves late windows a little
    print(got["threshold"], got["test"])
    assert got["threshold"] == pytest.approx(FLAG["threshold"], rel=0.02)
    for key in ("diverged", "flagged_before_divergence", "premature", "never_flagged"):
        assert abs(got["test"][key] - FLAG["test"][key]) <= 3, key
    # it warns before more divergences than the flag that ignores the sample
    assert FLAG["test"]["flagged_before_divergence"] > FLAG["clock"]["test"]["flagged_before_divergence"]
