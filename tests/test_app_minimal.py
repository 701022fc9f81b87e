"""The first app page renders a prediction of a shipped checkpoint (streamlit.testing)."""
from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from egno.checkpoint import shipped_models


@pytest.mark.skipif(not shipped_models("nbody"), reason="no shipped nbody checkpoints")
def test_page_draws_prediction_and_ground_truth():
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = [trace["name"] for trace in fig["data"]]
    assert "particle 0 prediction" in names and "particle 0 ground truth" in names
    assert at.metric[0].label == "F-MSE of this sample"
    for other in at.selectbox(key="model").options:
        at.selectbox(key="model").select(other).run()
        assert not at.exception, other
