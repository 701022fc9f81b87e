"""Shared app pieces: cached models and data, the sidebar pickers and drawing one prediction."""
from __future__ import annotations

from functools import partial

import numpy as np
import streamlit as st
import torch

from app.figures import IN_3DMOL, NO_MOTION, animated_figure, error_chart, plot_options
from app.player import time_labels
from app.plotview import plotly_view
from egno import get_dataset, resolve_checkpoint
from egno.run.checkpoint import ensemble_paths, load_checkpoint, shipped_models, variant_checkpoint
from egno.data import dataset_names
from egno.service.inference import test_windows
from egno.paths import ROOT
from egno.service.render import animation_bytes

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
# what Streamlit lets through (server.maxUploadSize in .streamlit/config.toml, MB): the pages state it
MAX_UPLOAD_BYTES = st.get_option("server.maxUploadSize") * 2**20
MOL_VIEW_HEIGHT = 500  # px: with its player, above the fold at 1400×900 on Explore
# torch threads per inference: fewer than cores keeps concurrent visitors from stalling each other
torch.set_num_threads(1)


@st.cache_resource(show_spinner="loading checkpoint…")
def load_model(dataset: str, model: str):
    """Each shipped checkpoint is loaded once per server process and shared by all visitors."""
    return resolve_checkpoint(dataset, model, DEVICE)


@st.cache_resource(show_spinner="loading checkpoint…")
def load_spread_model(dataset: str, model: str):
    """The shipped model with a variance head whose positions are ``model``'s (EGNO's, trained on
    its frozen mean), or None: the one source of predicted uncertainty."""
    return variant_checkpoint(dataset, "uncertainty") if model == "egno" else None


@st.cache_resource(show_spinner="loading the ensemble…")
def load_ensemble(dataset: str, model: str):
    """The shipped deep ensemble whose first member is ``model`` (loaded checkpoints), or None."""
    paths = ensemble_paths(dataset, model)
    return [load_checkpoint(p, DEVICE) for p in paths] if paths else None


MEMBERS_HELP = ("Each violet trail is another member of a deep ensemble: EGNO trained by the same "
                "command with another seed (docs/results/uncertainty.md). Where they part from the "
                "orange trail (the shipped model's), the future is uncertain.")
SPREAD_COLOURS = ("error", "predicted uncertainty")
SPREAD_HELP = ("Predicted uncertainty: σ² per node from EGNO's variance head, recalibrated on the "
               "validation split (docs/results/uncertainty.md). Same unit as the squared error.")


@st.cache_resource(show_spinner="loading the test split…")
def load_test(dataset: str, timesteps: int | None = None):
    """The test split (generated from its seed on first use) at ``timesteps`` target times."""
    return test_windows(get_dataset(dataset), timesteps, generate=True)


NO_MOTION_HELP = ("The F-MSE of a prediction that leaves every node where it is in the input: a "
                  "model that has learned the dynamics should be below it.")


def short_unit(unit: str) -> str:
    """A family's unit without its explanation, for labels: 'ASF unit (CMU: …)' -> 'ASF unit'."""
    return unit.split(" (")[0]


def query_choice(key: str, options: list, default):
    """The value for a picker: the URL's (?key=value) when it is a valid option, else the one
    chosen earlier in this browser tab (kept across pages, whose switch clears the URL and the
    widgets' own state), else ``default``; a URL value that is not an option gets a note."""
    url = st.query_params.get(key)
    for value in (url, st.session_state.get(f"kept_{key}")):
        if value is not None:
            for o in options:
                if str(o) == str(value):
                    return o
    if url is not None:  # the user's text is not echoed back
        st.caption(f"The link's `{key}` is not one of the choices here; showing {default}.")
    return default


def keep(key: str, value) -> None:
    """Remember a choice for the other pages (``query_choice``) and put it in the URL."""
    st.session_state[f"kept_{key}"] = value
    st.query_params[key] = str(value)


def dataset_and_model(default_model: str = "egno", models_key: str = "model") -> tuple[str, str]:
    """Sidebar: dataset and model pickers (state in the URL and carried across pages), device
    and checkpoint card."""
    names = [d for d in dataset_names() if shipped_models(d)]
    if not names:
        st.error("No shipped checkpoints in assets/checkpoints. Train them with scripts/train_nbody.sh.")
        st.stop()
    with st.sidebar:
        dataset = st.selectbox("dataset", names, index=names.index(query_choice("dataset", names, names[0])),
                               key="dataset")
        models = shipped_models(dataset)
        default = query_choice(models_key, models, default_model if default_model in models else models[0])
        model = st.selectbox("model", models, index=models.index(default), key=models_key)
        keep("dataset", dataset)
        keep(models_key, model)
        show_card(dataset, model)
    return dataset, model


