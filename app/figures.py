"""Plotly figures the pages draw: trajectories with an error chart, error curves, the RMSD
chart and the resolution sweep. One colour palette for all of them."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.player import time_labels

TRUTH_COLOUR, PRED_COLOUR, INPUT_COLOUR = "#2b8a3e", "#d9480f", "#495057"
MEMBER_COLOUR = "#cc5de8"  # a deep ensemble's other members: no model's colour, not the prediction's
MODEL_COLOURS = {"egno": "#7048e8", "egnn": "#1c7ed6", "egnn-r": "#a61e4d", "egnn-s": "#0c8599",
                 "gnn": "#868e96", "linear": "#212529"}
IN_3DMOL = ("protein", "molecule")  # the drawing kinds (DatasetFamily.view) shown with 3Dmol
ERROR_SCALE = [[0.0, "#ffa94d"], [0.5, "#e8590c"], [1.0, "#5c0a0a"]]  # prediction nodes by error


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


NO_MOTION = "no motion"  # the reference line: the error of leaving every node where it is


def line_width(name: str, highlight: str) -> int:
    """The chosen model's line is the thickest."""
    return 5 if name == highlight else 2


def error_line(name: str, highlight: str) -> dict:
    """A model's line in an error chart; the no-motion reference dashed grey."""
    if name == NO_MOTION:
        return dict(width=2, color="#868e96", dash="dash")
    return dict(width=line_width(name, highlight), color=MODEL_COLOURS.get(name))


def error_span(errors: dict[str, np.ndarray]) -> tuple[float, float]:
    """The smallest and largest positive finite error, for a marker line on a log axis (a diverged
    model's inf and a frame without truth's NaN are left out)."""
    ys = np.concatenate([np.asarray(v, dtype=float) for v in errors.values()])
    ys = ys[np.isfinite(ys) & (ys > 0)]
    return (float(ys.min()), float(ys.max())) if len(ys) else (1e-6, 1.0)


BAND_FILL = "rgba(112, 72, 232, 0.18)"  # egno's purple, faint


def add_band(fig: go.Figure, times: np.ndarray, band: tuple[np.ndarray, np.ndarray], name: str,
             **where) -> None:
    """A shaded range between band[0] and band[1] over ``times`` (a predicted range of the error),
    one legend entry; ``where``: row and col of a subplot."""
    lo, hi = (np.asarray(b, dtype=float) for b in band)
    fig.add_scatter(x=times, y=hi, mode="lines", line=dict(width=0), hoverinfo="skip",
                    showlegend=False, legendgroup=name, **where)
    fig.add_scatter(x=times, y=lo, mode="lines", line=dict(width=0), fill="tonexty", fillcolor=BAND_FILL,
                    name=name, legendgroup=name, **where)


def error_chart(errors: dict[str, np.ndarray], times: np.ndarray, unit: str, title: str,
                length_unit: str = "", highlight: str = "egno", marker: bool = False,
                band: tuple[np.ndarray, np.ndarray] | None = None, band_name: str = "") -> go.Figure:
    """Per-frame MSE of several models against time (log scale). Margins leave room for the
    tick labels and axis titles (with none, plotly draws them outside the element, unseen).
    ``marker``: a dotted 'shown frame' line at the input (t = 0), moved by a player beside it."""
    fig = go.Figure()
    if band is not None:
        add_band(fig, times, band, band_name)
    for name, err in errors.items():
        fig.add_scatter(x=times, y=err, mode="lines" if name == NO_MOTION else "lines+markers", name=name,
                        line=error_line(name, highlight))
    if marker:
        lo, hi = error_span(errors)
        fig.add_scatter(x=[0.0, 0.0], y=[lo, hi], mode="lines", name="shown frame",
                        line=dict(color="black", dash="dot"))
    fig.update_layout(title=title, height=380, margin=dict(l=70, r=10, t=40, b=55),
                      xaxis_title=f"time ({unit})", yaxis_title=mse_title(length_unit),
                      yaxis_type="log", yaxis_exponentformat="power")
    return fig


