"""Kabsch superposition (egno/align.py) against known rigid motions."""
from __future__ import annotations

import numpy as np

from egno.align import kabsch, rmsd, superpose
from egno.service.inference import superposed
from egno.service.results import Prediction
from egno.service.inference import random_rotation


def test_kabsch_undoes_a_rotation_and_shift():
    rng = np.random.default_rng(0)
    b = rng.normal(size=(12, 3))
    R0 = random_rotation(3)
    a = (b - 1.5) @ R0.T + np.array([4.0, -2.0, 0.5])
    R, t = kabsch(a, b)
    np.testing.assert_allclose(a @ R.T + t, b, atol=1e-10)
    assert np.isclose(np.linalg.det(R), 1.0)


def test_superpose_leaves_only_the_shape_error():
    rng = np.random.default_rng(1)
    truth = rng.normal(size=(4, 20, 3))
    noise = 0.05 * rng.normal(size=truth.shape)
    pred = np.stack([(f + e) @ random_rotation(k).T + k for k, (f, e) in enumerate(zip(truth, noise))])
    aligned = superpose(pred, truth)
    assert (rmsd(aligned, truth) < rmsd(truth + noise, truth) + 1e-12).all()  # at most the shape error
    assert (rmsd(pred, truth) > 10 * rmsd(aligned, truth)).all()
    out = superposed(Prediction(x=truth[0], v=np.zeros_like(truth[0]), pred=pred, t=np.arange(1, 5) / 4, window=1.0,
                                truth=truth))
    np.testing.assert_allclose(out.aligned_rmsd, rmsd(aligned, truth))
    assert out.node_error.shape == (4, 20) and out.frame_mse.shape == (4,)
