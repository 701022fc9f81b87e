"""Upload: predict a user's trajectory file. Files are read and predicted in a capped worker process
(egno.uploads), by the egno readers, never unpickled; this page only draws the result."""
from __future__ import annotations

import hashlib

import streamlit as st

from app.common import (DEVICE, MAX_UPLOAD_BYTES, NO_MOTION_HELP, dataset_and_model, draw_sample,
                        short_unit)
from egno import get_dataset, limits
from egno.uploads import run_upload, sweep_stale


@st.cache_resource(show_spinner=False)
def swept_at_start() -> int:
    """Upload folders left behind by a server killed mid-upload, removed once per server."""
    return sweep_stale()


swept_at_start()

HELP = {
    "points": "A CSV with columns `frame, particle, x, y, z, charge` (optionally `vx, vy, vz`), or "
              "an npz with `loc` (frames × particles × 3), `charges` and optionally `vel`. Frame 0 "
              "is the input; frames are 0.1 time units apart; with frames 1–10 present the "
              "prediction is scored against them. Example files: `assets/samples/nbody/`.",
    "skeleton": "An Acclaim pair — the skeleton `.asf` and a motion `.amc` (select both) — or one "
                "`.bvh` file. Frame 0 is the input; with 0.25 s (31 frames at 120 frames/s) of "
                "motion the prediction is scored against it. BVH motion is resampled to 120 "
                "frames/s and scaled to the size of the CMU subjects (the factor is shown).",
    "molecule": "A multi-frame XYZ / extended XYZ (ASE; frames 0.5 fs apart unless each frame "
                "has `time` in fs) or an MD17/sGDML npz (`R`, `z`). Heavy atoms are used. A "
                "molecule that is not this dataset's goes to the `md17/all` model.",
    "protein": "A topology and a trajectory together (`.psf`/`.pdb`/`.gro` with `.dcd`/`.xtc`/"
               "`.trr`; select both), or one multi-model `.pdb`. The backbone (N, CA, C, O) is "
               "used; frame 0 is the input. With frames every 3 ps (or a divisor of it) up to "
               "12 ps the prediction is scored against them.",
}
dataset, model = dataset_and_model()
family = get_dataset(dataset)
unit = short_unit(family.length_unit)
st.title("Predict your own trajectory")
st.markdown(f"**{dataset}** reads {', '.join('.' + f for f in family.file_formats)}. "
            + HELP.get(family.view, ""))
with st.expander("limits on uploads"):
    st.markdown("\n".join(f"- {line}" for line in limits.describe()))
pairs = family.view in ("skeleton", "protein")
upload = st.file_uploader("trajectory file" + (" (or a pair)" if pairs else ""),
                          type=list(family.file_formats), key="upload", accept_multiple_files=pairs)
files = (upload or []) if pairs else ([upload] if upload is not None else [])
if not files:
    st.stop()
too_big = [f for f in files if f.size > MAX_UPLOAD_BYTES]
if too_big:
    st.error(f"{too_big[0].name}: {too_big[0].size / 2**20:.1f} MB is over the "
             f"{MAX_UPLOAD_BYTES // 2**20} MB limit.")
    st.stop()
names = ", ".join(f.name for f in files)
# the worker runs once per upload and model: later reruns of this page draw the kept result
digest = hashlib.sha256(repr((dataset, model)).encode())
for f in files:
    digest.update(f.name.encode() + b"\0" + f.getvalue())
if st.session_state.get("upload_result", (None,))[0] != digest.hexdigest():
    with st.spinner(f"reading {names} and predicting…"):
        result = run_upload(dataset, model, [(f.name, f.getvalue()) for f in files], device=DEVICE)
    st.session_state.upload_result = (digest.hexdigest(), result)
result = st.session_state.upload_result[1]
if not result["ok"]:
    st.error(f"Could not use {'these files' if len(files) > 1 else 'this file'}: {result['message']}")
    st.stop()

meta, out, dataset = result["meta"], result["out"], result["dataset"]
for note in result["notes"]:
    st.info(note)
note = f" (scaled ×{meta['scale']:.3g}, {meta['file_fps']:g} frames/s in the file)" if "scale" in meta else ""
frames = meta.get("frames")
st.success(f"{names}: {meta.get('nodes')} nodes, {frames} frame{'' if frames == 1 else 's'} read{note}; "
           f"predicted P = {result['timesteps']} frames with {dataset}/{model}.")
warning = result["warning"]
if warning:
    st.warning(warning)
errors = {model: out["frame_mse"]} if out["frame_mse"] is not None else None
draw_sample(family, out, meta, errors, f"{names} · {model}", key="upload_traj",
            filename=f"egno_upload_{model}")
if out["frame_mse"] is not None:
    c1, c2, c3 = st.columns(3)
    c1.metric(f"F-MSE against the file's frames ({unit}²)", f"{out['frame_mse'][-1]:.5g}")
    c2.metric(f"A-MSE against the file's frames ({unit}²)", f"{out['frame_mse'].mean():.5g}")
    c3.metric(f"F-MSE of predicting no motion ({unit}²)", f"{out['still_mse'][-1]:.5g}",
              help=NO_MOTION_HELP)
else:
    st.info("The file has no frames at the window's target times, so there is nothing to score against.")
exports = result["exports"]
stem = files[-1].name.rsplit(".", 1)[0] + f"_{model}_prediction"
d1, d2, d3 = st.columns(3)
d1.download_button("prediction as CSV", exports["csv"], f"{stem}.csv", "text/csv", key="up_csv")
d2.download_button("prediction as npz", exports["npz"], f"{stem}.npz", key="up_npz")
d3.download_button("prediction as extended XYZ", exports["extxyz"], f"{stem}.extxyz", key="up_xyz")
