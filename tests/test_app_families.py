"""App pages on the motion and protein families through streamlit.testing (no raw data needed:
the committed test splits are used when ../shared or mdanalysistests are absent)."""
from __future__ import annotations


import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from helpers import app_figures
from egno.run.checkpoint import ensemble_paths, shipped_models
from test_bvh import bvh_text

MAIN = str(ROOT / "app" / "main.py")


def start(dataset: str, page: str | None = None, **params) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=300)
    at.query_params["dataset"] = dataset
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


@pytest.mark.skipif("egno" not in shipped_models("mocap/walk"), reason="no mocap checkpoints")
def test_motion_explore_draws_bones_trails_of_hands_and_feet_and_a_following_camera():
    at = start("mocap/walk", sample="5")
    fig = app_figures(at)[0]
    names = {t.get("name") for t in fig["data"]}
    assert {"prediction bones", "ground-truth bones", "prediction trail", "egno MSE", "gnn MSE"} <= names
    trail = next(t for t in fig["data"] if t["name"] == "prediction trail")
    assert len(trail["x"]["bdata"] if isinstance(trail["x"], dict) else trail["x"]) > 0
    # a camera box per frame, moving with the body; y is up
    boxes = [f["layout"]["scene"]["xaxis"]["range"] for f in fig["frames"]]
    assert len(boxes) == 6 and boxes[0] != boxes[-1]
    assert fig["layout"]["scene"]["camera"]["up"] == {"x": 0.0, "y": 1.0, "z": 0.0}
    assert "ASF unit" in at.metric[0].label


@pytest.mark.skipif("egno" not in shipped_models("mocap/walk"), reason="no mocap checkpoints")
def test_motion_equivariance_turns_gravity_with_the_body():
    """The shipped motion EGNO reads the up vector; the page turns it with the input, so a tilt
    (not only a turn about the vertical) still gives f(g·input) = g·f(input)."""
    at = start("mocap/walk", "views/equivariance.py")
    at.slider(key="beta").set_value(35.0).run()
    at.slider(key="gamma").set_value(-60.0).run()
    assert not at.exception
    assert any("Gravity is part of this input" in c.value for c in at.caption)
    table = at.dataframe[0].value.set_index("model")
    assert table.loc["egno", "RMS / mean displacement"] < 1e-4
    assert table.loc["gnn", "RMS / mean displacement"] > 1e-2


@pytest.mark.skipif("egno" not in shipped_models("mocap/walk"), reason="no mocap checkpoints")
def test_motion_upload_of_a_bvh_file_predicts_and_reports_its_scale():
    at = start("mocap/walk", "views/upload.py")
    rows = [f"{0.5 * k} 90 0 {k} 0 0 {k} 0 0 0 0 0 {k} 0 0" for k in range(40)]
    at.get("file_uploader")[0].upload("mine.bvh", bvh_text(rows).encode(), "text/plain").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "mine.bvh: 4 nodes" in at.success[0].value and "scaled" in at.success[0].value
    assert "against the file's frames" in at.metric[0].proto.help
    # four joints, nothing like a CMU body: the prediction is far off and the page says so
    assert "predicting no motion" in at.warning[0].value
    at.get("file_uploader")[0].upload("broken.bvh", b"HIERARCHY\nROOT a\n", "text/plain").run()
    assert any("file ends where" in e.value for e in at.error)


@pytest.mark.skipif("egno" not in shipped_models("protein/adk"), reason="no protein checkpoints")
def test_protein_explore_uses_3dmol_with_error_colours_and_an_error_chart():
    at = start("protein/adk", sample="2")
    html = at.get("iframe")[0].proto.srcdoc
    assert "$3Dmol.createViewer" in html and "addModelsAsFrames" in html and "<script src=" not in html
    assert '"colorscheme": "error"' in html and "egnoPlayer(" in html and "egno-colourbar" in html
    chart = app_figures(at)[0]
    names = {t.get("name") for t in chart["data"]}
    assert names >= {"egno", "linear", "shown frame"}
    if (ROOT / "assets/checkpoints/protein/adk/uncertainty/egno.pt").exists():  # its variance head
        assert "egno: predicted 90 % range" in names
    assert "Å" in at.metric[0].label


@pytest.mark.skipif("egno" not in shipped_models("protein/adk"), reason="no protein checkpoints")
def test_protein_equivariance_and_resolution_pages_run():
    at = start("protein/adk", "views/equivariance.py")
    views = [f.proto.srcdoc for f in at.get("iframe")]
    assert len(views) >= 2 and all("egno-colourbar" in v for v in views)
    tops = {v.split('class="ramp"', 1)[1].split("<span>", 1)[1].split("<", 1)[0] for v in views}
    assert len(tops) == 1  # one colour scale for the models compared
    egno = at.metric[0].value
    assert float(egno) < 1e-3
    at = start("protein/adk", "views/resolution.py")
    assert at.selectbox(key="sweep_n_protein_adk").options[-1] == "38"
    assert any("versus P" in f["layout"]["title"]["text"] for f in app_figures(at))  # shipped sweep
    assert np.all([not e for e in at.exception])


