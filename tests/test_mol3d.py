"""The py3Dmol helper inlines the vendored 3Dmol.js so views render without a CDN."""
from __future__ import annotations

import py3Dmol

from app.mol3d import VENDORED, offline_html


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


def test_molecule_view_animates_truth_and_prediction_with_error_colours():
    import numpy as np

    from app.mol3d import molecule_view, offline_html

    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (3, 3))
    out = {"x": x, "pred": x + 0.1 * rng.normal(size=(8, 3, 3)), "truth": x + 0.1 * rng.normal(size=(8, 3, 3)),
           "node_error": rng.random((8, 3))}
    view = molecule_view(out, ["C", "C", "O"])
    html = view._make_html()
    assert "3Dmolpromise = Promise.resolve()" in offline_html(view)
    assert html.count("addModelsAsFrames") == 2 and '"prop": "b"' in html and "animate" in html
    assert html.count("MODEL") >= 18  # 9 frames each for truth and prediction


def test_molecule_view_without_ground_truth_colours_atoms_by_element():
    import numpy as np

    from app.mol3d import molecule_view

    x = np.random.default_rng(1).normal(0, 1, (3, 3))
    out = {"x": x, "pred": np.repeat(x[None], 8, axis=0), "truth": None, "node_error": None}
    html = molecule_view(out, ["C", "N", "O"])._make_html()
    assert html.count("addModelsAsFrames") == 1 and '"Jmol"' in html and '"prop": "b"' not in html
