"""Figures of the Long horizon page: window boundaries on the trajectory view, error versus
horizon and the physical checks over time."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.figures import MEMBER_COLOUR, MODEL_COLOURS, error_chart

BOUNDARY = dict(color="#adb5bd", dash="dot", width=1)


def mark_windows(fig: go.Figure, windows: int, window: float, axis: int = 1) -> go.Figure:
    """Dotted vertical lines at each window's end (k ΔT, k = 1..K − 1) on the figure's
    ``axis``-th 2D x axis (shapes by axis reference: add_vline refuses figures with a 3D scene)."""
    x, y = ("x", "y") if axis == 1 else (f"x{axis}", f"y{axis}")
    for k in range(1, windows):
        fig.add_shape(type="line", xref=x, yref=f"{y} domain", x0=k * window, x1=k * window,
                      y0=0, y1=1, line=BOUNDARY)
    return fig


def label_windows(fig: go.Figure, timesteps: int) -> go.Figure:
    """The player's frame labels as 'w k · t=…', so the window of each frame shows (frame 0 is
    the input)."""
    meta = dict(fig.layout.meta) if isinstance(fig.layout.meta, dict) else {}
    labels = meta.get("frame_labels")
    if labels:
        meta["frame_labels"] = [labels[0]] + [f"w{i // timesteps + 1} · {label}"
                                              for i, label in enumerate(labels[1:])]
        fig.update_layout(meta=meta)
    return fig


def horizon_chart(errors: dict[str, np.ndarray], times: np.ndarray, windows: int, window: float,
                  unit: str, length_unit: str, band: tuple[np.ndarray, np.ndarray] | None = None,
                  band_name: str = "", spread: np.ndarray | None = None,
                  threshold: float | None = None) -> go.Figure:
    """Per-frame MSE of each model's chained rollout against time (log axis), windows marked;
    ``band``: a predicted range of the error, shaded; ``spread``: a deep ensemble's spread at each
    window's end (K, a length: drawn squared, in the error's unit), with the ``threshold`` past
    which a rollout counts as no longer predictable as a dashed line."""
    fig = error_chart(errors, times, unit, "error versus horizon (this sample)", length_unit,
                      band=band, band_name=band_name)
    if spread is not None:
        ends = window * np.arange(1, len(spread) + 1)
        fig.add_scatter(x=ends, y=np.asarray(spread, float) ** 2, mode="lines+markers",
                        name="ensemble spread² (members apart)", line=dict(color=MEMBER_COLOUR, dash="dot", width=2),
                        marker=dict(symbol="diamond", size=9, color=MEMBER_COLOUR))
    if threshold is not None:
        fig.add_hline(y=threshold ** 2, line=dict(color=MEMBER_COLOUR, dash="longdash", width=1.5),
                      annotation_text="no longer predictable above", annotation_position="bottom right",
                      annotation_font_color=MEMBER_COLOUR)
    return mark_windows(fig, windows, window)


LIMIT_LINE = dict(color="#f08c00", dash="dashdot", width=2)  # no model is drawn in orange


def checks_chart(checks: dict[str, dict[str, np.ndarray]], times: np.ndarray, windows: int,
                 window: float, unit: str, limits: dict[str, float], titles: dict[str, str],
                 log_scale: tuple[str, ...]) -> go.Figure:
    """One panel per physical check, titled in words: its value per frame for every model (the
    input first, at time 0; NaN past a model's divergence is a gap), the truth's where it has
    one, and the divergence limit as an orange dash-dot line labelled "limit". Checks that span
    decades (``log_scale``) on log axes."""
    names = sorted({n for c in checks.values() for n in c})
    fig = make_subplots(rows=1, cols=max(len(names), 1), subplot_titles=[titles.get(n, n) for n in names],
                        horizontal_spacing=0.08)
    t_all = np.concatenate([[0.0], times])
    for j, name in enumerate(names, start=1):
        for model, values in checks.items():
            if name in values:
                fig.add_scatter(x=t_all, y=values[name], mode="lines", name=model, legendgroup=model,
                                showlegend=j == 1, row=1, col=j,
                                line=dict(color=MODEL_COLOURS.get(model, "#2b8a3e"),
                                          width=3 if model == "egno" else 1.5))
        if name in limits:
            fig.add_hline(y=limits[name], line=LIMIT_LINE, row=1, col=j, annotation_text="limit",
                          annotation_position="top left", annotation_font_color=LIMIT_LINE["color"])
        mark_windows(fig, windows, window, axis=j)
        fig.update_xaxes(title_text=f"time ({unit})", row=1, col=j)
        if name in log_scale:
            fig.update_yaxes(type="log", exponentformat="power", row=1, col=j)
    fig.update_layout(height=360, margin=dict(l=50, r=10, t=60, b=50),
                      legend=dict(orientation="h", y=-0.25),
                      title=dict(text="physical checks over time (orange: the divergence limit)",
                                 y=0.99, yanchor="top"))
    return fig


def cut_at(values: np.ndarray, frame: int | None) -> np.ndarray:
    """``values`` per frame with NaN from ``frame`` on (None: unchanged), so a diverged model's
    numbers past its divergence never reach a chart."""
    out = np.array(values, dtype=np.float64)
    if frame is not None:
        out[frame:] = np.nan
    return out
