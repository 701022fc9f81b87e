"""Explore: a test sample's predicted and true trajectories, and every model's error over time."""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from app.common import (DEVICE, MEMBERS_HELP, NO_MOTION_HELP, SPREAD_HELP, animation_downloads,
                        dataset_and_model, draw_sample, keep, load_ensemble, load_model, load_spread_model,
                        load_test, query_choice, short_unit)
from app.figures import IN_3DMOL, rmsd_chart
from app.plotview import plotly_view
from egno import get_dataset
from egno.run.checkpoint import shipped_models
from egno.run.evaluate import radius_of_gyration
from egno.data.export import element_symbols, table_files
from egno.data.md17 import molecule_name
from egno.service.inference import (best_model, mse_band, predict_one, prediction_warning, superposed,
                                    with_members, with_variance)

dataset, model = dataset_and_model()
family = get_dataset(dataset)
unit = short_unit(family.length_unit)
windows = load_test(dataset)


@st.cache_data(show_spinner=False, max_entries=256)
def prediction(dataset: str, model: str, sample: int) -> dict:
    return predict_one(load_model(dataset, model), load_test(dataset), sample, device=DEVICE)


@st.cache_data(show_spinner=False, max_entries=256)
def spread(dataset: str, model: str, sample: int):
    """σ² (P, N) the variance head predicts for this sample, recalibrated."""
    out = with_variance(prediction(dataset, model, sample), load_spread_model(dataset, model),
                        load_test(dataset), sample, device=DEVICE)
    return out.variance


@st.cache_data(show_spinner=False, max_entries=256)
def alternatives(dataset: str, model: str, sample: int):
    """(K, P, N, 3): every ensemble member's prediction of this sample."""
    return with_members(prediction(dataset, model, sample), load_ensemble(dataset, model),
                        load_test(dataset), sample, device=DEVICE).members


st.title("Explore predictions")
st.caption(f"{dataset}: {len(windows)} test samples, P = {windows.timesteps} target times over "
           f"ΔT = {windows.window:g} {family.time_unit}; lengths in {family.length_unit}. "
           + (f"{model} coloured by its error; green: ground truth." if family.view in IN_3DMOL
              else f"Orange: {model}; green: ground truth."))
n = len(windows)
if "sample" not in st.session_state or st.session_state.get("sample_of") != dataset:
    # another dataset chosen here: its first sample; else the URL's, or the one this tab
    # had before it visited another page
    start = 0 if st.session_state.get("sample_of") not in (None, dataset) else query_choice(
        "sample", range(n), 0)
    st.session_state.sample = start
    st.session_state.sample_of = dataset
# one row for the sample and the toggle: the player under the view stays above the fold at 900 px
left, middle, right = st.columns([2, 1, 2], vertical_alignment="bottom")
with middle:
    if st.button("random sample", icon=":material/casino:", key="random"):
        st.session_state.sample = int(np.random.default_rng().integers(n))
with left:
    sample = st.number_input("test sample", 0, n - 1, key="sample", step=1)
keep("sample", int(sample))
if "superpose" not in st.session_state:
    st.session_state.superpose = query_choice("superpose", ["0", "1"], "0") == "1"
superpose = right.toggle("superpose on the truth (Kabsch)", key="superpose",
                         help="Moves each predicted frame rigidly onto the true one, frame by frame: "
                         "what error is left is shape error, not orientation or position error.")
keep("superpose", int(superpose))
spread_model = load_spread_model(dataset, model)
by_spread = spread_model is not None and right.toggle(
    "colour by predicted uncertainty", key="by_spread", help=SPREAD_HELP)
# 3Dmol views draw no alternative futures: the toggle only where they are drawn
members = load_ensemble(dataset, model) if family.view not in IN_3DMOL else None
with_futures = members is not None and right.toggle(
    f"alternative futures ({len(members)} ensemble members)", key="futures", help=MEMBERS_HELP)

out = prediction(dataset, model, int(sample))
errors = {m: prediction(dataset, m, int(sample)).frame_mse for m in shipped_models(dataset)}
meta = family.sample_meta(windows, int(sample))
title = f"{dataset} test sample {sample} · {model}"
name = molecule_name([s for s in meta["symbols"] if s != "X"]) if dataset == "md17/all" else None
if name:
    title = f"{dataset} test sample {sample} ({name}) · {model}"
is_superposed = superpose and out.truth is not None
shown = superposed(out) if is_superposed else out
band, colour_title = None, None
if spread_model is not None:
    variance = spread(dataset, model, int(sample))
    band = mse_band(variance)
    if by_spread:
        shown, colour_title = shown.with_(node_error=variance), f"predicted σ² ({short_unit(family.length_unit)}²)"
