"""The Upload page end to end through streamlit.testing (each upload runs in the real worker)."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from egno.run.checkpoint import shipped_models

pytestmark = [pytest.mark.skipif(not shipped_models("nbody"), reason="no shipped checkpoints"), pytest.mark.slow]
MAIN = str(ROOT / "app" / "main.py")
EXAMPLES = ROOT / "assets" / "samples" / "examples"


def upload_page(dataset: str) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=180)
    at.query_params["dataset"] = dataset
    at.run()
    at.switch_page("views/upload.py").run()
    assert not at.exception, at.exception
    return at


def drop(at: AppTest, *names: str) -> None:
    uploader = at.get("file_uploader")[0]
    for name in names:
        uploader.upload(name, (EXAMPLES / name).read_bytes(), "application/octet-stream")
    at.run()
    assert not at.exception, at.exception
    assert at.success, [e.value for e in at.error]  # the page's own message when the upload failed


def test_particles_scored_by_every_model_kept_across_pages_replaced_by_a_new_drop():
    at = upload_page("nbody")
    drop(at, "particles.csv")
    assert "particles.csv" in at.success[0].value and "0.1" in at.success[0].value
    scored = next(c.value for c in at.caption if c.value.startswith("Every shipped"))
    assert all(m in scored for m in shipped_models("nbody")) and "no motion" in scored
    before = at.success[0].value
    at.slider(key=next(s.key for s in at.slider)).set_value(2).run()  # start frame changes the prediction
    assert "input frame 2" in at.success[0].value and at.success[0].value != before
    at.switch_page("views/explore.py").run()
    at.switch_page("views/upload.py").run()
    assert "particles.csv" in at.success[0].value  # kept across the page switch
    at.get("file_uploader")[0].upload("other.csv", (ROOT / "assets/samples/nbody/test_1.csv").read_bytes(),
                                      "text/csv").run()
    assert "**other.csv**" in next(c.value for c in at.caption if c.value.startswith("Current upload"))


def test_xyz_without_times_asks_for_the_interval_and_warns():
    at = upload_page("md17/aspirin")
    at.button(key="example_1").click().run()
    dt = next(n for n in at.number_input if n.label.startswith("time between frames"))
    assert dt.value == 0.5
    assert any("time between frames is probably wrong" in w.value for w in at.warning)
    dt.set_value(37.5).run()
    assert not any("probably wrong" in w.value for w in at.warning)
    assert "37.5 fs apart (you)" in at.success[0].value


def test_ethanol_on_the_aspirin_page_goes_to_the_ethanol_model():
    at = upload_page("md17/aspirin")
    at.button(key="example_4").click().run()
    assert "md17/ethanol/egno" in at.success[0].value
    assert any("is ethanol" in i.value for i in at.info)


def test_one_frame_pdb_predicts_from_rest_and_says_so():
    at = upload_page("protein/adk")
    at.button(key="example_0").click().run()
    assert any("starts from rest" in i.value for i in at.info)
    assert "velocities: zero" in at.success[0].value
    # the server-rendered animations are offered with no truth to draw (egno/service/render.py)
    assert [b.label for b in at.get("download_button")][-2:] == ["animation (GIF)", "animation (MP4)"]
