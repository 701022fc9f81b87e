"""Equivariance: transform the input live and compare f(g·x) with g·f(x), EGNO against the gnn, on
a test sample or on the upload kept from the Upload page (checked in its worker, egno.uploads.worker)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import streamlit as st

from app.common import (DEVICE, animation_downloads, dataset_and_model, draw_sample, keep, load_model,
                        load_test, query_choice, short_unit)
from app.upload_state import choices_note, upload_source, used_options, worker
from egno import get_dataset
from egno.run.checkpoint import shipped_models
from egno.service.results import EquivarianceCheck, Prediction
from egno.service.inference import equivariance_check, euler_from_rotation, random_rotation, rotation_from_euler

dataset, model = dataset_and_model()
family = get_dataset(dataset)
length = short_unit(family.length_unit)
GRAVITY = ("Gravity is part of this input: each sample carries the up direction, which turns with the "
           "body (a rotation about the vertical leaves it where it is). Models that read it "
           "(`up_vector` on the model's card) are equivariant in body and gravity together.")
st.title("Equivariance, live")
st.caption("Rotate, translate or permute the input. An equivariant model's prediction on the "
           "transformed input (markers) lands on the transformed prediction of the original input "
           "(lines). The non-equivariant `gnn` baseline, which reads raw coordinates, does not.")
files = upload_source(family, dataset, "checked", key="eq_source")  # None: a test sample
windows = load_test(dataset) if files is None else None
if windows is not None and windows.up is not None:
    st.caption(GRAVITY)

# the page opens on a fixed, non-trivial rotation and shift, so the deviations say something at once
STATE = {"alpha": 60.0, "beta": 30.0, "gamma": 45.0, "tx": 2.0, "ty": -1.0, "tz": 0.5}
RANGES = {"alpha": (-180, 180), "beta": (-90, 90), "gamma": (-180, 180), "tx": (-10, 10),
          "ty": (-10, 10), "tz": (-10, 10)}
unusable = []
for key, value in STATE.items():  # first visit: take the view from the URL when it has one
    if key not in st.session_state:
        st.session_state[key] = value
        if key in st.query_params:
            try:
                number = float(st.query_params[key])
            except ValueError:
                number = math.nan
            if math.isfinite(number):  # a number out of range is clamped into it
                st.session_state[key] = type(value)(min(max(number, RANGES[key][0]), RANGES[key][1]))
            if not RANGES[key][0] <= number <= RANGES[key][1]:
                unusable.append(key)
if unusable:  # the user's text is not echoed back
    st.caption(f"The link's {', '.join(f'`{k}`' for k in unusable)}: not a number in the "
               "sliders' range; clamped into it, or the default where it was not a number.")


def identity() -> None:
    for key in STATE:
        st.session_state[key] = 0.0


def randomise() -> None:
    seed = int(np.random.default_rng().integers(1 << 31))
    st.session_state.alpha, st.session_state.beta, st.session_state.gamma = euler_from_rotation(
        random_rotation(seed))


if windows is not None and ("eq_sample" not in st.session_state or st.session_state.eq_sample > len(windows) - 1):
    st.session_state.eq_sample = query_choice("sample", range(len(windows)), 0)  # Explore's sample
with st.sidebar:
    if windows is not None:
        st.number_input("test sample", 0, len(windows) - 1, key="eq_sample")
    permute = st.checkbox("permute the nodes (random order)", key="permute")
    st.markdown("**rotation** (Euler angles, degrees: R = Rz·Ry·Rx)")
    st.slider("α about z", -180.0, 180.0, key="alpha", step=1.0)
    st.slider("β about y", -90.0, 90.0, key="beta", step=1.0)
    st.slider("γ about x", -180.0, 180.0, key="gamma", step=1.0)
    # one button per row: side by side the sidebar cut "random rotation" to "random…"
    st.button("random rotation", icon=":material/casino:", on_click=randomise, key="random_rotation",
              width="stretch")
    st.button("identity: no rotation, no shift", icon=":material/restart_alt:", on_click=identity,
              key="reset_transform", width="stretch")
    st.markdown("**translation**")
    for axis in ("x", "y", "z"):
        st.slider(f"shift {axis} ({length})", -10.0, 10.0, key=f"t{axis}", step=0.5)

for key in STATE:
    st.query_params[key] = str(st.session_state[key])
R = rotation_from_euler(st.session_state.alpha, st.session_state.beta, st.session_state.gamma)
shift = np.array([st.session_state.tx, st.session_state.ty, st.session_state.tz])
if files is None:
    sample = int(st.session_state.eq_sample)
    keep("sample", sample)
    n_nodes = int(windows.node_ptr[sample + 1] - windows.node_ptr[sample])
    perm = np.random.default_rng(sample).permutation(n_nodes) if permute else None
    compare = [model] + [m for m in ("egno", "gnn") if m != model and m in shipped_models(dataset)]
    checks = {name: equivariance_check(load_model(dataset, name), windows, sample, R, shift, perm, DEVICE)
              for name in compare}
    one = windows.select([sample])
    times, window, label = one.t.numpy(), one.window, f"{dataset} sample {sample}"
    meta = family.sample_meta(windows, sample)
else:  # the same check on the upload, in the upload worker: the server never reads its bytes
    names = ", ".join(n for n, _ in files)
    options = used_options(files)
    result = worker(dataset, model, files, "equivariance", options, DEVICE, f"checking {names}…",
                    job={"rotation": R.tolist(), "shift": shift.tolist(), "permute": bool(permute)})
    if not result.ok:
        st.error(f"Could not check {'these files' if len(files) > 1 else 'this file'}: {result.message}")
        st.stop()
    checks = {name: EquivarianceCheck(**c) for name, c in result.job["checks"].items()}
    perm, meta = result.job["perm"], result.meta
    compare, times, window = list(checks), result.job["t"], result.job["window"]
    label = f"{names} · {result.dataset}"
    for note in result.notes:
        st.info(note)
    st.caption(choices_note(meta, options, short_unit(family.time_unit)))
    if result.job["has_up"]:
        st.caption(GRAVITY)
rows = [{"model": name, "max deviation": c.max_dev, "RMS deviation": c.rms_dev,
         "RMS / mean displacement": c.rms_dev / max(c.motion_scale, 1e-12)} for name, c in checks.items()]
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


def shown(c: EquivarianceCheck) -> Prediction:
    """One check as a prediction to draw: g·f(input) as the reference, f(g·input) as the
    prediction, nodes coloured by their deviation; back in the input's node order (bonds, residues)."""
    back = np.argsort(perm) if perm is not None else slice(None)
    dev = np.linalg.norm(c.pred_on_transformed - c.transformed_pred, axis=-1)
    return Prediction(x=c.input[back], v=np.zeros_like(c.input), pred=c.pred_on_transformed[:, back],
                      t=times, window=window, truth=c.transformed_pred[:, back], node_error=dev[:, back])


views = {name: shown(c) for name, c in checks.items()}
top = max(float(v.node_error.max()) for v in views.values())  # one scale for all views
st.caption("Reference g·f(input) in green; f(g·input) coloured by each node's deviation "
           "|f(g·input) − g·f(input)| on one scale for all views: an equivariant model's nodes "
           "stay at the bottom colour.")
for col, name in zip(st.columns(len(compare)), compare):
    with col:
        title = f"{name}: max deviation {checks[name].max_dev:.1e} {length}"
        draw_sample(family, views[name], meta, None, title, key=f"overlay_{name}",
                    filename=f"egno_equivariance_{name}", error_max=top, colour_title=f"deviation ({length})",
                    start_frame=len(checks[name].pred_on_transformed), names=("g·f(input)", "f(g·input)"))
        animation_downloads(views[name], family, meta, f"egno_equivariance_{name}",
                            f"{label} · {title}", key=f"overlay_{name}_anim", colour_title=f"deviation ({length})",
                            help="g·f(input) (green) and f(g·input) overlaid, f(g·input) coloured by "
                            "each node's deviation, one frame per time, rendered on the server")
