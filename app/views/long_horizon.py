"""Long horizon: a model chained window after window past its trained ΔT, against the truth."""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from app.common import DEVICE, dataset_and_model, draw_sample, load_model, short_unit
from app.figures import animated_figure
from app.figures_rollout import checks_chart, horizon_chart, label_windows, mark_windows
from app.plotview import plotly_view
from egno import get_dataset
from egno.checkpoint import shipped_models
from egno.longdata import long_windows
from egno.physics import LIMITS
from egno.rollout import chain, per_sample_checks

COMPARED = ("egno", "egnn-r", "linear")

dataset, model = dataset_and_model()
family = get_dataset(dataset)
unit, length = short_unit(family.time_unit), short_unit(family.length_unit)


@st.cache_resource(show_spinner="loading the long-horizon test data…", max_entries=8)
def long_data(dataset: str, windows: int, timesteps: int):
    return long_windows(get_dataset(dataset), windows, timesteps)


@st.cache_data(show_spinner="chaining windows…", max_entries=64)
def rollout(dataset: str, model: str, windows: int, timesteps: int, sample: int) -> dict:
    one = long_data(dataset, windows, timesteps).select([sample])
    pred = chain(load_model(dataset, model).model, one, windows, timesteps, dataset, device=DEVICE)
    checks = per_sample_checks(one, pred, dataset)[0]
    have = torch.isfinite(one.target).all(-1).all(-1)
    mse = ((pred.double() - one.target.double()) ** 2).mean((1, 2)).numpy()
    mse[~have.numpy()] = np.nan
    return {"pred": pred.numpy(), "frame_mse": mse, "checks": checks["checks"],
            "first_broken": checks["first_broken"],
            "node_error": ((pred - one.target) ** 2).mean(-1).numpy()}


st.title("Long horizon")
timesteps = load_model(dataset, model).config.timesteps
st.caption(f"{dataset}: the model predicts one window (P = {timesteps} frames over ΔT), then its "
           "last predicted state becomes the next input, window after window. EGNO's next velocity "
           "is the difference of its last two frames, EGNN-R keeps its last step, linear its "
           "velocity. Ground truth as far as the data go.")
c1, c2 = st.columns(2)
windows = c1.slider("windows to chain", 1, 20, 10, key="lh_windows")
data = long_data(dataset, windows, timesteps)
sample = int(c2.number_input("long-horizon sample", 0, len(data) - 1, 0, step=1, key="lh_sample"))
one = data.select([sample])
truth_frames = int(torch.isfinite(one.target).all(-1).all(-1).sum())
times = one.t.numpy() * one.window
if truth_frames < len(times):
    st.info(f"The data have ground truth for the first {truth_frames} of {len(times)} frames "
            f"({truth_frames / timesteps:g} windows); past that only the physical checks apply.")

runs = {m: rollout(dataset, m, windows, timesteps, sample)
        for m in COMPARED if m in shipped_models(dataset)}
if model not in runs:
    runs[model] = rollout(dataset, model, windows, timesteps, sample)
shown = runs[model]

for name, r in runs.items():
    broken = r["first_broken"]
    if broken is not None:
        when = ("the input" if broken == 0 else
                f"window {(broken - 1) // timesteps + 1} (t = {times[broken - 1]:.3g} {unit})")
        st.error(f"**{name}: diverged** at {when}: a physical check passed its limit or the "
                 "prediction is not finite.", icon=":material/warning:")
    else:
        st.success(f"{name}: within every physical limit for {windows} windows.")

truth = one.target.numpy()
errors = {m: r["frame_mse"] for m, r in runs.items()}
out = {"x": one.x.numpy(), "pred": shown["pred"], "truth": np.where(np.isfinite(truth), truth, np.nan),
       "node_error": shown["node_error"], "t": one.t.numpy(), "window": one.window,
       "frame_mse": shown["frame_mse"]}
# 3Dmol writes PDB/XYZ text with fixed-width coordinates; a blown-up rollout is drawn up to there
reach = 999.0 if family.view in ("protein", "molecule") else 1e6
ok = np.isfinite(out["pred"]).all((1, 2)) & (np.abs(np.nan_to_num(out["pred"])).max((1, 2)) < reach)
drawn = len(ok) if ok.all() else int(np.argmax(~ok))
if drawn < len(ok):
    st.warning(f"{model}'s rollout leaves the drawable range (not finite or beyond {reach:g} "
               f"{length}) at frame {drawn + 1}: the view stops before it.")
    drawn = max(drawn, 1)
    out = {**out, **{k: out[k][:drawn] for k in ("pred", "truth", "node_error", "t", "frame_mse")
                     if out[k] is not None}}
view_times, view_errors = times[:len(out["pred"])], {m: e[:len(out["pred"])] for m, e in errors.items()}
title = f"{dataset} long-horizon sample {sample} · {model}, {windows} windows"
if family.view in ("protein", "molecule") or truth_frames < len(times):
    meta = dict(one.meta)
    if family.view == "molecule":
        meta["symbols"] = family.symbols(one, 0)
    if truth_frames < len(times):
        out["truth"], out["node_error"] = None, None
    draw_sample(family, out, meta, None, title, key="lh_trajectory",
                filename=f"egno_long_{dataset.replace('/', '_')}_{model}")
else:
    options = {}
    edges = getattr(family, "bones", None)
    if family.view == "skeleton":
        from egno.data.mocap import trail_joints

        options = dict(trail_nodes=trail_joints(family.joints, edges), follow=True, up="y",
                       node_names=family.joints)
    fig = animated_figure(out["x"], out["pred"], out["truth"], out["node_error"], view_times, unit,
                          errors=view_errors, edges=edges, title=title, length_unit=length, **options)
    plotly_view(label_windows(mark_windows(fig, windows, one.window), timesteps),
                key="lh_trajectory")
plotly_view(horizon_chart(errors, times, windows, one.window, unit, length), key="lh_errors")
truth_checks = per_sample_checks(one, one.target, dataset)[0]["checks"]
checks = {**{m: r["checks"] for m, r in runs.items()}, "truth": truth_checks}
if any(checks.values()):
    plotly_view(checks_chart(checks, times, windows, one.window, unit, LIMITS), key="lh_checks")
st.caption("Window ends are dotted. Drifts are relative: N-body momentum ‖ΣΔv‖ / Σ‖v₀‖ and energy "
           "|ΔE| / (K₀ + |U₀|) with finite-difference velocities (the truth's own energy drift "
           "peaks in close encounters); bonds against the truth; bone lengths against the input; "
           "CA–CA distances against 3.8 Å.")
