"""Shared app pieces: cached models and data, the sidebar, and plotly drawing."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from egno import get_dataset, resolve_checkpoint  # noqa: E402
from egno.checkpoint import shipped_models  # noqa: E402
from egno.data import dataset_names  # noqa: E402
from egno.explore import test_windows  # noqa: E402
from plotview import plotly_view  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
TRUTH_COLOUR, PRED_COLOUR, INPUT_COLOUR = "#2b8a3e", "#d9480f", "#495057"
MODEL_COLOURS = {"egno": "#7048e8", "egnn": "#1c7ed6", "egnn-r": "#a61e4d", "egnn-s": "#0c8599",
                 "gnn": "#868e96", "linear": "#212529"}
ERROR_SCALE = [[0.0, "#ffa94d"], [0.5, "#e8590c"], [1.0, "#5c0a0a"]]  # prediction nodes by error
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
    widgets' own state), else ``default``."""
    for value in (st.query_params.get(key), st.session_state.get(f"kept_{key}")):
        if value is not None:
            for o in options:
                if str(o) == str(value):
                    return o
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


def _xyz(points: np.ndarray) -> dict:
    return dict(x=points[:, 0], y=points[:, 1], z=points[:, 2])


def _bone_xyz(pos: np.ndarray, edges: np.ndarray) -> dict:
    seg = np.full((edges.shape[1], 3, 3), np.nan)
    seg[:, 0], seg[:, 1] = pos[edges[0]], pos[edges[1]]
    return _xyz(seg.reshape(-1, 3))


def _bounds(*paths):
    pts = np.concatenate([p.reshape(-1, 3) for p in paths if p is not None])
    centre = (pts.max(0) + pts.min(0)) / 2
    half = (pts.max(0) - pts.min(0)).max() / 2 * 1.1 + 1e-6
    return centre - half, centre + half


def _follow_box(pred_path, truth_path, k: int):
    """A fixed-size box around frame k (for a camera that follows a moving body)."""
    both = [a for a in (pred_path, truth_path) if a is not None]
    spread = np.concatenate([a - a.mean(1, keepdims=True) for a in both])
    half = max(float(np.abs(spread).max()) * 1.25, 1e-6)
    centre = np.concatenate([a[k] for a in both]).mean(0)
    return centre - half, centre + half


def _scene_ranges(lo, hi) -> dict:
    return dict(scene=dict(xaxis=dict(range=[lo[0], hi[0]]), yaxis=dict(range=[lo[1], hi[1]]),
                           zaxis=dict(range=[lo[2], hi[2]])))


def mse_title(length_unit: str) -> str:
    return f"MSE ({length_unit}²)" if length_unit else "MSE"


def error_chart(errors: dict[str, np.ndarray], times: np.ndarray, unit: str, title: str,
                length_unit: str = "") -> go.Figure:
    """Per-frame MSE of several models against time (log scale). Margins leave room for the
    tick labels and axis titles (with none, plotly draws them outside the element, unseen)."""
    fig = go.Figure()
    for name, err in errors.items():
        fig.add_scatter(x=times, y=err, mode="lines+markers", name=name,
                        line=dict(width=4 if name == "egno" else 2, color=MODEL_COLOURS.get(name)))
    fig.update_layout(title=title, height=380, margin=dict(l=70, r=10, t=40, b=55),
                      xaxis_title=f"time after the input ({unit})", yaxis_title=mse_title(length_unit),
                      yaxis_type="log", yaxis_exponentformat="power")
    return fig