@pytest.mark.skipif("egno" not in shipped_models("md17/ethanol"), reason="no molecule checkpoints")
def test_molecule_explore_and_upload_of_another_molecule():
    at = start("md17/ethanol", sample="4")
    html = at.get("iframe")[0].proto.srcdoc
    assert "addModelsAsFrames" in html and '"stick"' in html
    assert "Å" in at.metric[0].label
    at.selectbox(key="model").select("linear").run()  # extrapolating velocities: far off on md17
    assert any("worse than predicting no motion" in w.value for w in at.warning)
    at = start("md17/ethanol", "views/upload.py")
    same = "3\n\nC 0 0 0\nC 1.52 0 0\nO 2.0 1.3 0\n" * 2
    at.get("file_uploader")[0].upload("mine.xyz", same.encode(), "chemical/x-xyz").run()
    assert not at.exception and "mine.xyz: 3 nodes" in at.success[0].value
    other = "2\n\nC 0 0 0\nO 1.13 0 0\n" * 2
    at.get("file_uploader")[0].upload("co.xyz", other.encode(), "chemical/x-xyz").run()
    assert not at.exception
    messages = [m.value for kind in (at.error, at.info, at.warning, at.success, at.caption) for m in kind]
    assert any("is none of the eight MD17 molecules" in m and "md17/all" in m for m in messages), messages


@pytest.mark.skipif("egno" not in shipped_models("md17/all"), reason="no md17/all checkpoint")
def test_md17_all_explores_samples_of_every_molecule():
    """md17/all's test set is the eight molecules in a row (2000 windows each): its sample 2000·k
    is molecule k, drawn with its own atoms."""
    from egno import get_dataset
    from egno.data.md17 import MOLECULES
    from egno.service.inference import test_windows

    windows = test_windows(get_dataset("md17/all"))
    sizes = {int(windows.node_ptr[2000 * k + 1] - windows.node_ptr[2000 * k]) for k in range(len(MOLECULES))}
    assert len(windows) == 2000 * len(MOLECULES) and len(sizes) >= 5  # 3 to 13 heavy atoms
    aspirin = 2000 * list(MOLECULES).index("aspirin")
    at = start("md17/all", sample=str(aspirin))
    assert at.number_input(key="sample").value == aspirin
    assert any("(aspirin)" in c.value for c in at.caption)  # md17/all names the molecule shown
    html = at.get("iframe")[0].proto.srcdoc
    first = html.split("MODEL     1", 1)[1].split("ENDMDL", 1)[0]  # the drawn PDB's first frame
    elements = [line.split()[-1] for line in first.split("\\n") if line.startswith("ATOM")]
    assert sorted(elements) == ["C"] * 9 + ["O"] * 4  # aspirin's heavy atoms


def test_md17_all_chains_the_starts_of_every_molecule():
    """Long horizon on md17/all stopped on a missing md17/all/test.npz: its long truth is now each
    molecule's starts, one molecule after another."""
    from egno import get_dataset
    from egno.data.long import long_windows
    from egno.data.md17 import MOLECULES

    each = {m: len(long_windows(get_dataset(f"md17/{m}"), 2, 8)) for m in MOLECULES}
    w = long_windows(get_dataset("md17/all"), 2, 8)
    assert len(w) == sum(each.values()) and w.target.shape == (16, int(w.node_ptr[-1]), 3)
    at = start("md17/all", "views/long_horizon.py")
    assert at.number_input(key="lh_sample").max == len(w) - 1


@pytest.mark.skipif(not ensemble_paths("mocap/walk"), reason="no shipped mocap/walk ensemble")
def test_explore_draws_the_ensembles_alternative_futures_on_request():
    from test_app import figure

    at = start("mocap/walk", sample="3")
    names = {t.get("legendgroup") for t in figure(at)["data"]}
    assert "members" not in names  # off until asked for
    toggle = at.toggle(key="futures")
    assert toggle.label == "alternative futures (5 ensemble members)"
    toggle.set_value(True).run()
    assert not at.exception, at.exception
    drawn = [t for t in figure(at)["data"] if t.get("legendgroup") == "members"]
    assert len(drawn) == 4 and sum(bool(t.get("showlegend")) for t in drawn) == 1
    at.toggle(key="superpose").set_value(True).run()  # in the lab frame only: said, not drawn
    assert not [t for t in figure(at)["data"] if t.get("legendgroup") == "members"]
    assert any("turn superposition off" in c.value for c in at.caption)
    at.selectbox(key="model").set_value("gnn").run()  # only EGNO has an ensemble
    assert not at.exception and not [t for t in at.toggle if t.key == "futures"]
