"""py3Dmol views that work offline: the vendored 3Dmol.js (assets/vendor, BSD-3) is inlined before
py3Dmol's HTML, and `$3Dmolpromise` is pre-resolved so py3Dmol never fetches 3Dmol.js from its CDN.
Used by the families drawn with py3Dmol (molecules, proteins)."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import py3Dmol
import streamlit as st

from app.figures import TRUTH_COLOUR
from egno.paths import VENDOR

VENDORED = VENDOR / "3Dmol-min.js"


@lru_cache(maxsize=1)
def _library() -> str:
    return VENDORED.read_text(encoding="utf-8")


def offline_html(view: py3Dmol.view) -> str:
    """The view's HTML preceded by the inlined library."""
    return (f"<script>{_library()}</script>"
            "<script>var $3Dmolpromise = Promise.resolve();</script>" + view._make_html())


def show(view: py3Dmol.view, height: int = 500) -> None:
    html = offline_html(view)
    if hasattr(st, "iframe"):
        st.iframe(html, height=height)
    else:  # Streamlit before st.iframe
        import streamlit.components.v1 as components

        components.html(html, height=height)


def residue_mean(node_values: np.ndarray, resids) -> np.ndarray:
    """Per-atom values (..., N) replaced by the mean over each atom's residue."""
    resids = np.asarray(resids)
    _, index = np.unique(resids, return_inverse=True)
    count = np.bincount(index)
    flat = node_values.reshape(-1, node_values.shape[-1])
    means = np.stack([np.bincount(index, weights=row) / count for row in flat])
    return means[:, index].reshape(node_values.shape)


def protein_view(out: dict, meta: dict, width: int = 640, height: int = 500) -> py3Dmol.view:
    """Ground truth and prediction of a backbone window as looping 3Dmol frames; prediction
    residues coloured by squared error (the PDB temperature-factor column carries it)."""
    from egno.data.protein import backbone_pdb

    names, resnames, resids = meta["atom_names"], meta["resnames"], meta["resids"]
    pred = np.concatenate([out["x"][None], out["pred"]])
    err = np.zeros(pred.shape[:2])
    if out["node_error"] is not None:
        err[1:] = residue_mean(out["node_error"], resids)
    err = err / max(float(err.max()), 1e-12) * 99.0  # B-factor columns keep 2 decimals: 0..99
    view = py3Dmol.view(width=width, height=height)
    if out["truth"] is not None:
        truth = np.concatenate([out["x"][None], out["truth"]])
        view.addModelsAsFrames(backbone_pdb(truth, names, resnames, resids), "pdb")
        view.setStyle({"model": 0}, {"cartoon": {"style": "trace", "color": TRUTH_COLOUR,
                                                 "thickness": 0.25, "opacity": 0.8}})
    view.addModelsAsFrames(backbone_pdb(pred, names, resnames, resids, err), "pdb")
    view.setStyle({"model": -1}, {"cartoon": {"style": "trace", "thickness": 0.6, "colorscheme": {
        "prop": "b", "gradient": "roygb", "min": 99.0, "max": 0.0}}})
    view.zoomTo()
    view.animate({"loop": "forward", "interval": 600})
    return view


def molecule_view(out: dict, symbols: list[str], width: int = 640, height: int = 500) -> py3Dmol.view:
    """Ground truth (thin green sticks) and prediction (sticks and spheres coloured by each atom's
    squared error, or by element when the window has no ground truth) of a molecule's heavy
    atoms, looping over the window's frames. Frames are written as PDB by ASE (the error goes in
    the B-factor column); 3Dmol draws bonds by distance."""
    import io

    from ase import Atoms
    from ase.io import write

    def pdb(frames: np.ndarray, bfactors: np.ndarray | None = None) -> str:
        images = []
        for k, pos in enumerate(frames):
            atoms = Atoms(symbols=symbols, positions=pos.astype(np.float64))
            if bfactors is not None:
                atoms.set_array("bfactor", bfactors[k].astype(np.float64))
            images.append(atoms)
        buf = io.StringIO()
        write(buf, images, format="proteindatabank")
        return buf.getvalue()

    pred = np.concatenate([out["x"][None], out["pred"]])
    err = np.zeros(pred.shape[:2])
    if out["node_error"] is not None:
        err[1:] = out["node_error"]
    err = err / max(float(err.max()), 1e-12) * 99.0  # B-factor columns keep 2 decimals: 0..99
    view = py3Dmol.view(width=width, height=height)
    if out["truth"] is not None:
        view.addModelsAsFrames(pdb(np.concatenate([out["x"][None], out["truth"]])), "pdb")
        view.setStyle({"model": 0}, {"stick": {"radius": 0.08, "color": TRUTH_COLOUR, "opacity": 0.7}})
    view.addModelsAsFrames(pdb(pred, err), "pdb")
    # error colours where there is ground truth; element colours (C grey, N blue, O red) otherwise
    scheme = ({"prop": "b", "gradient": "roygb", "min": 99.0, "max": 0.0}
              if out["node_error"] is not None else "Jmol")
    view.setStyle({"model": -1}, {"stick": {"radius": 0.15, "colorscheme": scheme},
                                  "sphere": {"scale": 0.25, "colorscheme": scheme}})
    view.zoomTo()
    view.animate({"loop": "forward", "interval": 600})
    return view
