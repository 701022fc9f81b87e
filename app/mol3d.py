"""3Dmol views that work offline (the vendored 3Dmol.js, assets/vendor, BSD-3, is inlined) with the
frame player of app/player.py, a width that follows the column, a camera that frames every frame
of the window and a colour bar in the dataset's units. Used by molecules and proteins.

``offline_html`` also serves a plain py3Dmol view (its CDN loader skipped by a pre-resolved
``$3Dmolpromise``)."""
from __future__ import annotations

from functools import lru_cache

import json

import numpy as np
import py3Dmol
import streamlit as st

from app.figures import ERROR_SCALE, TRUTH_COLOUR
from app.player import PLAYER_CSS, PLAYER_JS
from egno.paths import VENDOR

VENDORED = VENDOR / "3Dmol-min.js"


@lru_cache(maxsize=1)
def _library() -> str:
    return VENDORED.read_text(encoding="utf-8")


def offline_html(view: py3Dmol.view) -> str:
    """The view's HTML preceded by the inlined library."""
    return (f"<script>{_library()}</script>"
            "<script>var $3Dmolpromise = Promise.resolve();</script>" + view._make_html())


def show(view, height: int = 500) -> None:
    """Draw a view (this module's HTML text, or a py3Dmol view) in an iframe as wide as the column."""
    html = view if isinstance(view, str) else offline_html(view)
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


