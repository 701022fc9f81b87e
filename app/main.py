"""EGNO Explorer: a first page over the shipped N-body checkpoints.

Pick a model and a sample trajectory from assets/samples; the page predicts the window with the
shipped checkpoint and draws prediction and ground truth in 3D. The app only draws: loading,
reading files and predicting are the ``egno`` library's.
"""
from __future__ import annotations

import sys
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from egno import get_dataset, predict, resolve_checkpoint  # noqa: E402
from egno.checkpoint import shipped_models  # noqa: E402
from egno.evaluate import frame_mse  # noqa: E402

DATASET = "nbody"
SAMPLES = ROOT / "assets" / "samples" / DATASET
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]


@st.cache_resource
def load_model(dataset: str, model: str):
    return resolve_checkpoint(dataset, model, DEVICE)


@st.cache_data
def run_prediction(dataset: str, model: str, sample: str):
    windows = get_dataset(dataset).read_file(SAMPLES / sample)
    pred = predict(load_model(dataset, model).model, windows, device=DEVICE)
    errors = frame_mse(pred, windows.target).tolist() if windows.target is not None else None
    return windows, pred.numpy(), errors


def trajectory_figure(windows, pred) -> go.Figure:
    x0 = windows.x.numpy()
    truth = windows.target.numpy() if windows.target is not None else None
    fig = go.Figure()
    for i in range(x0.shape[0]):
        colour = COLOURS[i % len(COLOURS)]
        path = [x0[i]] + list(pred[:, i])
        fig.add_scatter3d(x=[p[0] for p in path], y=[p[1] for p in path], z=[p[2] for p in path],
                          mode="lines+markers", line=dict(color=colour, width=5),
                          marker=dict(size=3), name=f"particle {i} prediction")
        if truth is not None:
            path = [x0[i]] + list(truth[:, i])
            fig.add_scatter3d(x=[p[0] for p in path], y=[p[1] for p in path],
                              z=[p[2] for p in path], mode="lines",
                              line=dict(color=colour, width=3, dash="dash"),
                              name=f"particle {i} ground truth")
    fig.update_layout(height=560, margin=dict(l=0, r=0, t=30, b=0),
                      title="prediction (solid) and ground truth (dashed) from the input state")
    return fig


st.set_page_config(page_title="EGNO Explorer", layout="wide")
st.title("EGNO Explorer")
models = shipped_models(DATASET)
if not models:
    st.error("No shipped checkpoints found in assets/checkpoints/nbody. "
             "Train them with `scripts/train_nbody.sh`.")
    st.stop()
with st.sidebar:
    model = st.selectbox("model", models, index=models.index("egno") if "egno" in models else 0,
                         key="model")
    sample = st.selectbox("sample", sorted(p.name for p in SAMPLES.glob("*.csv")), key="sample")
    loaded = load_model(DATASET, model)
    st.caption(f"device: {DEVICE} · checkpoint: {loaded.path.relative_to(ROOT)}")
    test = loaded.card.get("metrics", {}).get("test", {})
    if test:
        st.caption(f"test F-MSE {test['f_mse']:.4f} · A-MSE {test['a_mse']:.4f} "
                   f"({test['n_samples']} samples, P = {test['timesteps']})")

windows, pred, errors = run_prediction(DATASET, model, sample)
st.plotly_chart(trajectory_figure(windows, pred), key="trajectory")
if errors is not None:
    st.metric("F-MSE of this sample", f"{errors[-1]:.5f}")
    st.caption("A-MSE of this sample: " + f"{sum(errors) / len(errors):.5f}")
