"""Shared app pieces: cached models and data, the sidebar pickers and drawing one prediction."""
from __future__ import annotations

import streamlit as st
import torch

from app.figures import animated_figure, error_chart
from app.plotview import plotly_view
from egno import get_dataset, resolve_checkpoint
from egno.checkpoint import shipped_models
from egno.data import dataset_names
from egno.explore import test_windows
from egno.paths import ROOT

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
# what Streamlit lets through (server.maxUploadSize in .streamlit/config.toml, MB): the pages state it
MAX_UPLOAD_BYTES = st.get_option("server.maxUploadSize") * 2**20
# torch threads per inference: fewer than cores keeps concurrent sessions from stalling each other
torch.set_num_threads(1)


@st.cache_resource(show_spinner="loading checkpoint…")
def load_model(dataset: str, model: str):
    """Each shipped checkpoint is loaded once per server process and shared by all sessions."""
    return resolve_checkpoint(dataset, model, DEVICE)


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
    chosen earlier in this session (kept across pages, whose switch clears the URL and the
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
    loaded = load_model(dataset, model)
    card = loaded.card
    st.caption(f"device: **{DEVICE}**")
    path = loaded.path.resolve()
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    st.caption(f"checkpoint: `{shown}`")
    test = card.get("metrics", {}).get("test")
    if test:
        st.caption(f"test F-MSE {test['f_mse']:.4f} · A-MSE {test['a_mse']:.4f} "
                   f"({test['n_samples']} samples, P = {test['timesteps']})")
    with st.expander("checkpoint card"):
        st.json({k: v for k, v in card.items() if k != "history"}, expanded=False)


def draw_sample(family, out: dict, meta: dict, errors: dict | None, title: str, key: str,
                filename: str) -> None:
    """Draw one prediction the way its family is best seen: proteins in 3Dmol (backbone trace,
    residues coloured by error) next to an error chart; skeletons and particles in plotly."""
    times, unit = out["t"] * out["window"], short_unit(family.time_unit)
    length = short_unit(family.length_unit)
    config = {"toImageButtonOptions": {"format": "png", "filename": filename}}
    if family.view in ("protein", "molecule"):
        from app.mol3d import molecule_view, protein_view, show

        left, right = st.columns([3, 2])
        with left:
            if family.view == "protein":
                show(protein_view(out, meta), height=520)
                what = ("thin green trace; prediction as a thick trace coloured by each residue's "
                        "squared error")
            else:
                show(molecule_view(out, meta["symbols"]), height=520)
                what = "thin green sticks; prediction as sticks and atoms coloured by squared error"
            if out["truth"] is not None:
                st.caption("3Dmol, looping over the input and the P predicted frames: ground truth as "
                           f"{what} (relative to the largest error in the window: blue low → red "
                           "high). Drag to rotate, scroll to zoom.")
            else:
                st.caption("3Dmol, looping over the input and the P predicted frames (no ground "
                           "truth at those times, so no error colours). Drag to rotate, "
                           "scroll to zoom.")
        with right:
            if errors:
                plotly_view(error_chart(errors, times, unit, "error versus time (this sample)", length),
                            key=f"{key}_errors", config=config)
        return
    edges = meta.get("bones", getattr(family, "bones", None))
    options = {}
    if family.view == "skeleton":
        from egno.data.mocap import trail_joints

        names = meta.get("joints") or family.joints
        options = dict(trail_nodes=trail_joints(names, edges), follow=True, up="y", node_names=names)
    fig = animated_figure(out["x"], out["pred"], out["truth"], out["node_error"], times, unit,
                          errors=errors, edges=edges, title=title, length_unit=length, **options)
    plotly_view(fig, key=key, config=config)
