"""Resolution: one trained EGNO evaluated zero-shot at other numbers of output times P."""
from __future__ import annotations

import numpy as np
import streamlit as st

from app.common import DEVICE, dataset_and_model, load_model, load_test, short_unit
from app.figures import animated_figure, sweep_chart
from app.plotview import plotly_view
from egno import get_dataset
from egno.checkpoint import shipped_models
from egno.explore import DIVERGED_FACTOR, predict_one, resolution_sweep

dataset, _ = dataset_and_model()
family = get_dataset(dataset)
unit = short_unit(family.length_unit)
n_test = len(load_test(dataset))  # also makes sure the test split (fine ground truth) exists
available = [p for p in family.available_timesteps("test") if p >= 2]
trained = load_model(dataset, "egno").config.timesteps
st.title("Temporal resolution")
st.caption(f"EGNO was trained at P = {trained}. Its time embedding reads the physical time t/ΔT, "
           "so the same weights predict any number of frames. Linear and EGNN-R step at ΔT/P.")

default = [p for p in available if p <= 50]
# widget keys per dataset: each dataset keeps its own choices (its own P values) when another is picked
tag = dataset.replace("/", "_")
c1, c2, c3 = st.columns([3, 2, 1])
chosen = c1.multiselect("P values", available, default=default, key=f"sweep_p_{tag}")
candidates = [m for m in ("egno", "linear", "egnn-r", "egnn") if m in shipped_models(dataset)]
models = c2.multiselect("models", candidates, default=candidates[:3], key=f"sweep_models_{tag}")
sizes = sorted({min(k, n_test) for k in (20, 200, 500, 2000)})
n_samples = c3.selectbox("test samples", sizes, index=min(1, len(sizes) - 1), key=f"sweep_n_{tag}")


@st.cache_data(show_spinner=False)
def sweep(dataset: str, models: tuple, ps: tuple, n_samples: int):
    bar = st.progress(0.0, text="evaluating…")
    loaded = {m: load_model(dataset, m) for m in models}
    df = resolution_sweep(loaded, get_dataset(dataset), list(ps),
                          windows_at=lambda p: load_test(dataset, p).select(range(n_samples)),
                          device=DEVICE,
                          on_step=lambda d, t: bar.progress(d / t, text=f"evaluated {d}/{t}"))
    bar.empty()
    return df


# a sweep runs for the settings it was asked for: changing them (or the dataset) never starts one
request = (dataset, tuple(models), tuple(sorted(chosen)), int(n_samples))
if st.button("run sweep", type="primary", key="run_sweep"):
    st.session_state.sweep_request = request
if chosen and models and st.session_state.get("sweep_request") == request:
    df = sweep(*request)
    bad = df[df["diverged"]]
    shown = df[~df["diverged"]]
    for metric, label in (("f_mse", "F-MSE (final frame)"), ("a_mse", "A-MSE (all frames)")):
        if shown.empty:
            break
        fig = sweep_chart(shown, metric, label, unit, trained, chosen, int(df["n_samples"].iloc[0]))
        plotly_view(fig, key=f"sweep_{metric}")
    if len(bad):
        st.warning("Diverged, not plotted (error not finite, or over "
                   f"{DIVERGED_FACTOR:g}× that of predicting no motion): "
                   + ", ".join(f"{r.model} at P = {r.P}" for r in bad.itertuples()) + ".")
    table = df.assign(status=df["diverged"].map({True: "diverged", False: ""})).drop(columns="diverged")
    errors = {"f_mse": f"F-MSE ({unit}²)", "a_mse": f"A-MSE ({unit}²)",
              "no_motion_f_mse": f"no-motion F-MSE ({unit}²)"}
    # errors as text, so that a NaN reads "not finite" (st.dataframe shows it as None, even
    # through a styler's na_rep); the CSV below keeps the numbers
    for col in errors:
        table[col] = [f"{v:.4g}" if np.isfinite(v) else "not finite" for v in table[col]]
    st.dataframe(table.rename(columns=errors), hide_index=True)
    st.download_button("download CSV", df.to_csv(index=False).encode(), f"{dataset}_resolution.csv",
                       "text/csv", key="sweep_csv")

    st.subheader("One sample, coarse and fine")
    sample = st.number_input("test sample", 0, n_test - 1, 0, key="res_sample")
    extra = {}
    if family.view == "skeleton":
        from egno.data.mocap import trail_joints

        extra = dict(edges=family.bones, trail_nodes=trail_joints(family.joints, family.bones),
                     follow=True, up="y")
    outs = {}
    for p in (min(chosen), max(chosen)):
        w = load_test(dataset, p)
        outs[p] = predict_one(load_model(dataset, "egno"), w, int(min(sample, len(w) - 1)), device=DEVICE)
    # one error colour scale for both, so the same colour means the same error
    top = max(float(o["node_error"].max()) for o in outs.values())
    for col, (p, out) in zip(st.columns(2), outs.items()):
        with col:
            plotly_view(animated_figure(out["x"], out["pred"], out["truth"], out["node_error"],
                                        out["t"] * out["window"], short_unit(family.time_unit),
                                        title=f"EGNO at P = {p}", start_frame=p, error_max=top,
                                        **extra),
                        key=f"traj_{p}")
elif not (chosen and models):
    st.info("Pick at least one P and one model.")
elif st.session_state.get("sweep_request"):
    st.info("The settings differ from the last sweep's: **run sweep** to evaluate these (results "
            "are cached, so settings swept before come back at once).")
else:
    st.info("Choose P values and models, then **run sweep** (results are cached).")
