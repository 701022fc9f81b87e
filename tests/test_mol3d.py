"""The py3Dmol helper inlines the vendored 3Dmol.js so views render without a CDN."""
from __future__ import annotations

import py3Dmol

from app.mol3d import VENDORED, offline_html
from egno.service.results import Prediction


def test_vendored_library_is_inlined_before_py3dmol_loader():
    view = py3Dmol.view(width=300, height=300)
    view.addModel("2\n\nC 0 0 0\nO 0 0 1.2\n", "xyz")
    view.setStyle({"stick": {}})
    html = offline_html(view)
    lib = VENDORED.read_text(encoding="utf-8")
    assert len(lib) > 400_000 and lib[:2000] in html
    promise = html.index("var $3Dmolpromise = Promise.resolve();")
    # library, then the resolved promise, then py3Dmol's guarded CDN loader (skipped) and viewer
    assert html.index(lib[:2000]) < promise < html.index("if(typeof $3Dmolpromise === 'undefined')")
    assert promise < html.index("$3Dmolpromise.then(")
    assert "<script src=" not in html


def _spec(html: str) -> dict:
    import json

    line = next(x for x in html.splitlines() if x.startswith("const spec = "))
    return json.loads(line[len("const spec = "):-1])


def test_molecule_view_plays_truth_and_prediction_with_error_colours_and_a_colour_bar():
    import numpy as np

    from app.mol3d import molecule_view

    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (3, 3))
    out = Prediction(x=x, v=np.zeros_like(x), pred=x + 0.1 * rng.normal(size=(8, 3, 3)), t=np.arange(1, 9) / 8,
                     window=1.0, truth=x + 0.1 * rng.normal(size=(8, 3, 3)), node_error=rng.random((8, 3)))
    labels = ["input"] + [f"t = {k}" for k in range(1, 9)]
    html = molecule_view(out, ["C", "C", "O"], labels, error_max=2.0, colour_title="squared error (Å²)")
    spec = _spec(html)
    assert "<script src=" not in html and "egnoPlayer(" in html and "$3Dmol.createViewer" in html
    assert [m["style"]["stick"].get("colorscheme") for m in spec["models"]] == [None, "error"]
    assert spec["models"][1]["pdb"].count("MODEL") == 9 and spec["labels"] == labels
    assert "squared error (Å²):" in html and ">2<" in html  # the colour bar's top is error_max


def test_molecule_view_without_ground_truth_colours_atoms_by_element():
    import numpy as np

    from app.mol3d import molecule_view

    x = np.random.default_rng(1).normal(0, 1, (3, 3))
    out = Prediction(x=x, v=np.zeros_like(x), pred=np.repeat(x[None], 8, axis=0), t=np.arange(1, 9) / 8, window=1.0)
    html = molecule_view(out, ["C", "N", "O"], ["input"] + ["t"] * 8)
    spec = _spec(html)
    assert len(spec["models"]) == 1 and spec["models"][0]["style"]["stick"]["colorscheme"] == "Jmol"
    assert "egno-colourbar" not in html
