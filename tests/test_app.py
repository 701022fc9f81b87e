"""App page logic and state through streamlit.testing (AppTest), one test per page."""
from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from helpers import app_figures, values
from egno.run.checkpoint import shipped_models

pytestmark = pytest.mark.skipif(not shipped_models("nbody"), reason="no shipped nbody checkpoints")
MAIN = str(ROOT / "app" / "main.py")
SAMPLES = ROOT / "assets" / "samples" / "nbody"


@pytest.fixture(scope="module", autouse=True)
def app_data(tmp_path_factory):
    """The app generates the seeded test split on first use: do it once into a temp data dir."""
    import os

    from egno import get_dataset

    root = tmp_path_factory.mktemp("app_data")
    get_dataset("nbody", root / "nbody").generate(progress=False, splits=("test",))
    old = os.environ.get("EGNO_DATA")
    os.environ["EGNO_DATA"] = str(root)
    yield root
    if old is None:
        os.environ.pop("EGNO_DATA")
    else:
        os.environ["EGNO_DATA"] = old


def start(page: str | None = None) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=120).run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def figure(at: AppTest, i: int = 0) -> dict:
    return app_figures(at)[i]


def test_explore_draws_sample_with_frames_and_every_model_error():
    at = start()
    fig = figure(at)
    assert len(fig["frames"]) == 6  # the input + P = 5 target times
    names = {t.get("name") for t in fig["data"]}
    assert {"prediction", "ground truth", "prediction trail", "ground-truth trail"} <= names
    for model in shipped_models("nbody"):
        assert f"{model} MSE" in names
    assert at.metric[0].label.startswith("F-MSE")
    first = at.metric[0].value
    at.number_input(key="sample").set_value(7).run()
    assert not at.exception and at.metric[0].value != first
    assert at.query_params["sample"] == ["7"] or at.query_params["sample"] == "7"
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["extended XYZ", "CSV", "npz", "animation (GIF)", "animation (MP4)"]


def test_explore_switches_models_and_reads_state_from_the_url():
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params["model"] = "linear"
    at.query_params["sample"] = "3"
    at.run()
    assert not at.exception
    assert at.selectbox(key="model").value == "linear" and at.number_input(key="sample").value == 3
    for model in shipped_models("nbody"):
        at.selectbox(key="model").select(model).run()
        assert not at.exception, model


def test_equivariance_egno_tiny_gnn_large():
    at = start("views/equivariance.py")
    at.slider(key="alpha").set_value(40.0).run()
    at.slider(key="beta").set_value(-25.0).run()
    at.slider(key="tx").set_value(3.0).run()
    at.checkbox(key="permute").check().run()
    assert not at.exception
    table = at.dataframe[0].value.set_index("model")
    assert table.loc["egno", "max deviation"] < 1e-4
    assert table.loc["gnn", "max deviation"] > 1e-2
    at.button(key="random_rotation").click().run()
    assert not at.exception and at.slider(key="alpha").value != 40.0
    assert at.dataframe[0].value.set_index("model").loc["egno", "max deviation"] < 1e-4


def test_equivariance_opens_on_a_rotation_and_takes_explores_sample():
    at = start()
    at.number_input(key="sample").set_value(7).run()
    at.switch_page("views/equivariance.py").run()
    assert not at.exception and at.number_input(key="eq_sample").value == 7
    table = at.dataframe[0].value.set_index("model")
    assert table.loc["gnn", "max deviation"] > 100 * table.loc["egno", "max deviation"]
    figs = app_figures(at)
    bars = [t["marker"]["colorbar"] for f in figs for t in f["data"]
            if isinstance(t.get("marker"), dict) and "colorbar" in t["marker"]]
    assert len(bars) == 2 and len({t["marker"]["cmax"] for f in figs for t in f["data"]
                                  if isinstance(t.get("marker"), dict) and "cmax" in t["marker"]}) == 1
    at.button(key="reset_transform").click().run()
    assert at.slider(key="alpha").value == 0.0
    assert at.dataframe[0].value.set_index("model").loc["gnn", "max deviation"] < 1e-5


def sweep_figures(at) -> list[dict]:
    return [f for f in app_figures(at) if "versus P" in f["layout"]["title"]["text"]]


