"""Downloads from an upload read back with the same frames; lone trajectories say what to add."""
from __future__ import annotations

import numpy as np
import pytest

from egno.service.examples import example_path
from egno.uploads.worker import run_upload



@pytest.mark.slow
@pytest.mark.parametrize("dataset, names", [
    ("nbody", ["particles.csv"]), ("md17/aspirin", ["aspirin_md17.npz"]),
    ("mocap/walk", ["35.asf", "35_01_first40.amc"]), ("protein/adk", ["adk_backbone.pdb", "adk_backbone.dcd"])])
def test_each_download_uploads_again_with_the_same_frames(dataset, names):
    files = [(n, example_path(n).read_bytes()) for n in names]
    first = run_upload(dataset, "egno", files, options={})
    assert first.ok, first.message
    assert first.out.truth is not None and len(first.errors) >= 5  # every model scored
    for name, data in first.exports.items():
        again = run_upload(dataset, "egno", [(name, data)], options={})
        assert again.ok, again.message
        frames = first.out.pred if "_prediction." in name else first.out.truth
        got, x0 = again.out.truth, again.out.x
        if dataset.startswith("mocap"):  # a BVH lists joints depth first: compare by name
            order = [again.meta["joints"].index(j) for j in first.meta["joints"]]
            got, x0 = got[:, order], x0[order]
        np.testing.assert_allclose(x0, first.out.x, atol=1e-3)
        np.testing.assert_allclose(got, frames, atol=1e-3)
        assert bool(again.meta.get("prediction_of")) == ("_prediction." in name)


def test_lone_dcd_says_which_topology_to_add():
    result = run_upload("protein/adk", "egno", [("run.dcd", example_path("adk_backbone.dcd").read_bytes())],
                        mode="inspect")
    assert not result.ok and ".psf" in result.message and "topology" in result.message
