"""Equivariance: transform the input live and compare f(g·x) with g·f(x), EGNO against the gnn."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from common import DEVICE, PRED_COLOUR, TRUTH_COLOUR, dataset_and_model, load_model, load_test, short_unit
from egno import get_dataset
from egno.checkpoint import shipped_models
from egno.explore import equivariance_check, euler_from_rotation, random_rotation, rotation_from_euler
from plotview import plotly_view

dataset, model = dataset_and_model()
family = get_dataset(dataset)
length = short_unit(family.length_unit)
windows = load_test(dataset)
st.title("Equivariance, live")
st.caption("Rotate, translate or permute the input. An equivariant model's prediction on the "
           "transformed input (markers) lands on the transformed prediction of the original input "
           "(lines). The non-equivariant `gnn` baseline, which reads raw coordinates, does not.")
if windows.up is not None:
    st.caption("Gravity is part of this input: each sample carries the up direction, which turns "
               "with the body (a rotation about the vertical leaves it where it is). Models that "
               "read it (`up_vector` on the model's card) are equivariant in body and gravity "
               "together.")

STATE = {"alpha": 0.0, "beta": 0.0, "gamma": 0.0, "tx": 0.0, "ty": 0.0, "tz": 0.0, "eq_sample": 0}
for key, value in STATE.items():  # first visit: take the view from the URL when it has one
    if key not in st.session_state:
        try:
            st.session_state[key] = type(value)(float(st.query_params.get(key, value)))
        except ValueError:
            st.session_state[key] = value


def randomise() -> None:
    seed = int(np.random.default_rng().integers(1 << 31))
    st.session_state.alpha, st.session_state.beta, st.session_state.gamma = euler_from_rotation(
        random_rotation(seed))


with st.sidebar:
    if st.session_state.eq_sample > len(windows) - 1:
        st.session_state.eq_sample = 0
    st.number_input("test sample", 0, len(windows) - 1, key="eq_sample")
    st.markdown("**rotation** (Euler angles, degrees: R = Rz·Ry·Rx)")
    st.slider("α about z", -180.0, 180.0, key="alpha", step=1.0)
    st.slider("β about y", -90.0, 90.0, key="beta", step=1.0)
    st.slider("γ about x", -180.0, 180.0, key="gamma", step=1.0)
    st.button("random rotation", icon=":material/casino:", on_click=randomise, key="random_rotation")
    st.markdown("**translation**")
    for axis in ("x", "y", "z"):
        st.slider(f"shift {axis} ({length})", -10.0, 10.0, key=f"t{axis}", step=0.5)
    permute = st.checkbox("permute the nodes (random order)", key="permute")

for key in STATE:
    st.query_params[key] = str(st.session_state[key])
R = rotation_from_euler(st.session_state.alpha, st.session_state.beta, st.session_state.gamma)
shift = np.array([st.session_state.tx, st.session_state.ty, st.session_state.tz])
sample = int(st.session_state.eq_sample)
n_nodes = int(windows.node_ptr[sample + 1] - windows.node_ptr[sample])
perm = np.random.default_rng(sample).permutation(n_nodes) if permute else None

compare = [model] + [m for m in ("egno", "gnn") if m != model and m in shipped_models(dataset)]
rows, checks = [], {}
for name in compare:
    c = equivariance_check(load_model(dataset, name), windows, sample, R, shift, perm, DEVICE)
    checks[name] = c
    rows.append({"model": name, "max deviation": c["max_dev"], "RMS deviation": c["rms_dev"],
                 "RMS / mean displacement": c["rms_dev"] / max(c["motion_scale"], 1e-12)})
table = pd.DataFrame(rows)
cols = st.columns(len(compare))
for col, row in zip(cols, rows):
    col.metric(f"{row['model']}: max deviation ({length})",
               f"{row['max deviation']:.2e}",
               help="max over frames, nodes and x/y/z of |f(g·input) − g·f(input)|")
st.dataframe(table.style.format({"max deviation": "{:.2e}", "RMS deviation": "{:.2e}",
                                 "RMS / mean displacement": "{:.2e}"}), hide_index=True)
st.caption(f"Deviations in {family.length_unit}; the last column divides the RMS deviation by "
           "the mean distance the prediction moves a node from the input.")


def overlay(c: dict, name: str, up: str = "z") -> go.Figure:
    """One line trace (NaN-separated paths of every node) and one marker trace: fast for 855 atoms."""
    fig = go.Figure()
    a, b = c["transformed_pred"], c["pred_on_transformed"]
    n = a.shape[1]
    paths = np.concatenate([a.transpose(1, 0, 2), np.full((n, 1, 3), np.nan)], axis=1).reshape(-1, 3)
    fig.add_scatter3d(x=paths[:, 0], y=paths[:, 1], z=paths[:, 2], mode="lines",
                      line=dict(color=TRUTH_COLOUR, width=6 if n < 100 else 2), name="g·f(input)")
    pts = b.reshape(-1, 3)
    fig.add_scatter3d(x=pts[:, 0], y=pts[:, 1], z=pts[:, 2], mode="markers",
                      marker=dict(color=PRED_COLOUR, size=4 if n < 100 else 1.5), name="f(g·input)")
    x = c["input"]
    fig.add_scatter3d(x=x[:, 0], y=x[:, 1], z=x[:, 2], mode="markers", name="transformed input",
                      marker=dict(color="#495057", size=3 if n < 100 else 1))
    fig.update_layout(title=f"{name}: max deviation {c['max_dev']:.1e}", height=460,
                      margin=dict(l=0, r=0, t=40, b=20),
                      scene=dict(aspectmode="data", camera=dict(
                          up={a: float(a == up) for a in "xyz"},
                          eye=dict(x=2.0, y=0.9, z=1.6) if up == "y" else None)),
                      legend=dict(orientation="h"))
    return fig


cols = st.columns(len(compare))
for col, name in zip(cols, compare):
    with col:
        # bodies stand on y as on Explore (the ASF/BVH vertical); other systems keep z up
        plotly_view(overlay(checks[name], name, "y" if family.view == "skeleton" else "z"),
                    key=f"overlay_{name}")