def test_resolution_draws_the_shipped_sweep_on_arrival_and_keeps_runs_across_pages():
    at = start("views/resolution.py")
    figs = sweep_figures(at)  # the shipped default sweep (assets/sweeps/nbody.json), no button
    assert len(figs) == 2 and not at.exception
    egno = next(t for t in figs[0]["data"] if t["name"] == "egno")
    np.testing.assert_allclose(values(egno["x"]), [2, 4, 5, 10, 20, 25, 50])
    marker = next(t for t in figs[0]["data"] if t["name"] == "trained P = 5")
    np.testing.assert_allclose(values(marker["x"]), [5, 5])  # a vertical line at the trained P
    assert figs[0]["layout"]["xaxis"]["type"] == "log" and not figs[0]["layout"].get("shapes")
    assert figs[0]["layout"]["yaxis"]["title"]["text"].endswith("(simulation length unit²)")
    assert at.get("download_button")[0].label == "download CSV"
    # other settings wait for the button, then their sweep is kept for the session
    at.multiselect(key="sweep_p_nbody").set_value([2, 5, 20]).run()
    assert not sweep_figures(at) and "run sweep" in at.info[0].value
    at.selectbox(key="sweep_n_nbody").select(20).run()
    at.button(key="run_sweep").click().run()
    assert not at.exception
    df = at.dataframe[0].value
    f_mse, still = "F-MSE (simulation length unit²)", "no-motion F-MSE (simulation length unit²)"
    assert set(df["P"]) == {2, 5, 20} and {"egno", "linear"} <= set(df["model"])
    assert (df["status"] == "").all() and (df[still].astype(float) > df[f_mse].astype(float)).any()
    at.switch_page("views/explore.py").run()
    at.switch_page("views/resolution.py").run()
    assert at.multiselect(key="sweep_p_nbody").value == [2, 5, 20] and len(sweep_figures(at)) == 2


def test_upload_valid_file_predicts_and_broken_file_explains():
    at = start("views/upload.py")
    at.get("file_uploader")[0].upload("mine.csv", (SAMPLES / "test_1.csv").read_bytes(), "text/csv").run()
    assert not at.exception
    assert "mine.csv" in at.success[0].value and "nbody/egno" in at.success[0].value
    assert "against the file's frames" in at.metric[0].proto.help and not at.warning
    assert float(at.metric[0].value) < float(at.metric[2].value)  # below the no-motion error
    at.get("file_uploader")[0].upload("broken.csv", b"frame,particle,x\n0,0,1\n", "text/csv").run()
    assert not at.exception
    assert "missing columns" in at.error[0].value
    at.switch_page("views/explore.py").run()
    assert not at.exception and app_figures(at)


def test_explore_superposition_toggle_changes_the_rmsd_and_is_in_the_url():
    at = start()
    drawn = next(m for m in at.metric if m.label.startswith("RMSD as drawn"))
    before = float(drawn.value)
    at.toggle(key="superpose").set_value(True).run()
    assert not at.exception and at.query_params["superpose"] in (["1"], "1")
    after = float(next(m for m in at.metric if m.label.startswith("RMSD as drawn")).value)
    assert after < before
    assert any(f["layout"]["title"]["text"].endswith("RMSD versus time") for f in app_figures(at))


@pytest.mark.skipif(not (ROOT / "assets/checkpoints/nbody/uncertainty/egno.pt").exists(),
                    reason="no shipped nbody variance head")
def test_explore_colours_by_predicted_uncertainty_and_bands_the_predicted_error():
    at = start()
    fig = figure(at)
    band = [t for t in fig["data"] if t.get("name") == "egno: predicted 90 % range"]
    assert len(band) == 1 and band[0]["fill"] == "tonexty"
    hi = values(next(t for t in fig["data"] if t.get("legendgroup") == band[0]["name"] and not t.get("fill"))["y"])
    lo = values(band[0]["y"])
    assert (hi > lo).all() and (lo > 0).all()
    error_colours = figure(at)["frames"][-1]["data"]
    at.toggle(key="by_spread").set_value(True).run()
    assert not at.exception, at.exception
    fig = figure(at)
    prediction = next(t for t in fig["frames"][-1]["data"] if t.get("name") == "prediction")
    before = next(t for t in error_colours if t.get("name") == "prediction")
    assert prediction["marker"]["colorbar"]["title"]["text"].startswith("predicted σ²")
    assert not np.allclose(values(prediction["marker"]["color"]), values(before["marker"]["color"]))
    # only EGNO has a variance head: another model's page offers no toggle
    at.selectbox(key="model").set_value("gnn").run()
    assert not at.exception and not [t for t in at.toggle if t.key == "by_spread"]


def test_explore_title_says_superposed_only_when_it_is():
    at = start()
    assert not figure(at)["layout"]["title"]["text"].endswith("superposed")
    if [t for t in at.toggle if t.key == "by_spread"]:
        at.toggle(key="by_spread").set_value(True).run()
        assert not figure(at)["layout"]["title"]["text"].endswith("superposed")
    at.toggle(key="superpose").set_value(True).run()
    assert figure(at)["layout"]["title"]["text"].endswith("· superposed")