def rmsd_chart(times: np.ndarray, unaligned: np.ndarray, aligned: np.ndarray, unit: str,
               length_unit: str, model: str) -> go.Figure:
    """RMSD per frame of one prediction as it is and superposed on the truth (Kabsch per frame):
    the gap between the two is orientation and position error, what remains is shape error."""
    fig = go.Figure()
    fig.add_scatter(x=times, y=unaligned, mode="lines+markers", name="as predicted",
                    line=dict(color=MODEL_COLOURS.get(model, PRED_COLOUR), width=3))
    fig.add_scatter(x=times, y=aligned, mode="lines+markers", name="superposed (Kabsch)",
                    line=dict(color=MODEL_COLOURS.get(model, PRED_COLOUR), width=3, dash="dash"))
    fig.update_layout(title=f"{model}: RMSD versus time", height=320,
                      margin=dict(l=70, r=10, t=40, b=55), legend=dict(orientation="h", y=-0.3),
                      xaxis_title=f"time ({unit})",
                      yaxis_title=f"RMSD ({length_unit})" if length_unit else "RMSD")
    return fig


def animated_figure(x0: np.ndarray, pred: np.ndarray, truth: np.ndarray | None,
                    node_error: np.ndarray | None, times: np.ndarray, unit: str,
                    errors: dict[str, np.ndarray] | None = None, edges: np.ndarray | None = None,
                    trails: bool = True, title: str = "", start_frame: int = 0,
                    trail_nodes: list[int] | None = None, follow: bool = False, up: str = "z",
                    node_names: list[str] | None = None, length_unit: str = "",
                    error_max: float | None = None, highlight: str = "egno",
                    colour_title: str | None = None,
                    names: tuple[str, str] = ("ground truth", "prediction"),
                    band: tuple[np.ndarray, np.ndarray] | None = None, band_name: str = "",
                    members: np.ndarray | None = None) -> go.Figure:
    """Left: 3D view (trails of the window, ground truth green, prediction orange with nodes
    coloured by their squared error at the shown frame). Right: error versus time of this sample
    for several models with the shown frame marked. Play/pause and a frame slider drive both.
    Frame 0 is the input state, frame p the p-th target time. ``trail_nodes``: only these nodes
    get trails; ``follow``: the camera box moves with the body; ``up``: the vertical axis;
    ``error_max``: the top of the error colour scale (default: this window's largest error), so
    figures side by side can share one scale; ``highlight``: the model drawn thickest; ``names``:
    the legend's names of the reference and the prediction; ``colour_title``: the colour bar's
    title (default: squared error); ``members``: a deep ensemble's predictions (K, P, N, 3),
    drawn as faint trails. The player under the figure plays the frames (app/plotview.py)."""
    with_errors, (truth_name, pred_name) = bool(errors), names
    fig = _trajectory_subplots(with_errors)
    n, p = x0.shape[0], pred.shape[0]
    truth_dash = truth_name.replace("ground truth", "ground-truth")
    pred_path = np.concatenate([x0[None], pred])  # P+1, N, 3
    truth_path = None if truth is None else np.concatenate([x0[None], truth])
    t_all = np.concatenate([[0.0], np.asarray(times)])
    _add_trails(fig, ((pred_path, PRED_COLOUR, f"{pred_name} trail", None),
                      (truth_path, TRUTH_COLOUR, f"{truth_dash} trail", "dash")) if trails else (), trail_nodes)
    _add_members(fig, x0, members, trail_nodes)
    cmax, mse_unit = None, f"{length_unit}²" if length_unit else "squared length"
    if node_error is not None:
        cmax = float(max(error_max if error_max is not None else node_error.max(), 1e-12))

    def dynamic(k: int) -> list:
        traces = []
        if edges is not None:
            traces.append(go.Scatter3d(**_bone_xyz(pred_path[k], edges), mode="lines",
                                       line=dict(color=PRED_COLOUR, width=5), name=f"{pred_name} bones"))
            if truth_path is not None:
                traces.append(go.Scatter3d(**_bone_xyz(truth_path[k], edges), mode="lines",
                                           line=dict(color=TRUTH_COLOUR, width=5),
                                           name=f"{truth_dash} bones"))
        if truth_path is not None:
            traces.append(go.Scatter3d(**_xyz(truth_path[k]), mode="markers", name=truth_name,
                                       marker=dict(size=7, color=TRUTH_COLOUR, symbol="diamond-open")))
        marker = dict(size=6, color=PRED_COLOUR)
        if node_error is not None:
            err = np.zeros(n) if k == 0 else node_error[k - 1]
            # a horizontal bar under the 3D scene: beside it, it ran into the error chart's axis
            marker = dict(size=6, color=err, colorscale=ERROR_SCALE, cmin=0, cmax=cmax,
                          colorbar=dict(title=dict(text=colour_title or f"squared error ({mse_unit})",
                                                   side="top"),
                                        orientation="h", x=0.27 if with_errors else 0.5,
                                        xanchor="center", y=-0.02, yanchor="top",
                                        len=0.5 if with_errors else 0.8, thickness=10,
                                        exponentformat="power"))
        traces.append(go.Scatter3d(**_xyz(pred_path[k]), mode="markers", name=pred_name,
                                   marker=marker, text=node_names or [f"node {i}" for i in range(n)]))
        if with_errors:
            lo, hi = error_span(errors)
            traces.append(go.Scatter(x=[t_all[k], t_all[k]], y=[lo, hi], mode="lines",
                                     line=dict(color="black", dash="dot"), name="shown frame"))
        return traces

    first = len(fig.data)
    for tr in dynamic(start_frame):
        fig.add_trace(tr, row=1, col=2 if isinstance(tr, go.Scatter) else 1)
    dyn_idx = list(range(first, len(fig.data)))
    if with_errors:
        _add_error_lines(fig, errors, times, unit, length_unit, highlight, band, band_name)
    lo, hi = _bounds(pred_path, truth_path)
    boxes = [_follow_box(pred_path, truth_path, k) for k in range(p + 1)] if follow else None
    fig.frames = [go.Frame(data=dynamic(k), traces=dyn_idx, name=str(k),
                           layout=_scene_ranges(*boxes[k]) if follow else None) for k in range(p + 1)]
    if follow:
        lo, hi = boxes[start_frame]
    fig.update_layout(**_trajectory_layout(title, time_labels(times, unit), lo, hi, up, node_error is not None))
    return fig


