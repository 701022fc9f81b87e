"""Long horizon: a model chained window after window past its trained ΔT, against the truth, on a
test sample or on the upload kept from the Upload page (chained in its worker, egno.uploads.worker)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from app.common import (DEVICE, animation_downloads, dataset_and_model, draw_sample, load_ensemble,
                        load_model, load_spread_model, short_unit)
from app.figures import IN_3DMOL, animated_figure, plot_options
from app.figures_rollout import checks_chart, cut_at, horizon_chart, label_windows, mark_windows
from app.player import readable_time
from app.plotview import plotly_view
from app.upload_state import choices_note, upload_source, used_options, worker
from egno import get_dataset
from egno.paths import ROOT
from egno.run.checkpoint import chaining_checkpoint, ensemble_flag, shipped_card, shipped_models
from egno.run.flag import chained_spread
from egno.data.long import long_windows
from egno.data.physics import LIMITS, LOG_SCALE, NOT_FINITE, TITLES, broken_at, divergence_rule
from egno.run.rollout import (accumulated_variance, chain_one, chain_with_spread, first_unpredictable,
                              per_sample_checks)
from egno.run.uncertainty import calibration_scale
from egno.service.inference import mse_band
from egno.service.results import Prediction

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
    return chain_one(load_chained(dataset, model).model, one, windows, timesteps, dataset, device=DEVICE)


@st.cache_resource(show_spinner="loading checkpoint…")
def load_chained(dataset: str, model: str):
    """The checkpoint chained here: the shipped model trained to be chained where there is one."""
    return chaining_checkpoint(dataset, model, DEVICE)


@st.cache_data(show_spinner="chaining the variance head…", max_entries=64)
def chained_variance(dataset: str, windows: int, timesteps: int, sample: int):
    """σ² (K·P, N) of EGNO's chained rollout of this sample, accumulated over windows."""
    one = long_data(dataset, windows, timesteps).select([sample])
    loaded = load_spread_model(dataset, "egno")
    _, var = chain_with_spread(loaded.model, one, windows, timesteps, dataset, device=DEVICE)
    return calibration_scale(loaded.card) * accumulated_variance(var, timesteps)


@st.cache_data(show_spinner="chaining the ensemble's members…", max_entries=64)
def members_spread(dataset: str, windows: int, timesteps: int, sample: int) -> np.ndarray:
    """(K,): how far apart the shipped EGNO ensemble's members are at each window's end, each
    chained on its own predictions from this sample's input (egno.run.flag.ensemble_spread)."""
    one = long_data(dataset, windows, timesteps).select([sample])
    members = [m.model for m in load_ensemble(dataset, "egno")]
    return chained_spread("ensemble", members, one, windows, timesteps, dataset, device=DEVICE)[0][0]


def unpredictable_note(spread: np.ndarray, card: dict, members: int) -> None:
    """Where this sample's ensemble spread first passes the threshold of ``card`` (egno ensemble
    --flag); the rule and how it fared on the test rollouts in a caption below."""
    t, threshold = card["test"], card["threshold"]
    over = first_unpredictable(spread[None], threshold)[0]
    if over is None:
        st.success(f"Predictable for all {len(spread)} windows: the {members} ensemble members chained "
                   f"from this input stay within {np.nanmax(spread):.3g} {length} (RMS) of one another, "
                   f"below the threshold {threshold:.3g}.")
    else:
        apart = ("no longer finite" if not np.isfinite(spread[over - 1])
                 else f"{spread[over - 1]:.3g} {length} (RMS) apart")
        st.warning(f"**No longer predictable from window {over}** (t = {readable_time(over * window, unit)}): "
                   f"the {members} ensemble members chained from this input are {apart} there, past the "
                   f"threshold {threshold:.3g}.", icon=":material/help:")
    st.caption(f"The threshold was chosen on the validation rollouts so that at most {card['false_rate']:.0%} "
               f"are flagged more than {card['horizon']} windows before they break a physical limit. Of the "
               f"{t['diverged']} test rollouts of the shipped EGNO that break one within {card['windows']} "
               f"windows it flagged {t['flagged_before_divergence']} before they did (median "
               f"{t['windows_early_median']:g} windows early; {t['premature']} too early), against "
               f"{card['clock']['test']['flagged_before_divergence']} for a flag at the same window for every "
               "sample (docs/results/uncertainty.md).")


st.title("Long horizon")
timesteps = load_model(dataset, model).config.timesteps
st.caption(f"{dataset}: the model predicts one window (P = {timesteps} frames over ΔT), then its "
           "last predicted state becomes the next input, window after window. EGNO's next velocity "
           "is the difference of its last two frames, EGNN-R keeps its last step, linear its "
           "velocity. Ground truth as far as the data go.")