def show_card(dataset: str, model: str) -> None:
    """The checkpoint at a glance: test and validation errors, size, training time, the command
    that trained it; the whole card as JSON on request."""
    loaded = load_model(dataset, model)
    card = loaded.card
    path = loaded.path.resolve()
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    metrics = card.get("metrics", {})
    lines = [f"device **{DEVICE}** · checkpoint `{shown.name}` in `{shown.parent}`"]
    for split in ("test", "val"):
        m = metrics.get(split)
        if m:
            lines.append(f"{split}: F-MSE **{m['f_mse']:.4g}** · A-MSE {m['a_mse']:.4g} "
                         f"({m['n_samples']} samples, P = {m['timesteps']})")
    facts = []
    if card.get("parameters"):
        facts.append(f"{card['parameters']:,} parameters")
    if card.get("wall_time_s"):
        facts.append(f"trained {card['wall_time_s'] / 60:.0f} min on {card.get('device', '?')}")
    if card.get("best_epoch") is not None:
        facts.append(f"best epoch {card['best_epoch']} of {card.get('epochs_run', '?')}")
    if facts:
        lines.append(" · ".join(facts))
    st.caption("  \n".join(lines))
    with st.expander("checkpoint card"):
        if card.get("command"):
            st.code(card["command"], language="bash", wrap_lines=True)
        if st.toggle("raw JSON", key=f"raw_card_{dataset}_{model}"):
            st.json({k: v for k, v in card.items() if k != "history"}, expanded=1)


def draw_sample(family, out: dict, meta: dict, errors: dict | None, title: str, key: str,
                filename: str, highlight: str = "egno", error_max: float | None = None,
                colour_title: str | None = None, start_frame: int = 0,
                names: tuple[str, str] = ("ground truth", "prediction"),
                band: tuple[np.ndarray, np.ndarray] | None = None, band_name: str = "") -> None:
    """Draw one prediction (``egno.service.inference.predict_one``'s dict) the way its family is best seen,
    with the frame player (app/player.py) on every view: proteins (backbone trace) and molecules
    (sticks) in 3Dmol next to an error chart that marks the shown frame; skeletons and particles
    in plotly. Nodes are coloured by ``out.node_error`` on a scale from 0 to ``error_max``
    (default: the window's largest), titled ``colour_title``; ``highlight``: the model drawn
    thickest in the error chart; ``names``: the legend's names of reference and prediction
    (plotly views); ``band``: a shaded range (low, high per frame) on the error chart, named
    ``band_name`` (the predicted error's). Every page that shows a trajectory calls this."""
    if errors and out.still_mse is not None:  # the reference every model should beat
        errors = {**errors, NO_MOTION: out.still_mse}
    times, unit = out.t * out.window, short_unit(family.time_unit)
    length = short_unit(family.length_unit)
    labels = time_labels(times, unit)
    config = {"toImageButtonOptions": {"format": "png", "filename": filename}}
    colour_title = colour_title or f"squared error ({length}²)"
    if family.view in IN_3DMOL:
        from app.mol3d import family_view, show

        st.caption(title)
        options = dict(labels=labels, error_max=error_max, colour_title=colour_title, group=key,
                       start=start_frame)
        left, right = st.columns([3, 2]) if errors else (st.container(), None)
        with left:
            view, what = family_view(family, out, meta, **options)
            if colour_title.startswith("deviation"):  # Equivariance colours by deviation, not error
                what = what.replace("error", "deviation")
            show(view, height=MOL_VIEW_HEIGHT)
            if out.truth is not None:
                st.caption(f"3Dmol: reference as {what} (colour bar: one scale for the whole window)."
                           " Drag to rotate, scroll to zoom.")
            else:
                st.caption("3Dmol: no ground truth at these times, so no error colours. Drag to "
                           "rotate, scroll to zoom.")
        if right is not None:
            with right:
                chart = error_chart(errors, times, unit, "error versus time (this sample)", length,
                                    highlight=highlight, marker=True, band=band, band_name=band_name)
                plotly_view(chart, key=f"{key}_errors", config=config,
                            listen=(key, [0.0, *map(float, times)]))
        return
    fig = animated_figure(out.x, out.pred, out.truth, out.node_error, times, unit,
                          errors=errors, title=title, length_unit=length,
                          highlight=highlight, error_max=error_max, colour_title=colour_title,
                          start_frame=start_frame, names=names, band=band, band_name=band_name,
                          members=out.members, **plot_options(family, meta))
    plotly_view(fig, key=key, config=config, start=start_frame)


OVERLAY_HELP = "truth and prediction overlaid, one frame per time, rendered on the server"


def animation_downloads(out: dict, family, meta: dict, stem: str, title: str, key: str,
                        help: str = OVERLAY_HELP, colour_title: str | None = None) -> None:
    """GIF and MP4 download buttons for one drawn prediction (``draw_sample``'s ``out``), rendered
    on the server only when clicked (egno/service/render.py), as `python -m egno render` does;
    ``colour_title``: what the nodes' colours are, when not the squared error."""
    for col, suffix, mime in zip(st.columns(3)[:2], (".gif", ".mp4"), ("image/gif", "video/mp4")):
        col.download_button(f"animation ({suffix[1:].upper()})",
                            partial(animation_bytes, out, family, meta, suffix, title, colour_title=colour_title),
                            f"{stem}{suffix}", mime, key=f"{key}_{suffix[1:]}", on_click="ignore", help=help)
