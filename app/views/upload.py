"""Upload: predict a user's trajectory file. Files are read and predicted in a capped worker process
(egno.uploads.worker), by the egno readers, never unpickled; this page asks what the file does not say,
then draws the result and every shipped model's error like Explore."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from app.common import (DEVICE, MAX_UPLOAD_BYTES, NO_MOTION_HELP, SPREAD_HELP, animation_downloads,
                        dataset_and_model, draw_sample, load_model, short_unit)
from app.upload_state import (digest, files_digest, kept_files, load_example, remember,
                              remembered, take_new_drop, worker)
from egno import get_dataset, limits
from egno.service.examples import example_path
from egno.uploads.worker import sweep_stale
from egno.data.rigid import rotation_note
from egno.service.inference import best_model, mse_band, predicted_rmse
from egno.uploads.frames import aligned_timesteps, failed_upload_prediction, speed_warning


@st.cache_resource(show_spinner=False)
def swept_at_start() -> int:
    """Upload folders left behind by a server killed mid-upload, removed once per server."""
    return sweep_stale()


swept_at_start()

dataset, model = dataset_and_model()
family = get_dataset(dataset)
unit, time_unit = short_unit(family.length_unit), short_unit(family.time_unit)
st.title("Predict your own trajectory")
st.markdown(f"**{dataset}** reads {', '.join('.' + f for f in family.file_formats)}. "
            + family.upload_help)
with st.expander("limits on uploads"):
    st.markdown("\n".join(f"- {line}" for line in limits.describe()))
with st.expander("example files", expanded=not kept_files()):
    for i, (label, names, what) in enumerate(family.upload_examples):
        c1, *downloads = st.columns([2] + [1] * len(names))
        c1.button(f"load: {label}", key=f"example_{i}", on_click=load_example, args=(names,),
                  help=what)
        for col, name in zip(downloads, names):
            col.download_button(name, example_path(name).read_bytes(), name, key=f"example_dl_{i}_{name}",
                                on_click="ignore")
pairs = family.file_pairs
slot = st.session_state.setdefault("upload_slot", 0)
upload = st.file_uploader("trajectory file" + (" (or a pair)" if pairs else "") + " — a new drop "
                          "replaces the current one", type=list(family.file_formats),
                          key=f"upload_{slot}", accept_multiple_files=pairs)
dropped = (upload or []) if pairs else ([upload] if upload is not None else [])
if dropped:
    too_big = [f for f in dropped if f.size > MAX_UPLOAD_BYTES]
    if too_big:
        st.error(f"{too_big[0].name}: {too_big[0].size / 2**20:.1f} MB is over the "
                 f"{MAX_UPLOAD_BYTES // 2**20} MB limit.")
        st.stop()
    take_new_drop([(f.name, f.getvalue()) for f in dropped])
    st.session_state.upload_slot = slot + 1  # an empty uploader: the files are kept in the session
    st.rerun()
files = kept_files()
if not files:
    st.stop()
names = ", ".join(n for n, _ in files)
st.caption(f"Current upload: **{names}** (kept while you visit other pages; drop new files to replace it).")
info = worker(dataset, model, files, "inspect", None, DEVICE, f"reading {names}…")
if not info.ok:
    st.error(f"Could not use {'these files' if len(files) > 1 else 'this file'}: {info.message}")
    st.stop()

# ---------------------------------------------------------------- what the file does not say
key = digest(dataset, files_digest(files))[:12]
default_dt = info.dt or info.default_dt
c1, c2 = st.columns(2)
source = ("from the file" if info.dt else f"the file does not say: this is the {dataset} data's own "
          "spacing; change it to your file's")
if family.frame_rate:  # motion: people count frames per second
    rate = remember(f"fps_{key}", c1.number_input(
        "frames per second", min_value=1e-3, format="%.6g", key=f"fps_{key}",
        **remembered(f"fps_{key}", float(round(1 / default_dt, 6))), help=source))
    dt = 1 / rate
else:
    dt = remember(f"dt_{key}", c1.number_input(
        f"time between frames ({time_unit})", min_value=1e-6, format="%.6g", key=f"dt_{key}",
        **remembered(f"dt_{key}", float(default_dt)), help=source))
if info.frames == 1:
    c1.caption("One frame: its spacing does not matter here (no later frame to take velocities from "
               "or to score against; the starting velocities are chosen below).")
elif not info.dt:
    assumed = f"{1 / default_dt:g} frames per second" if family.frame_rate else f"{default_dt:g} {time_unit}"
    c1.caption(f"The file does not say how far apart its frames are: {assumed} assumed. Set it to "
               "your file's.")
frames = info.frames
start = 0
if frames > 1:
    start = remember(f"start_{key}", c2.slider(
                      "start frame", 0, frames - 1, key=f"start_{key}", **remembered(f"start_{key}", 0),
                      help="the input frame; the window's later frames, where the file has them, "
                      "are the ground truth"))
timesteps = None  # the model's trained P
if frames > 1:
    trained = load_model(dataset, model).config.timesteps
    aligned = aligned_timesteps(family, dt)
    choices = sorted({trained, *aligned})

    def p_label(p: int) -> str:
        where = "on the file's frames" if p in aligned else "between the file's frames"
        return (f"P = {p}{' (trained)' if p == trained else ''}: every "
                f"{family.window / p:.4g} {time_unit}, {where}")  # 187.5 fs, not 188: on 37.5 fs frames

    picked = st.selectbox("predicted frames per window", choices, index=choices.index(trained),
                          format_func=p_label, key=f"p_{key}",
                          help="the window ΔT stays the same; a P other than the trained one is "
                               "predicted zero-shot. Times on the file's frames are scored against "
                               "them; times between are scored against frames interpolated linearly.")
    timesteps = None if picked == trained else int(picked)
# the widget shows 6 digits: a value within that of the pre-filled one is the file's or the default
options = {"start": int(start), "dt": None if abs(dt - default_dt) <= 1e-6 * default_dt else float(dt)}
if frames == 1 and not info.has_velocities:
    kinds = ["zero", "thermal"] if family.thermal_start else ["zero"]
    choice = st.radio("starting velocities (the file has one frame)", kinds, horizontal=True,
                      key=f"vel_{key}")
    options["velocities"] = choice
    if choice == "thermal":
        t1, t2 = st.columns(2)
        options["temperature"] = t1.number_input(
            f"temperature ({family.temperature_unit})", min_value=0.0, value=family.default_temperature,
            key=f"temp_{key}")
        options["seed"] = int(t2.number_input("seed", 0, 2**31 - 1, 0, key=f"seed_{key}"))
    st.caption("One frame has no velocities: the prediction starts from rest (zero) or from a random "
               "thermal draw (another seed, another future).")
speeds = info.step_speeds
if speeds:
    step = min(start, len(speeds) - 1)
    warning = speed_warning(family, speeds[step] / dt, dt, time_unit, info.fastest[step])
    if warning:
        st.warning(warning)
if info.prediction_of:
    st.info(f"This file holds a prediction ({info.prediction_of}): scores below compare the "
            "models with that prediction, not with a simulation or a recording.")

# ---------------------------------------------------------------- the prediction
result = worker(dataset, model, files, "predict", options, DEVICE, f"predicting {names} with every model…",
                timesteps=timesteps)
if not result.ok:
    st.error(f"Could not use {'these files' if len(files) > 1 else 'this file'}: {result.message}")
    st.stop()
meta, out, used, chosen = result.meta, result.out, result.dataset, result.model
for note in result.notes:
    st.info(note)
failure = failed_upload_prediction(family, out, meta, time_unit)
if failure:  # never a success box, a blank view or a download full of NaN
    st.error(f"{names} · {used}/{chosen}: {failure}")
    st.stop()
if meta.get("velocity_note"):
    st.info(meta["velocity_note"])
if meta.get("pair_note"):
    st.warning(meta["pair_note"])
if meta.get("turn_rad"):
    st.info(rotation_note(meta["turn_rad"][0]))
scale = f" (scaled ×{meta['scale']:.3g}, {meta['file_fps']:g} frames/s in the file)" if "scale" in meta else ""
st.success(f"{names}: {meta.get('nodes')} nodes, {frames} frame{'' if frames == 1 else 's'} read{scale}, "
           f"{meta['dt']:g} {time_unit} apart ({meta['dt_from']}); input frame {meta['start']}, "
           f"velocities: {meta['velocities']}; predicted P = {result.timesteps} frames with "
           f"{used}/{chosen}.")
if result.warning:
    st.warning(result.warning)
errors = result.errors or None
title = f"{names} · {used}/{chosen}"
shown, band, colour_title = out, None, None
if out.variance is not None:  # EGNO's variance head: an estimate even where the file has no frames
    lo, hi = mse_band(out.variance)
    rmse = predicted_rmse(out.variance)[-1]
    st.info(f"{used}/{chosen} expects an RMSE of {rmse:.3g} {unit} at the final frame (its MSE within "
            f"{lo[-1]:.3g}–{hi[-1]:.3g} {unit}² nine times in ten), from its variance head recalibrated on "
            "the validation split: larger than the test data's typical error means the model is unsure here.")
    band = (lo, hi)
    if st.toggle("colour by predicted uncertainty", key="up_by_spread", help=SPREAD_HELP):
        shown, colour_title = out.with_(node_error=out.variance), f"predicted σ² ({unit}²)"
draw_sample(family, shown, meta, errors, title, key="upload_traj", filename=f"egno_upload_{chosen}",
            highlight=chosen, colour_title=colour_title, band=band, band_name=f"{chosen}: predicted 90 % range")
if out.frame_mse is not None:
    what = "the file's prediction" if meta.get("prediction_of") else "the file's frames"
    if meta.get("truth_interpolated"):
        st.caption("The window's target times fall between the file's frames: the truth there is the "
                   "file's two frames around each time, interpolated linearly. A P marked \"on the "
                   "file's frames\" above scores against the file's own frames.")
    c1, c2, c3, c4 = st.columns(4)
    sq, in_unit = (f" ({unit}²)", "") if len(unit) <= 10 else ("", f" In {unit}².")  # fits 1100 px
    c1.metric(f"F-MSE{sq}", f"{out.frame_mse[-1]:.5g}", help=f"Final frame, against {what}.{in_unit}")
    c2.metric(f"A-MSE{sq}", f"{out.frame_mse.mean():.5g}",
              help=f"Mean over the frames, against {what}.{in_unit}")
    c3.metric(f"no motion{sq}", f"{out.still_mse[-1]:.5g}", help=NO_MOTION_HELP + in_unit)
    c4.metric("lowest F-MSE", best_model(result.errors) or "none finite",
              help="the shipped model with the lowest final-frame error on this window")
    st.caption(f"Every shipped {used} model on this window: " + ", ".join(
        f"{m} {e[-1]:.4g}" for m, e in sorted(result.errors.items(), key=lambda kv: kv[1][-1]))
        + f"; no motion {out.still_mse[-1]:.4g} ({unit}², final frame).")
else:
    st.info("The file's frames do not reach the window's last target time after the start frame (or lie "
            "further apart than the targets), so there "
            "is nothing to score against.")
st.subheader("Download")
st.caption("In formats this page reads back: the input frame first, then the predicted (or true) "
           "frames; each file says in its metadata what it holds.")
columns = st.columns(max(len(result.exports), 1))
for col, (name, data) in zip(columns, result.exports.items()):
    col.download_button(name, data, name, key=f"up_dl_{name}", on_click="ignore")  # no rerun: nothing lost
# from the worker's arrays only: the server never reads the uploaded bytes
animation_downloads(out, family, meta, f"{Path(files[-1][0]).stem}_{chosen}", title, key="up_anim",
                    help="the prediction, and the file's frames where it has them, one frame per time, "
                    "rendered on the server")