_VIEW_JS = """
const spec = %(spec)s;
const viewer = $3Dmol.createViewer(document.getElementById('egno-view'), {backgroundColor: 'white'});
const gradient = new $3Dmol.Gradient.CustomLinear(0, 99, spec.colours);
function styled(style) {  // 'error' colour schemes read each atom's B-factor column (0..99)
  const out = JSON.parse(JSON.stringify(style));
  for (const part of Object.values(out))
    if (part.colorscheme === 'error') part.colorscheme = {prop: 'b', gradient: gradient};
  return out;
}
for (const m of spec.models) {
  const model = viewer.addModelsAsFrames(m.pdb, 'pdb');
  model.setStyle({}, styled(m.style));
}
// frame the whole window, not just the first frame: zoom to the corners of every frame's box
const box = viewer.addModel(spec.corners, 'xyz');
viewer.zoomTo({model: box});
if (spec.zoom > 1) viewer.zoom(spec.zoom);  // zoomTo frames at least a 5 Å radius
viewer.removeModel(box);
viewer.render();
const player = egnoPlayer(document.getElementById('egno-controls'), {
  labels: spec.labels, start: spec.start,
  show: k => Promise.resolve(viewer.setFrame(k)).then(() => viewer.render()),
  onFrame: k => { if (spec.group) window.parent.postMessage({egnoGroup: spec.group, frame: k}, '*'); },
});
window.egnoPlayerApi = player;
"""

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
html, body {margin: 0; height: 100%%; overflow: hidden; font: 12px system-ui, sans-serif}
#egno-root {display: flex; flex-direction: column; height: 100%%}
#egno-view {flex: 1 1 auto; position: relative; min-height: 150px; width: 100%%}
.egno-cbar {display: flex; align-items: center; gap: 6px; padding: 2px 4px}
.egno-cbar .ramp {flex: 0 1 260px; height: 10px; border: 1px solid #adb5bd}
%(css)s</style></head><body><div id="egno-root"><div id="egno-view"></div>%(cbar)s
<div id="egno-controls"></div></div>
<script>%(lib)s</script><script>%(player)s</script><script>%(view)s</script></body></html>"""


def colour_bar_html(top: float, title: str) -> str:
    """A horizontal colour bar from 0 to ``top`` (the scale's top, in the title's units)."""
    ramp = ", ".join(c for _, c in ERROR_SCALE)
    return (f'<div class="egno-cbar" data-testid="egno-colourbar"><span>{title}:</span><span>0</span>'
            f'<div class="ramp" style="background: linear-gradient(to right, {ramp})"></div>'
            f"<span>{top:.3g}</span></div>")


def _corners(*paths) -> str:
    pts = np.concatenate([np.asarray(p).reshape(-1, 3) for p in paths if p is not None])
    lo, hi = pts.min(0), pts.max(0)
    corners = [(x, y, z) for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])]
    return "8\nbox\n" + "".join(f"X {x:.3f} {y:.3f} {z:.3f}\n" for x, y, z in corners)


ZOOM_FLOOR = 5.0   # Å: 3Dmol's zoomTo frames a radius of at least this
ATOM_MARGIN = 0.6  # Å: room for the drawn atoms around their centres


def fit_zoom(*paths) -> float:
    """The zoom after 3Dmol's zoomTo that makes a window smaller than its 5 Å floor fill the view:
    the floor over the box's half diagonal (plus the atoms' margin); 1 for larger windows."""
    pts = np.concatenate([np.asarray(p).reshape(-1, 3) for p in paths if p is not None])
    radius = float(np.linalg.norm(pts.max(0) - pts.min(0))) / 2 + ATOM_MARGIN
    return max(1.0, ZOOM_FLOOR / max(radius, 1.0))


def player_html(models: list[dict], labels: list[str], corners: str, colour_bar: str = "",
                group: str | None = None, start: int = 0, zoom: float = 1.0) -> str:
    """The self-contained page of a 3Dmol view: ``models`` as [{"pdb": multi-model PDB text,
    "style": 3Dmol style, colorscheme 'error' for the error colours}], one frame per label;
    ``zoom`` applied after framing the corners (``fit_zoom``)."""
    spec = {"models": models, "labels": labels, "corners": corners, "group": group, "start": start,
            "colours": [c for _, c in ERROR_SCALE], "zoom": round(zoom, 3)}
    view = _VIEW_JS % {"spec": json.dumps(spec)}
    return _PAGE % {"css": PLAYER_CSS, "cbar": colour_bar, "lib": _library(), "player": PLAYER_JS,
                    "view": view}


def _error_scale(out: dict, error_max: float | None, resids=None) -> tuple[np.ndarray, float]:
    """Per-frame B-factors 0..99 (the input frame 0) on one scale for the window, and its top."""
    frames = out.pred.shape[0] + 1
    err = np.zeros((frames, out.x.shape[0]))
    if out.node_error is not None:
        err[1:] = out.node_error if resids is None else residue_mean(out.node_error, resids)
    top = float(error_max if error_max is not None else err.max())
    top = max(top, 1e-12)
    return np.clip(err / top, 0, 1) * 99.0, top  # B-factor columns keep 2 decimals: 0..99


def protein_view(out: dict, meta: dict, labels: list[str], error_max: float | None = None,
                 colour_title: str = "squared error", group: str | None = None, start: int = 0) -> str:
    """Ground truth (thin green trace) and prediction (thick trace, residues coloured by their
    squared error on a scale fixed for the window, or up to ``error_max`` when views share one)."""
    from egno.data.protein import backbone_pdb

    names, resnames, resids = meta["atom_names"], meta["resnames"], meta["resids"]
    pred = np.concatenate([out.x[None], out.pred])
    truth = None if out.truth is None else np.concatenate([out.x[None], out.truth])
    err, top = _error_scale(out, error_max, resids)
    models = []
    if truth is not None:
        models.append({"pdb": backbone_pdb(truth, names, resnames, resids), "style": {"cartoon": {
            "style": "trace", "color": TRUTH_COLOUR, "thickness": 0.25, "opacity": 0.8}}})
    coloured = out.node_error is not None
    models.append({"pdb": backbone_pdb(pred, names, resnames, resids, err), "style": {"cartoon": {
        "style": "trace", "thickness": 0.6,
        **({"colorscheme": "error"} if coloured else {"color": "#d9480f"})}}})
    bar = colour_bar_html(top, colour_title) if coloured else ""
    return player_html(models, labels, _corners(pred, truth), bar, group, start)


def _molecule_pdb(symbols: list[str], frames: np.ndarray, bfactors: np.ndarray | None = None) -> str:
    """Frames as multi-model PDB written by ASE (B-factor column: the error)."""
    import io

    from ase import Atoms
    from ase.io import write

    images = []
    for k, pos in enumerate(frames):
        atoms = Atoms(symbols=symbols, positions=pos.astype(np.float64))
        if bfactors is not None:
            atoms.set_array("bfactor", bfactors[k].astype(np.float64))
        images.append(atoms)
    buf = io.StringIO()
    write(buf, images, format="proteindatabank")
    return buf.getvalue()


def molecule_view(out: dict, symbols: list[str], labels: list[str], error_max: float | None = None,
                  colour_title: str = "squared error", group: str | None = None, start: int = 0) -> str:
    """Ground truth (thin green sticks) and prediction (sticks and spheres coloured by each atom's
    squared error, or by element when the window has no ground truth) of a molecule's heavy
    atoms; 3Dmol draws bonds by distance."""
    pred = np.concatenate([out.x[None], out.pred])
    truth = None if out.truth is None else np.concatenate([out.x[None], out.truth])
    err, top = _error_scale(out, error_max)
    models = []
    if truth is not None:
        models.append({"pdb": _molecule_pdb(symbols, truth), "style": {
            "stick": {"radius": 0.08, "color": TRUTH_COLOUR, "opacity": 0.7}}})
    coloured = out.node_error is not None
    # error colours where there is ground truth; element colours (C grey, N blue, O red) otherwise
    scheme = "error" if coloured else "Jmol"
    models.append({"pdb": _molecule_pdb(symbols, pred, err), "style": {
        "stick": {"radius": 0.15, "colorscheme": scheme},
        "sphere": {"scale": 0.25, "colorscheme": scheme}}})
    bar = colour_bar_html(top, colour_title) if coloured else ""
    return player_html(models, labels, _corners(pred, truth), bar, group, start, fit_zoom(pred, truth))


def family_view(family, out: dict, meta: dict, **options) -> tuple[py3Dmol.view, str]:
    """The 3Dmol view of one prediction for a protein or molecule family, and what its reference
    and prediction look like (for the caption)."""
    if family.view == "protein":
        return (protein_view(out, meta, **options),
                "thin green trace; prediction as a thick trace coloured by each residue's error")
    return (molecule_view(out, meta["symbols"], **options),
            "thin green sticks; prediction as sticks and atoms coloured by their error")