chained_here = [load_chained(dataset, m) for m in COMPARED if m in shipped_models(dataset)]
trained_to_chain = [c for c in chained_here if c.path.parent.name == "long"]
if trained_to_chain:
    def one_window(c) -> str:
        mine, explore = c.card["metrics"]["test"], shipped_card(dataset, c.config.model)["metrics"]["test"]
        if mine.get("n_samples") == explore.get("n_samples"):
            return f"one-window test F-MSE {mine['f_mse']:.3g}, Explore's {explore['f_mse']:.3g}"
        return (f"one-window test F-MSE {mine['f_mse']:.3g} on its own test split of {mine['n_samples']:,} "
                f"windows, Explore's {explore['f_mse']:.3g} on {explore['n_samples']:,}")

    names = " and ".join(f"{c.config.model.upper()} (`{c.path.relative_to(ROOT)}`: {one_window(c)})"
                         for c in trained_to_chain)
    st.info(f"{names} here {'are checkpoints' if len(trained_to_chain) > 1 else 'is the checkpoint'} "
            "trained to be chained, fine-tuned from the shipped model (their cards record the commands), "
            "not Explore's: over the long-horizon test samples they stay finite and on track longer; "
            "their one-window error is given beside Explore's (docs/results/long_horizon.md).")
files = upload_source(family, dataset, "rolled out", key="lh_source")  # None: a long-horizon test sample
c1, c2 = st.columns(2)
windows = c1.slider("windows to chain", 1, 20, 10, key="lh_windows")
if files is None:
    data = long_data(dataset, windows, timesteps)
    sample = int(c2.number_input("long-horizon sample", 0, len(data) - 1, 0, step=1, key="lh_sample"))
    one = data.select([sample])
    runs = {m: rollout(dataset, m, windows, timesteps, sample)
            for m in COMPARED if m in shipped_models(dataset)}
    if model not in runs:
        runs[model] = rollout(dataset, model, windows, timesteps, sample)
    meta = family.sample_meta(one, 0)
    x0, truth, t, window = one.x.numpy(), one.target.numpy(), one.t.numpy(), one.window
    truth_checks = per_sample_checks(one, one.target, dataset)[0]["checks"]
    subject, stem = f"{dataset} long-horizon sample {sample}", f"egno_long_{dataset.replace('/', '_')}"
else:  # the same rollout on the upload, in the upload worker: the server never reads its bytes
    names = ", ".join(n for n, _ in files)
    options = used_options(files)
    result = worker(dataset, model, files, "rollout", options, DEVICE, f"chaining {windows} windows on {names}…",
                    job={"windows": windows})
    if not result.ok:
        st.error(f"Could not roll out {'these files' if len(files) > 1 else 'this file'}: {result.message}")
        st.stop()
    for note in result.notes:
        st.info(note)
    c2.caption(choices_note(result.meta, options, unit))
    runs, meta, model, timesteps = result.job["runs"], result.meta, result.model, result.job["timesteps"]
    x0, truth, t, window, truth_checks = (result.job[k] for k in ("x", "truth", "t", "window", "truth_checks"))
    subject, stem = f"{names} · {result.dataset}", f"egno_long_{Path(files[-1][0]).stem}"
truth_frames = int(np.isfinite(truth).all((1, 2)).sum())
times = t * window
if truth_frames < len(times):
    if files is None:
        st.info(f"The data have ground truth for the first {truth_frames} of {len(times)} frames "
                f"({truth_frames / timesteps:g} windows); past that only the physical checks apply.")
    elif truth_frames:
        st.info(f"The file has frames at the first {truth_frames} of the {len(times)} chained times: "
                "the error is scored over those; past that only the physical checks apply.")
    else:
        st.info("The file has no frames at the chained times after its input frame: there is "
                "nothing to score against; only the physical checks apply.")
shown = runs[model]

breaks = {name: broken_at(r["checks"]) for name, r in runs.items()}
for name, broken in breaks.items():
    if broken is None:
        st.success(f"{name}: within every physical limit for {windows} windows.")
        continue
    frame, why = broken
    when = ("the input" if frame == 0 else
            f"window {(frame - 1) // timesteps + 1} (t = {readable_time(times[frame - 1], unit)})")
    if why == NOT_FINITE:
        st.error(f"**{name}: diverged** at {when}: the prediction is no longer finite. Its numbers "
                 "stop there.", icon=":material/warning:")
    else:
        st.warning(f"**{name}: diverged** at {when}: {TITLES.get(why, why)} passed its limit "
                   f"({LIMITS[why]:g}). Its numbers stop there.", icon=":material/warning:")