def _trajectory_subplots(with_errors: bool) -> go.Figure:
    """The 3D scene, with the error chart beside it when there are errors to draw."""
    if not with_errors:
        return make_subplots(rows=1, cols=1, specs=[[{"type": "scene"}]], horizontal_spacing=0.1)
    return make_subplots(rows=1, cols=2, specs=[[{"type": "scene"}, {"type": "xy"}]], column_widths=[0.6, 0.4],
                         horizontal_spacing=0.1, subplot_titles=("trajectory", "error versus time (this sample)"))


def _trajectory_layout(title: str, labels: list[str], lo, hi, up: str, colour_bar: bool) -> dict:
    """The trajectory figure's layout: a cube scene over [lo, hi] with ``up`` vertical, the legend
    on top, room below for the colour bar, the player's frame labels in ``meta``."""
    return dict(
        meta={"frame_labels": labels},  # the player's names of the frames
        # the title on the first line, the legend hung below it (both in the container's frame), so
        # a legend that wraps to more rows in a narrow column grows down, never into the title
        title=dict(text=title, y=0.985, yref="container", yanchor="top"), height=640,
        margin=dict(l=0, r=0, t=150, b=90 if colour_bar else 10),
        uirevision="keep", legend=dict(orientation="h", yref="container", yanchor="top", y=0.94, x=0),
        scene=dict(aspectmode="cube", xaxis=dict(range=[lo[0], hi[0]]),
                   yaxis=dict(range=[lo[1], hi[1]]), zaxis=dict(range=[lo[2], hi[2]]),
                   camera=dict(up={a: float(a == up) for a in "xyz"},
                               eye=dict(x=1.6, y=0.6, z=1.2) if up == "y" else None)),
    )


def _trail_xyz(path: np.ndarray, trail_nodes: list[int] | None) -> dict:
    """Each node's path (F, N, 3) over the window as one line broken between nodes."""
    nodes = path.transpose(1, 0, 2)
    if trail_nodes is not None:
        nodes = nodes[trail_nodes]
    return _xyz(np.concatenate([nodes, np.full((len(nodes), 1, 3), np.nan)], axis=1).reshape(-1, 3))