def animated_figure(x0: np.ndarray, pred: np.ndarray, truth: np.ndarray | None,
                    node_error: np.ndarray | None, times: np.ndarray, unit: str,
                    errors: dict[str, np.ndarray] | None = None, edges: np.ndarray | None = None,
                    trails: bool = True, title: str = "", start_frame: int = 0,
                    trail_nodes: list[int] | None = None, follow: bool = False, up: str = "z",
                    node_names: list[str] | None = None, length_unit: str = "",
                    error_max: float | None = None) -> go.Figure:
    """Left: 3D view (trails of the window, ground truth green, prediction orange with nodes
    coloured by their squared error at the shown frame). Right: error versus time of this sample
    for several models with the shown frame marked. Play/pause and a frame slider drive both.
    Frame 0 is the input state, frame p the p-th target time. ``trail_nodes``: only these nodes
    get trails; ``follow``: the camera box moves with the body; ``up``: the vertical axis;
    ``error_max``: the top of the error colour scale (default: this window's largest error), so
    figures side by side can share one scale."""
    from plotly.subplots import make_subplots

    with_errors = bool(errors)
    fig = make_subplots(rows=1, cols=2 if with_errors else 1,
                        specs=[[{"type": "scene"}, {"type": "xy"}]] if with_errors else [[{"type": "scene"}]],
                        column_widths=[0.6, 0.4] if with_errors else None, horizontal_spacing=0.1,
                        subplot_titles=("trajectory", "error versus time (this sample)") if with_errors else None)
    n, p = x0.shape[0], pred.shape[0]
    pred_path = np.concatenate([x0[None], pred])  # P+1, N, 3
    truth_path = None if truth is None else np.concatenate([x0[None], truth])
    t_all = np.concatenate([[0.0], np.asarray(times)])
    if trails:
        for path, colour, name, dash in ((pred_path, PRED_COLOUR, "prediction trail", None),
                                         (truth_path, TRUTH_COLOUR, "ground-truth trail", "dash")):
            if path is None:
                continue
            nodes = path.transpose(1, 0, 2)
            if trail_nodes is not None:
                nodes = nodes[trail_nodes]
            seg = np.concatenate([nodes, np.full((len(nodes), 1, 3), np.nan)], axis=1)
            fig.add_scatter3d(**_xyz(seg.reshape(-1, 3)), mode="lines", name=name, opacity=0.6,
                              line=dict(color=colour, width=3, dash=dash), row=1, col=1)
    cmax = None
    if node_error is not None:
        cmax = float(max(error_max if error_max is not None else node_error.max(), 1e-12))

    def dynamic(k: int) -> list:
        traces = []
        if edges is not None:
            traces.append(go.Scatter3d(**_bone_xyz(pred_path[k], edges), mode="lines",
                                       line=dict(color=PRED_COLOUR, width=5), name="prediction bones"))
            if truth_path is not None:
                traces.append(go.Scatter3d(**_bone_xyz(truth_path[k], edges), mode="lines",
                                           line=dict(color=TRUTH_COLOUR, width=5),
                                           name="ground-truth bones"))
        if truth_path is not None:
            traces.append(go.Scatter3d(**_xyz(truth_path[k]), mode="markers", name="ground truth",
                                       marker=dict(size=7, color=TRUTH_COLOUR, symbol="diamond-open")))
        marker = dict(size=6, color=PRED_COLOUR)
        if node_error is not None:
            err = np.zeros(n) if k == 0 else node_error[k - 1]
            marker = dict(size=6, color=err, colorscale=ERROR_SCALE, cmin=0, cmax=cmax,
                          colorbar=dict(title="sq. error", x=0.5 if with_errors else 1.0, len=0.5,
                                        thickness=12))
        traces.append(go.Scatter3d(**_xyz(pred_path[k]), mode="markers", name="prediction",
                                   marker=marker, text=node_names or [f"node {i}" for i in range(n)]))
        if with_errors:
            ys = np.concatenate([v for v in errors.values()])
            lo, hi = float(np.nanmin(ys[ys > 0])) if (ys > 0).any() else 1e-6, float(np.nanmax(ys))
            traces.append(go.Scatter(x=[t_all[k], t_all[k]], y=[lo, hi], mode="lines",
                                     line=dict(color="black", dash="dot"), name="shown frame"))
        return traces

    first = len(fig.data)
    for tr in dynamic(start_frame):
        fig.add_trace(tr, row=1, col=2 if isinstance(tr, go.Scatter) else 1)
    dyn_idx = list(range(first, len(fig.data)))
    if with_errors:
        for name, err in errors.items():
            fig.add_scatter(x=times, y=err, mode="lines+markers", name=f"{name} MSE",
                            line=dict(width=4 if name == "egno" else 2,
                                      color=MODEL_COLOURS.get(name)), row=1, col=2)
        fig.update_yaxes(type="log", title_text=mse_title(length_unit), exponentformat="power",
                         row=1, col=2)
        fig.update_xaxes(title_text=f"time after the input ({unit})", row=1, col=2)
    lo, hi = _bounds(pred_path, truth_path)
    boxes = [_follow_box(pred_path, truth_path, k) for k in range(p + 1)] if follow else None
    fig.frames = [go.Frame(data=dynamic(k), traces=dyn_idx, name=str(k),
                           layout=_scene_ranges(*boxes[k]) if follow else None) for k in range(p + 1)]
    if follow:
        lo, hi = boxes[start_frame]
    labels = ["input"] + [f"t={t:.4g}" for t in times]
    fig.update_layout(
        title=dict(text=title, y=0.99, yanchor="top"), height=715, margin=dict(l=0, r=0, t=130, b=165),
        uirevision="keep", legend=dict(orientation="h", yanchor="bottom", y=1.04, x=0),
        scene=dict(aspectmode="cube", xaxis=dict(range=[lo[0], hi[0]]),
                   yaxis=dict(range=[lo[1], hi[1]]), zaxis=dict(range=[lo[2], hi[2]]),
                   camera=dict(up={a: float(a == up) for a in "xyz"},
                               eye=dict(x=1.6, y=0.6, z=1.2) if up == "y" else None)),
        updatemenus=[dict(type="buttons", direction="left", x=0.0, y=0.0, xanchor="left", pad=dict(t=70),
                          yanchor="top", buttons=[
                              dict(label="▶ play", method="animate",
                                   args=[None, dict(frame=dict(duration=400, redraw=True),
                                                    transition=dict(duration=0), fromcurrent=True)]),
                              dict(label="❚❚ pause", method="animate",
                                   args=[[None], dict(mode="immediate", frame=dict(duration=0))]),
                          ])],
        sliders=[dict(active=start_frame, x=0.15, len=0.82, y=0.0, yanchor="top", pad=dict(t=62),
                      # the current value at the right end: in a narrow figure the play and pause
                      # buttons cover the left one
                      currentvalue=dict(prefix=f"frame (t in {unit}): ", xanchor="right"),
                      steps=[dict(label=labels[k], method="animate",
                                  args=[[str(k)], dict(mode="immediate", frame=dict(duration=0, redraw=True))])
                             for k in range(p + 1)])],
    )
    return fig


def draw_sample(family, out: dict, meta: dict, errors: dict | None, title: str, key: str,
                filename: str) -> None:
    """Draw one prediction the way its family is best seen: proteins in 3Dmol (backbone trace,
    residues coloured by error) next to an error chart; skeletons and particles in plotly."""
    times, unit = out["t"] * out["window"], short_unit(family.time_unit)
    length = short_unit(family.length_unit)
    config = {"toImageButtonOptions": {"format": "png", "filename": filename}}
    if family.view in ("protein", "molecule"):
        from mol3d import molecule_view, protein_view, show

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