st.caption(divergence_rule())
flag_card = ensemble_flag(dataset) if files is None and "egno" in runs else None
members = load_ensemble(dataset, "egno") if flag_card is not None else None
spread = members_spread(dataset, windows, timesteps, sample) if members else None
if spread is not None:
    unpredictable_note(spread, flag_card, len(members))


def drawn_until(broken: tuple[int, str] | None) -> int | None:
    """The first prediction index not drawn: past the breaking frame b (input = 0, so prediction
    b − 1), or from it where it is not finite."""
    if broken is None:
        return None
    return max(broken[0] - 1, 0) if broken[1] == NOT_FINITE else broken[0]


errors = {m: cut_at(np.where(np.isinf(r["frame_mse"]), np.nan, r["frame_mse"]), drawn_until(breaks[m]))
          for m, r in runs.items()}
out = Prediction(x=x0, v=np.zeros_like(x0), pred=shown["pred"], t=t, window=window,
                 truth=np.where(np.isfinite(truth), truth, np.nan), node_error=shown["node_error"],
                 frame_mse=errors[model])
# 3Dmol writes PDB/XYZ text with fixed-width coordinates; a blown-up rollout is drawn up to there
reach = 999.0 if family.view in IN_3DMOL else 1e6
ok = np.isfinite(out.pred).all((1, 2)) & (np.abs(np.nan_to_num(out.pred)).max((1, 2)) < reach)
drawn = len(ok) if ok.all() else int(np.argmax(~ok))
if drawn < len(ok):
    st.warning(f"{model}'s rollout leaves the drawable range (not finite or beyond {reach:g} "
               f"{length}) at frame {drawn + 1}: the view stops before it.")
    drawn = max(drawn, 1)
    out = out.with_(pred=out.pred[:drawn], truth=out.truth[:drawn], node_error=out.node_error[:drawn],
                    t=out.t[:drawn], frame_mse=out.frame_mse[:drawn])
view_times, view_errors = times[:len(out.pred)], {m: e[:len(out.pred)] for m, e in errors.items()}
title = f"{subject} · {model}, {windows} windows"
if family.view in IN_3DMOL or truth_frames < len(times):
    view = out.with_(truth=None, node_error=None) if truth_frames < len(times) else out
    draw_sample(family, view, meta, None, title, key="lh_trajectory", filename=f"{stem}_{model}")
else:
    fig = animated_figure(out.x, out.pred, out.truth, out.node_error, view_times, unit,
                          errors=view_errors, title=title, length_unit=length, **plot_options(family, meta))
    plotly_view(label_windows(mark_windows(fig, windows, window), timesteps), key="lh_trajectory")
animation_downloads(out, family, meta, f"{stem}_{model}", title, key="lh_anim",
                    help="the chained prediction over the truth as far as it goes (nodes past it grey), "
                    "one frame per time, rendered on the server")
band, band_name = None, "egno: predicted 90 % range"
if files is None and "egno" in runs and load_spread_model(dataset, "egno") is not None:
    band = mse_band(chained_variance(dataset, windows, timesteps, sample))
    other = any(c.config.model == "egno" for c in trained_to_chain)  # the head is Explore's EGNO's
    band_name = "Explore's egno: predicted 90 % range" if other else band_name
    st.caption("Shaded: the range (90 %) of EGNO's error its variance head predicts, window by window, "
               "each window's spread added to the last's. It warns of a coming divergence less often "
               "than the ensemble's members drifting apart (docs/results/uncertainty.md), so the "
               "flag above is drawn from those where an ensemble is shipped."
               + (" The head is Explore's EGNO's: the range is for Explore's EGNO chained from this input, "
                  "not for the EGNO trained to be chained drawn here." if other else ""))
if truth_frames:
    plotly_view(horizon_chart(errors, times, windows, window, unit, length, band=band,
                              band_name=band_name, spread=spread,
                              threshold=None if spread is None else flag_card["threshold"]), key="lh_errors")
checks = {**{m: {name: cut_at(v, None if breaks[m] is None else drawn_until(breaks[m]) + 1)
                 for name, v in r["checks"].items()} for m, r in runs.items()}, "truth": truth_checks}
if any(checks.values()):
    plotly_view(checks_chart(checks, times, windows, window, unit, LIMITS, TITLES, LOG_SCALE), key="lh_checks")
st.caption("Window ends are dotted. Drifts are relative: N-body momentum ‖ΣΔv‖ / Σ‖v₀‖ and energy "
           "|ΔE| / (K₀ + |U₀|) with finite-difference velocities (the truth's own energy drift "
           "peaks in close encounters); bonds against the truth; bone lengths against the input; "
           "CA–CA distances against 3.8 Å.")