def _add_trails(fig: go.Figure, paths, trail_nodes: list[int] | None) -> None:
    """Each node's path over the window, for (path (F, N, 3) or None, colour, name, dash) in
    ``paths``; only ``trail_nodes`` when given."""
    for path, colour, name, dash in paths:
        if path is not None:
            fig.add_scatter3d(**_trail_xyz(path, trail_nodes), mode="lines", name=name, opacity=0.6,
                              line=dict(color=colour, width=3, dash=dash), row=1, col=1)


def _add_members(fig: go.Figure, x0: np.ndarray, members: np.ndarray | None,
                 trail_nodes: list[int] | None) -> None:
    """A deep ensemble's other members (``members[1:]``; the first is the drawn prediction) as
    faint trails, one legend entry for them all; nothing without members."""
    for k, pred in enumerate([] if members is None else members[1:]):
        fig.add_scatter3d(**_trail_xyz(np.concatenate([x0[None], pred]), trail_nodes), mode="lines",
                          name="other ensemble members", legendgroup="members", showlegend=k == 0,
                          opacity=0.6, line=dict(color=MEMBER_COLOUR, width=3), row=1, col=1)


def _add_error_lines(fig: go.Figure, errors: dict, times, unit: str, length_unit: str, highlight: str,
                     band: tuple[np.ndarray, np.ndarray] | None = None, band_name: str = "") -> None:
    """Every model's error versus time in the right-hand panel, on a log axis; ``band`` shaded."""
    if band is not None:
        add_band(fig, times, band, band_name, row=1, col=2)
    for name, err in errors.items():
        fig.add_scatter(x=times, y=err, mode="lines" if name == NO_MOTION else "lines+markers",
                        name=name if name == NO_MOTION else f"{name} MSE", line=error_line(name, highlight),
                        row=1, col=2)
    fig.update_yaxes(type="log", title_text=mse_title(length_unit), exponentformat="power", row=1, col=2)
    fig.update_xaxes(title_text=f"time ({unit})", row=1, col=2)


def sweep_chart(shown, metric: str, label: str, unit: str, trained: int, ps: list, n_samples: int,
                highlight: str = "egno") -> go.Figure:
    """One error metric of a resolution sweep against P (log-log), a line per model and the
    trained P marked; ``shown``: the sweep's rows that did not diverge."""
    fig = go.Figure()
    for m, part in shown.groupby("model", sort=False):
        fig.add_scatter(x=part["P"], y=part[metric], mode="lines+markers", name=m,
                        line=dict(width=line_width(m, highlight), color=MODEL_COLOURS.get(m)))
    # the trained P as a trace, not a shape: shapes on log axes take log10 coordinates
    lo, hi = float(shown[metric].min()), float(shown[metric].max())
    fig.add_scatter(x=[trained, trained], y=[lo, hi], mode="lines+text", name=f"trained P = {trained}",
                    line=dict(color="black", dash="dot"), text=["", f"trained P = {trained}"],
                    textposition="top right", showlegend=False)
    fig.update_layout(title=f"{label} versus P ({n_samples} test samples)",
                      xaxis_title="P (output frames per window)", yaxis_title=f"{label} ({unit}²)",
                      xaxis_type="log", yaxis_type="log", height=380,
                      xaxis=dict(tickvals=sorted(ps)), yaxis_exponentformat="power",
                      margin=dict(l=70, r=10, t=40, b=50))
    return fig


def plot_options(family, meta: dict) -> dict:
    """``animated_figure`` options a family's drawing kind needs: a skeleton's bones, joint
    names, the trails of its extremities and the camera that follows it, y up."""
    edges = meta.get("bones", getattr(family, "bones", None))
    if family.view != "skeleton":
        return {"edges": edges}
    from egno.data.mocap import trail_joints

    joints = meta.get("joints") or family.joints
    return dict(edges=edges, trail_nodes=trail_joints(joints, edges), follow=True, up="y", node_names=joints)
