"""The upload kept from the Upload page, checked on Equivariance and rolled out on Long horizon
(streamlit.testing; the check and the rollout run in the real upload worker)."""
from __future__ import annotations

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from helpers import app_figures, values
from egno.run.checkpoint import shipped_models

pytestmark = [pytest.mark.skipif(not shipped_models("nbody"), reason="no shipped nbody checkpoints"),
              pytest.mark.slow]
MAIN = str(ROOT / "app" / "main.py")
GIF_MP4 = ["animation (GIF)", "animation (MP4)"]


@pytest.fixture(scope="module", autouse=True)
def small_data(tmp_path_factory):
    """The pages open on the test data: a small nbody test split and long-horizon file."""
    import os

    from egno import get_dataset
    from egno.data.long import generate_nbody_long

    family = get_dataset("nbody", tmp_path_factory.mktemp("data") / "nbody")
    family.generate(progress=False, splits=("test",), sizes={"test": 10})
    generate_nbody_long(family, n_systems=2, windows=3, seed=1)
    old = os.environ.get("EGNO_DATA")
    os.environ["EGNO_DATA"] = str(family.data_dir.parent)
    # the app caches each dataset's test split per process (by name): one another test loaded
    # from another data folder would stand in for this one
    st.cache_resource.clear()
    yield
    if old is None:
        os.environ.pop("EGNO_DATA")
    else:
        os.environ["EGNO_DATA"] = old
    st.cache_resource.clear()


def with_particles_example(page: str) -> AppTest:
    """The app on ``page`` (nbody), then the particles example loaded on the Upload page."""
    at = AppTest.from_file(MAIN, default_timeout=180)
    at.query_params["dataset"] = "nbody"
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert "An upload from the Upload page can be" in " ".join(c.value for c in at.caption)
    at.switch_page("views/upload.py").run()
    at.button(key="example_0").click().run()
    assert not at.exception and "particles.csv" in at.success[0].value
    return at


def test_equivariance_checks_the_kept_upload_small_for_egno_large_for_gnn():
    at = with_particles_example("views/equivariance.py")
    at.switch_page("views/equivariance.py").run()
    source = at.radio(key="eq_source")
    assert source.options == ["test sample", "your upload"] and source.value == "test sample"
    on_test = at.dataframe[0].value.set_index("model")
    source.set_value("your upload").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value.set_index("model")
    assert table.loc["egno", "max deviation"] < 1e-4 and table.loc["gnn", "max deviation"] > 1e-2
    assert table.loc["gnn", "max deviation"] != on_test.loc["gnn", "max deviation"]
    assert any(c.value.startswith("particles.csv: input frame 0") for c in at.caption)
    assert [b.label for b in at.get("download_button")] == GIF_MP4 * 2  # one pair per overlay
    assert len(app_figures(at)[0]["frames"]) == 6  # the input + P = 5


def test_long_horizon_rolls_out_the_upload_as_predicted_scored_over_the_files_frames():
    at = with_particles_example("views/long_horizon.py")
    at.slider(key=next(s.key for s in at.slider if s.key.startswith("start_"))).set_value(2).run()
    at.switch_page("views/long_horizon.py").run()
    at.slider(key="lh_windows").set_value(3).run()
    at.radio(key="lh_source").set_value("your upload").run()
    assert not at.exception, at.exception
    assert any(c.value.startswith("particles.csv: input frame 2") for c in at.caption)  # the Upload page's start
    assert any("first 4 of the 15 chained times" in i.value for i in at.info)
    figs = app_figures(at)
    assert figs[0]["layout"]["title"]["text"].startswith("particles.csv · nbody · egno, 3 windows")
    assert len(figs[0]["frames"]) == 16  # the input + 3 windows × P = 5
    horizon = next(f for f in figs if f["layout"]["title"]["text"].startswith("error versus horizon"))
    egno = next(t for t in horizon["data"] if t["name"] == "egno")
    scored = np.isfinite(values(egno["y"]))
    assert scored.tolist() == [True] * 4 + [False] * 11
    assert at.success or at.error  # a diverged flag or its all-clear, per model
    assert [b.label for b in at.get("download_button")] == GIF_MP4
    at.switch_page("views/equivariance.py").run()
    assert at.radio(key="eq_source").value == "your upload"  # one choice for both pages
