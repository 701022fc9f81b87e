"""Resolution: one trained EGNO evaluated zero-shot at other numbers of output times P."""
from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import streamlit as st

from app.common import (DEVICE, dataset_and_model, draw_sample, keep, load_model, load_test, query_choice,
                        short_unit)
from app.figures import sweep_chart
from app.plotview import plotly_view
from egno import get_dataset
from egno.run.checkpoint import shipped_models
from egno.service.inference import DIVERGED_FACTOR, predict_one, resolution_sweep
from egno.service.sweeps import SWEEP_MODELS, default_settings, load_sweep

dataset, model = dataset_and_model()
family = get_dataset(dataset)
unit = short_unit(family.length_unit)
n_test = len(load_test(dataset))  # also makes sure the test split (fine ground truth) exists
available = [p for p in family.available_timesteps("test") if p >= 2]
trained = load_model(dataset, "egno").config.timesteps
st.title("Temporal resolution")
st.caption(f"EGNO was trained at P = {trained}. Its time embedding reads the physical time t/ΔT, "
           "so the same weights predict any number of frames. Linear and EGNN-R step at ΔT/P.")

defaults = default_settings(family, shipped_models(dataset), n_test)
candidates = [m for m in SWEEP_MODELS if m in shipped_models(dataset)]
sizes = sorted({min(k, n_test) for k in (defaults.n_samples, 20, 200, 500, 2000)})
LINK = {"ps": "P", "models": "models", "n_samples": "n_samples"}  # setting -> the URL's parameter


def from_link(kept: dict) -> tuple[dict, list[str]]:
    """``kept`` with what the URL asks for (?P=2&P=20&models=egno&n_samples=200; a list also as
    P=2,20), and the parameters that were not all choices here: such values are left out, a
    number of samples becomes the nearest choice."""
    settings, unusable = dict(kept), []
    for field, options in (("ps", available), ("models", candidates)):
        asked = [v for raw in st.query_params.get_all(LINK[field]) for v in raw.split(",") if v]
        valid = [o for o in options if str(o) in asked]
        if len(valid) < len(set(asked)):
            unusable.append(LINK[field])
        if valid:  # P values ascending, models in the link's order (the chart's legend)
            settings[field] = valid if field == "ps" else sorted(valid, key=asked.index)
    raw = st.query_params.get(LINK["n_samples"])
    if raw is not None:
        try:
            settings["n_samples"] = min(sizes, key=lambda k: abs(k - int(raw)))
            if settings["n_samples"] != int(raw):
                unusable.append(LINK["n_samples"])
        except ValueError:
            unusable.append(LINK["n_samples"])
    return settings, unusable


# choices per dataset, kept outside the widgets (a page switch clears widget state and the URL)
tag = dataset.replace("/", "_")
kept = st.session_state.get(f"sweep_choices_{tag}", defaults.plain())
if not st.session_state.get("sweep_link_read"):  # a link's settings count on arrival only
    st.session_state.sweep_link_read = True
    kept, unusable = from_link(kept)
    if unusable:  # the user's text is not echoed back
        st.caption(f"The link's {', '.join(f'`{k}`' for k in unusable)}: not all among the choices "
                   "here; what was not is left out (a number of test samples: the nearest choice).")
c1, c2, c3 = st.columns([3, 2, 1])
chosen = c1.multiselect("P values", available, default=[p for p in kept["ps"] if p in available],
                        key=f"sweep_p_{tag}")
models = c2.multiselect("models", candidates, default=[m for m in kept["models"] if m in candidates],
                        key=f"sweep_models_{tag}")
n_samples = c3.selectbox("test samples", sizes, index=sizes.index(min(kept["n_samples"], n_test)),
                         key=f"sweep_n_{tag}")
settings = {"ps": sorted(chosen), "models": list(models), "n_samples": int(n_samples)}
st.session_state[f"sweep_choices_{tag}"] = settings
for field, param in LINK.items():
    st.query_params[param] = [str(v) for v in settings[field]] if field != "n_samples" else str(n_samples)
done = st.session_state.setdefault("sweeps", {})  # results of this browser tab, across page switches