if with_futures and is_superposed:
    st.caption("Alternative futures are drawn in the lab frame: turn superposition off to see them.")
elif with_futures:
    shown = shown.with_(members=alternatives(dataset, model, int(sample)))
draw_sample(family, shown, meta, errors, title + (" · superposed" if is_superposed else ""),
            key="trajectory", filename=f"egno_{dataset.replace('/', '_')}_{model}", highlight=model,
            colour_title=colour_title, band=band, band_name=f"{model}: predicted 90 % range")
warning = prediction_warning(out)
if warning:
    st.warning(f"{model}: {warning}")
if out.frame_mse is not None:
    # a long unit (nbody's) goes to the help: in four columns the label was cut
    sq, in_unit = (f" ({unit}²)", "") if len(unit) <= 10 else ("", f" In {unit}².")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(f"F-MSE{sq}", f"{out.frame_mse[-1]:.4g}",
              help="MSE of the final frame, over nodes and x, y, z." + in_unit)
    c2.metric(f"A-MSE{sq}", f"{out.frame_mse.mean():.4g}",
              help="MSE averaged over the P frames." + in_unit)
    c3.metric(f"no motion{sq}", f"{out.still_mse[-1]:.4g}", help=NO_MOTION_HELP + in_unit)
    c4.metric("best on this sample", best_model(errors) or "none finite",
              help="the model with the lowest F-MSE on this sample")
    if out.frame_mse[-1] > out.still_mse[-1]:
        st.warning(f"{model} is worse than predicting no motion on this sample: F-MSE "
                   f"{out.frame_mse[-1]:.4g} against {out.still_mse[-1]:.4g} {unit}².")
    aligned = superposed(out)
    r1, r2 = st.columns([2, 3])
    drawn = aligned.aligned_rmsd if superpose else aligned.rmsd
    length = f" ({unit})" if len(unit) <= 10 else ""
    r1.metric(f"RMSD as drawn{length}", f"{drawn[-1]:.4g}",
              help=f"Final frame, in {unit}; superposed on the truth when the toggle above is on.")
    r1.metric(f"RMSD superposed{length}", f"{aligned.aligned_rmsd[-1]:.4g}",
              help=f"Final frame, in {unit}: the shape error left when the prediction is moved "
              "rigidly onto the truth (Kabsch).")
    with r2:
        plotly_view(rmsd_chart(out.t * out.window, aligned.rmsd, aligned.aligned_rmsd,
                               short_unit(family.time_unit), unit, model), key="rmsd")
    floor = family.floor()
    if family.shape_metrics:
        s1, s2, _, _ = st.columns(4)
        shrink = float(radius_of_gyration(torch.as_tensor(out.pred[-1]))
                       / radius_of_gyration(torch.as_tensor(out.truth[-1])))
        s1.metric("gyration ratio", f"{shrink:.3f}",
                  help="Radius of gyration, predicted / true, at the final frame. Below 1: the prediction "
                  "is shrunk toward its centre, "
                  "as an average over futures the model cannot tell apart")
        if floor is not None:
            s2.metric(f"floor ({unit}²)", f"{floor:.3g}",
                      help="Heavy-atom floor F-MSE: the test mean of the error no model that sees only heavy "
                      "atoms can beat: half "
                      "the F-MSE between reruns with the hydrogens' velocities redrawn")

st.subheader("Download the prediction")
files = table_files(np.concatenate([out.x[None], out.pred]), np.concatenate([[0.0], out.t * out.window]),
                    element_symbols(meta), f"egno prediction by {dataset}/{model} of test sample {sample}")
d1, d2, d3 = st.columns(3)
stem = f"{dataset.replace('/', '_')}_{model}_sample{sample}"
# on_click="ignore": a click starts no rerun, so the next button's file (the animations' deferred
# ones included) is still the one the browser holds
d1.download_button("extended XYZ", files["extxyz"], f"{stem}.extxyz", "chemical/x-xyz", key="dl_xyz", on_click="ignore")
d2.download_button("CSV", files["csv"], f"{stem}.csv", "text/csv", key="dl_csv", on_click="ignore")
d3.download_button("npz", files["npz"], f"{stem}.npz", "application/octet-stream", key="dl_npz", on_click="ignore")
animation_downloads(shown, family, meta, stem, title, key="dl")
if family.view not in IN_3DMOL:  # 3Dmol views have no toolbar
    st.caption("The PNG of a plotly view: the camera icon in the plot's toolbar.")
