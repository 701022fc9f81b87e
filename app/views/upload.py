"""Upload: predict a user's trajectory file. Files are parsed by the egno readers, never unpickled."""
from __future__ import annotations

import tempfile

import streamlit as st

from common import DEVICE, animated_figure, dataset_and_model, load_model
from egno import get_dataset
from egno.explore import export_csv, export_extxyz, export_npz, predict_one, read_upload

MAX_BYTES = 20 * 1024 * 1024
dataset, model = dataset_and_model()
family = get_dataset(dataset)
st.title("Predict your own trajectory")
st.markdown(
    f"**{dataset}** reads {', '.join('.' + f for f in family.file_formats)}. "
    "For `nbody`: a CSV with columns `frame, particle, x, y, z, charge` (optionally `vx, vy, vz`), "
    "or an npz with `loc` (frames × particles × 3), `charges` and optionally `vel`. Frame 0 is the "
    "input; frames are 0.1 time units apart; with frames 1–10 present the prediction is scored "
    "against them. Example files: `assets/samples/nbody/`.")
upload = st.file_uploader("trajectory file", type=list(family.file_formats), key="upload")
if upload is None:
    st.stop()
data = upload.getvalue()
if len(data) > MAX_BYTES:
    st.error(f"{upload.name}: {len(data) / 2**20:.1f} MB is over the {MAX_BYTES // 2**20} MB limit.")
    st.stop()
try:
    with tempfile.TemporaryDirectory() as tmp:
        windows = read_upload(dataset, upload.name, data, tmp)
except ValueError as e:
    st.error(f"Could not use this file: {e}")
    st.stop()

out = predict_one(load_model(dataset, model), windows, 0, device=DEVICE)
st.success(f"{upload.name}: {windows.meta.get('nodes')} nodes, {windows.meta.get('frames')} frames "
           f"read; predicted P = {windows.timesteps} frames with {model}.")
errors = {model: out["frame_mse"]} if out["frame_mse"] is not None else None
st.plotly_chart(animated_figure(out["x"], out["pred"], out["truth"], out["node_error"],
                                out["t"] * out["window"], "time", errors=errors,
                                title=f"{upload.name} · {model}"), key="upload_traj")
if out["frame_mse"] is not None:
    c1, c2 = st.columns(2)
    c1.metric("F-MSE against the file's frames", f"{out['frame_mse'][-1]:.5f}")
    c2.metric("A-MSE against the file's frames", f"{out['frame_mse'].mean():.5f}")
else:
    st.info("The file has no frames inside the window, so there is nothing to score against.")
args = (out["x"], out["pred"], out["t"], out["window"])
stem = upload.name.rsplit(".", 1)[0] + f"_{model}_prediction"
d1, d2, d3 = st.columns(3)
d1.download_button("prediction as CSV", export_csv(*args), f"{stem}.csv", "text/csv", key="up_csv")
d2.download_button("prediction as npz", export_npz(*args), f"{stem}.npz", key="up_npz")
d3.download_button("prediction as extended XYZ", export_extxyz(*args), f"{stem}.extxyz", key="up_xyz")