def cancelled() -> None:
    """The cancel's click stops the running sweep (Streamlit ends a run when a widget changes);
    this says so on the run it starts."""
    d, total = st.session_state.get("sweep_progress", (0, 0))
    st.session_state.sweep_note = (f"Sweep cancelled after {d} of {total} sample predictions; its "
                                   "results were dropped.")


def sweep(dataset: str, settings: dict):
    """Run a sweep with a progress bar per sample, an estimate of the time left and a cancel."""
    bar, stop = st.progress(0.0, text="evaluating…"), st.empty()
    stop.button("cancel", key="cancel_sweep", help="stops the sweep (its results are dropped)",
                on_click=cancelled)
    began = time.perf_counter()
    st.session_state.sweep_progress = (0, 0)

    def report(d: int, total: int, cost: int, cost_total: int) -> None:
        st.session_state.sweep_progress = (d, total)
        spent = time.perf_counter() - began
        # measured seconds per unit of cost (samples × P) so far, times the cost still to come
        left = f" · about {spent / cost * (cost_total - cost):.0f} s left" if cost and spent > 1 else ""
        bar.progress(cost / cost_total, text=f"evaluated {d}/{total} sample predictions{left}")

    n = settings["n_samples"]
    df = resolution_sweep({m: load_model(dataset, m) for m in settings["models"]}, get_dataset(dataset),
                          settings["ps"], windows_at=lambda p: load_test(dataset, p).select(range(n)),
                          device=DEVICE, on_step=report, chunk=4)
    bar.empty()
    stop.empty()
    return df


if "sweep_note" in st.session_state:
    st.info(st.session_state.pop("sweep_note"))
request = (dataset, json.dumps(settings, sort_keys=True))
df = done.get(request)
if df is None and settings == defaults.plain():
    shipped = load_sweep(dataset, defaults)  # the shipped default sweep (scripts/resolution_sweeps.py)
    df = None if shipped is None else pd.DataFrame(shipped.rows)
    if df is not None:
        st.caption("The default settings' sweep, computed by `scripts/resolution_sweeps.py` and "
                   "shipped with the app.")
if df is None and chosen and models:
    if st.button("run sweep", type="primary", key="run_sweep"):
        df = done[request] = sweep(dataset, settings)
    else:
        st.info("**run sweep** to evaluate these settings (kept in this browser tab, also when you "
                "visit another page).")
elif not (chosen and models):
    st.info("Pick at least one P and one model.")
if df is not None and len(df):
    bad = df[df["diverged"]]
    shown = df[~df["diverged"]]
    for metric, label in (("f_mse", "F-MSE (final frame)"), ("a_mse", "A-MSE (all frames)")):
        if shown.empty:
            break
        fig = sweep_chart(shown, metric, label, unit, trained, sorted(set(df["P"])),
                          int(df["n_samples"].iloc[0]), highlight=model)
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
                       "text/csv", key="sweep_csv", on_click="ignore")

if chosen:
    st.subheader("One sample, coarse and fine")
    shown_model = model if model in candidates else "egno"
    st.caption(f"{shown_model} (the sidebar's model; egno when the sidebar's cannot run at any P) at "
               "the smallest and largest chosen P, coloured on one error scale.")
    if "res_sample" not in st.session_state or st.session_state.res_sample > n_test - 1:
        st.session_state.res_sample = query_choice("sample", range(n_test), 0)  # Explore's sample
    sample = st.number_input("test sample", 0, n_test - 1, key="res_sample")
    keep("sample", int(sample))
    outs = {}
    for p in (min(chosen), max(chosen)):
        w = load_test(dataset, p)
        outs[p] = predict_one(load_model(dataset, shown_model), w, int(min(sample, len(w) - 1)),
                              device=DEVICE)
    meta = family.sample_meta(load_test(dataset), int(sample))
    # one error colour scale for both, so the same colour means the same error
    top = max(float(o.node_error.max()) for o in outs.values())
    for col, (p, out) in zip(st.columns(2), outs.items()):
        with col:
            draw_sample(family, out, meta, None, f"{shown_model} at P = {p}", key=f"traj_{p}",
                        filename=f"egno_{tag}_{shown_model}_P{p}", error_max=top, start_frame=p)
