"""Command line: ``python -m egno {data, train, evaluate, export, render, rollout, ensemble, bench} ...``
(``--help`` on each)."""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

import torch

from egno.nn.config import MODELS, preset


def _threads(n: int | None) -> None:
    if n:
        torch.set_num_threads(n)


def cmd_data(a) -> None:
    from egno.data import dataset_names, get_dataset

    sizes = {k: v for k, v in (("train", a.train), ("val", a.val), ("test", a.test)) if v}
    if a.long:
        from egno.data.long import generate_nbody_long

        assert a.dataset == "nbody", "--long makes the nbody long-horizon test file"
        print(f"wrote {generate_nbody_long(get_dataset('nbody', a.data_dir), seed=a.seed)}")
        return
    dataset = f"{a.dataset.split('/')[0]}/{a.molecule}" if a.molecule else a.dataset
    # a family's name alone: each of its datasets (md17/all is every molecule already)
    names = [n for n in dataset_names() if n.startswith(dataset + "/") and not n.endswith("/all")] or [dataset]
    options = dict(engine=a.engine, production=a.production, rotation=a.rotation, workers=a.workers,
                   segments=a.segments)  # md17's; the other families ignore them
    if a.dataset.startswith("md17"):
        options["splits"] = tuple(a.splits)
    for name in names:
        try:
            family = get_dataset(name, a.data_dir if len(names) == 1 else None)
        except (KeyError, ValueError) as e:
            sys.exit(str(e))
        if a.source:
            family.source = a.source
        out = family.generate(progress=not a.quiet, seed=a.seed, sizes=sizes, **options)
        print(f"wrote {name} to {out}")


def train_configs(a) -> tuple:
    """The model and training configs a parsed ``train`` command asks for (preset + options)."""
    mc, tc = preset(a.dataset, a.model)
    for key in ("hidden", "layers", "modes", "timesteps"):
        if getattr(a, key) is not None:
            setattr(mc, key, getattr(a, key))
    if a.norm_diff is not None:
        mc.norm_diff = bool(a.norm_diff)
    if a.vector_conv_init is not None:
        mc.vector_conv_init = a.vector_conv_init
    mc.variance_head = bool(a.variance_head)
    tc.freeze_mean = bool(a.freeze_mean)
    tc.val_checks = bool(a.val_checks)
    for key in ("epochs", "batch_size", "lr", "patience", "weight_decay", "seed", "max_train", "eval_every",
                "warmup_epochs", "ema", "train_starts", "time_sampling", "chain_windows",
                "input_noise", "velocity_loss", "pushforward_limit", "val_windows", "start_windows",
                "init", "nll_beta", "shape_loss"):
        if getattr(a, key) is not None:
            setattr(tc, key, getattr(a, key))
    tc.time_limit_min = a.time_limit
    return mc, tc


def cmd_train(a) -> None:
    from egno.run.checkpoint import shipped_path
    from egno.run.train import train

    _threads(a.threads)
    mc, tc = train_configs(a)
    out = Path(a.out or Path("runs") / a.dataset / a.model)
    dest = shipped_path(a.dataset, a.ship_as) if a.ship_as else shipped_path(a.dataset, a.model) if a.ship else None
    command = "python -m egno " + " ".join(shlex.quote(x) for x in sys.argv[1:])
    path = train(a.dataset, mc, tc, out, a.data_dir, a.device, not a.quiet, command, dest)
    print(f"wrote {path}")


def cmd_evaluate(a) -> None:
    from egno.run import uncertainty
    from egno.run.checkpoint import load_checkpoint, resolve_checkpoint
    from egno.data import get_dataset
    from egno.run.evaluate import evaluate
    from egno.run.train import pick_device

    _threads(a.threads)
    dev = pick_device(a.device)
    loaded = load_checkpoint(a.checkpoint, dev) if a.checkpoint else resolve_checkpoint(
        a.dataset, a.model, dev)
    family = get_dataset(a.dataset, a.data_dir)
    p = a.timesteps or loaded.config.timesteps
    if a.data:
        windows = family.read_file(Path(a.data), p)
        if windows.target is None:
            sys.exit(f"{a.data}: the file has no frames to compare against at P = {p}")
        split = f"file:{Path(a.data).name}"
    else:
        family.ensure(progress=not a.quiet)
        windows = family.load(a.split, p)
        split = a.split
    if a.rotate:
        from egno.service.inference import rotation_from_euler

        axis, _, text = a.rotate.partition(":")
        try:
            degrees = float(text)
        except ValueError:
            degrees = None
        if axis not in ("x", "y", "z") or degrees is None:
            sys.exit(f"--rotate takes AXIS:DEGREES with AXIS x, y or z (e.g. y:90), not '{a.rotate}'")
        euler = [degrees if axis == name else 0.0 for name in "zyx"]  # rotation_from_euler: Rz Ry Rx
        windows = windows.turned(rotation_from_euler(*euler))
    result = {"dataset": a.dataset, "model": loaded.config.model, "checkpoint": str(loaded.path),
              "split": split, "trained_timesteps": loaded.config.timesteps,
              **({"rotate": a.rotate} if a.rotate else {}),
              **evaluate(loaded.model, windows, a.batch_size, dev, progress=not a.quiet)}
    result["timesteps"] = windows.timesteps
    if uncertainty.has_variance(loaded.model) and windows.target is not None and not a.data:
        # recalibrated on validation (at this P), scored on the evaluated windows
        result["calibration"] = uncertainty.calibration_report(
            loaded.model, family.load("val", p), windows, a.batch_size, dev)
    if a.json:
        print(json.dumps(result))
    else:
        print(f"{a.dataset} {result['model']} {split} P={windows.timesteps} "
              f"n={result['n_samples']}: F-MSE {result['f_mse']:.5f}  A-MSE {result['a_mse']:.5f}")
        for name, c in result.get("calibration", {}).items():
            if isinstance(c, dict):
                print(f"  {name:9s} NLL {c['nll']:.4f}  CRPS {c['crps']:.5f}  coverage 50/90 % "
                      f"{c['coverage_50']:.3f}/{c['coverage_90']:.3f}  miscalibration "
                      f"{c['miscalibration_area']:.3f}  spread/RMSE {c['rms_sigma']:.4f}/{c['rmse']:.4f}  "
                      f"Spearman {c['spearman_spread_error']:.2f}")


def cmd_export(a) -> None:
    from egno.data import get_dataset
    from egno.data.nbody import export_trajectory

    assert a.dataset == "nbody", "export is implemented for nbody"
    family = get_dataset(a.dataset, a.data_dir)
    family.ensure()
    for i in a.index:
        out = Path(a.out.format(index=i))
        print(f"wrote {export_trajectory(family.data_dir, a.split, i, out)}")


def cmd_render(a) -> None:
    import time

    from egno.run.checkpoint import resolve_checkpoint
    from egno.data import get_dataset
    from egno.service.inference import predict_one, test_windows
    from egno.service.render import render_animation

    _threads(a.threads)
    began = time.perf_counter()
    family = get_dataset(a.dataset)
    # at a P the data has no frames for, the model predicts zero-shot and there is no truth to draw
    truth = a.timesteps is None or a.timesteps in family.available_timesteps("test")
    windows = test_windows(family, a.timesteps if truth else None, generate=True)
    assert 0 <= a.sample < len(windows), f"--sample: 0 to {len(windows) - 1}"
    out = predict_one(resolve_checkpoint(a.dataset, a.model), windows, a.sample,
                      timesteps=None if truth else a.timesteps)
    meta = family.sample_meta(windows, a.sample)
    predicted = time.perf_counter()
    render_animation(out, family, meta, a.out, a.layout, a.fps,
                     f"{a.dataset} test sample {a.sample} · {a.model}")
    done = time.perf_counter()
    print(f"wrote {a.out}: {len(out.pred) + 1} frames; predict {predicted - began:.1f} s, "
          f"render {done - predicted:.1f} s, total {done - began:.1f} s")


def _per_window(values: list) -> str:
    return ", ".join("–" if v is None else f"{v:.4g}" for v in values)


def cmd_rollout(a) -> None:
    from egno.run.checkpoint import chaining_checkpoint, load_checkpoint
    from egno.data import get_dataset
    from egno.data.long import long_windows
    from egno.run.rollout import run
    from egno.run.train import pick_device

    _threads(a.threads)
    dev = pick_device(a.device)
    family = get_dataset(a.dataset, a.data_dir)
    models = a.model or ([] if a.checkpoint else ["egno"])
    loaded = {m: chaining_checkpoint(a.dataset, m, dev) for m in models}  # what Long horizon chains
    for named in a.checkpoint or []:
        name, _, path = named.partition("=")
        if not path:
            sys.exit(f"--checkpoint {named}: give NAME=PATH")
        loaded[name] = load_checkpoint(path, dev)
    w = long_windows(family, a.windows, next(iter(loaded.values())).config.timesteps)
    if a.sample is not None:
        if not 0 <= a.sample < len(w):
            sys.exit(f"--sample must be in 0..{len(w) - 1}")
        w = w.select([a.sample])
    elif a.samples:
        w = w.select(range(min(a.samples, len(w))))
    result = {"dataset": a.dataset, **run(loaded, w, a.windows, a.dataset, a.velocity, dev)}
    for name, lm in loaded.items():
        result["models"][name]["checkpoint"] = str(lm.path)
    if not a.json:
        for name, r in result["models"].items():
            f_mse = _per_window(r.get("f_mse", []))
            print(f"{a.dataset} {name} ({r['checkpoint']}) K={a.windows} n={len(w)} ({r['seconds']:.2f} s): "
                  f"F-MSE per window {f_mse} (mean over its samples within the limits); diverged "
                  f"at the end {r['diverged'][-1]:.0%}")
        if "common" in result:
            n = result["common"]["n"]
            print(f"on the samples every model keeps within the limits ({', '.join(map(str, n))} per window):")
            for name, values in result["common"]["f_mse"].items():
                print(f"  {name}: F-MSE per window {_per_window(values)}")
                for check, drift in result["common"].get("checks", {}).get(name, {}).items():
                    print(f"  {name}: {check.replace('_', ' ')} per window {_per_window(drift)}")
    else:
        print(json.dumps(result))


def cmd_ensemble(a) -> None:
    import time

    from egno.data import get_dataset
    from egno.run.checkpoint import ensemble_card, ensemble_folder, ensemble_paths, load_checkpoint
    from egno.run.ensemble import ensemble_report, ship_members
    from egno.run.train import pick_device

    _threads(a.threads)
    dev, began = pick_device(a.device), time.time()
    if a.ship:
        ship_members(a.dataset, a.model, a.ship)
    paths = ensemble_paths(a.dataset, a.model)
    if not paths:
        sys.exit(f"no {a.model} ensemble is shipped for {a.dataset}: train members with "
                 f"scripts/experiments/seed_spread.py and ship them with --ship RUN/{a.model}.pt ...")
    family = get_dataset(a.dataset, a.data_dir)
    family.ensure(progress=not a.quiet)
    models = [load_checkpoint(p, dev).model for p in paths]
    report = ensemble_report(models, family.load("val"), family.load("test"), a.batch_size, dev)
    if a.ship:
        (ensemble_folder(a.dataset) / f"{a.model}.json").write_text(json.dumps({
            "dataset": a.dataset, "model": a.model, "members": [p.name for p in paths],
            "command": shlex.join(["python", "-m", "egno", "ensemble", "--dataset", a.dataset, "--model", a.model,
                                   "--ship", *map(str, a.ship)]),
            "scale": report["scale"], "metrics": {"test": report}, "wall_time_s": time.time() - began}, indent=2))
    elif (card := ensemble_card(a.dataset, a.model)) is not None:
        report["card_scale"] = card["scale"]
    if a.flag:
        report["flag"] = _ensemble_flag(a, family, models, dev)
    if a.json:
        print(json.dumps({"dataset": a.dataset, "model": a.model, "members": [str(p) for p in paths], **report}))
        return
    print(f"{a.dataset} {a.model} ensemble of {len(paths)} (recalibration s = {report['scale']:.3g}): "
          f"mean's test F-MSE {report['ensemble']['f_mse']:.5f}; members' "
          + ", ".join(f"{v:.5f}" for v in report["member_f_mse"]))
    for name in ("ensemble", "ensemble_raw", "per_frame"):
        c = report[name]
        extra = (f"  energy score {c['energy_score']:.5f}  CRPS (members) {c['crps_ensemble']:.5f}"
                 if "energy_score" in c else "")
        print(f"  {name:12s} NLL {c['nll']:.4f}  CRPS {c['crps']:.5f}  coverage 50/90 % {c['coverage_50']:.3f}/"
              f"{c['coverage_90']:.3f}  miscalibration {c['miscalibration_area']:.3f}  spread/RMSE "
              f"{c['rms_sigma']:.4f}/{c['rmse']:.4f}  Spearman {c['spearman_spread_error']:.2f}{extra}")
    if a.flag:
        f, t = report["flag"], report["flag"]["test"]
        print(f"  flag: threshold {f['threshold']:.4g} (validation); test rollouts diverging in {f['windows']} "
              f"windows {t['diverged']} of {t['samples']}: flagged before {t['flagged_before_divergence']} "
              f"(median {t['windows_early_median']} windows early), at or after {t['flagged_at_or_after']}, "
              f"never {t['never_flagged']}; calm flagged {t['calm_flagged']} of {t['calm']}; premature "
              f"(over {f['horizon']} windows early) {t['premature']}; the same window for every sample: "
              f"{f['clock']['test']['flagged_before_divergence']} before, {f['clock']['test']['premature']} premature")


def _ensemble_flag(a, family, models, dev) -> dict:
    """The ensemble's no-longer-predictable threshold (egno.run.flag), written to its folder's
    flag.json with the command that made it."""
    import time

    from egno.data.long import long_windows
    from egno.run.checkpoint import ensemble_folder
    from egno.run.flag import flag_study

    began, p = time.time(), models[0].config.timesteps
    val, test = (long_windows(family, a.flag, p, split) for split in ("val", "test"))
    study = flag_study("ensemble", models, val, test, a.flag, a.dataset, a.flag_false_rate, a.flag_horizon, dev,
                       with_clock=True)
    card = {"dataset": a.dataset, "model": a.model, **study, "wall_time_s": round(time.time() - began, 1),
            "command": shlex.join(["python", "-m", "egno", "ensemble", "--dataset", a.dataset, "--model",
                                   a.model, "--flag", str(a.flag), "--flag-false-rate", str(a.flag_false_rate),
                                   "--flag-horizon", str(a.flag_horizon)])}
    (ensemble_folder(a.dataset) / f"{a.model}-flag.json").write_text(json.dumps(card, indent=2))
    return card


def cmd_bench(a) -> None:
    from egno.run.bench import run_bench

    run_bench(a)


def _data_command(sub) -> None:
    d = sub.add_parser("data", help="generate a dataset into the data directory")
    d.add_argument("dataset")
    d.add_argument("--data-dir", type=Path, help="output folder (default: data/<dataset>)")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--source", type=Path, help="mocap: a folder of CMU ASF/AMC files (default "
                   "../shared/data/cmu_mocap)")
    for split in ("train", "val", "test"):
        d.add_argument(f"--{split}", type=int, help=f"number of {split} samples")
    d.add_argument("--molecule", help="md17: one of the eight molecules, or all (the same as md17/<molecule>)")
    d.add_argument("--engine", choices=("xtb", "mmff"), default="xtb",
                   help="md17 forces: GFN2-xTB (tblite; default) or RDKit MMFF94 (fast, tests)")
    d.add_argument("--production", choices=("nve", "langevin"), default="nve",
                   help="md17 production run after the Langevin equilibration: velocity Verlet "
                   "(default; deterministic) or the older weak Langevin thermostat")
    d.add_argument("--rotation", choices=("zero", "thermal"), default="zero",
                   help="md17: angular momentum at the start of production: zero (default; the "
                   "molecule does not tumble, as in MD17) or the thermal one the equilibration left")
    d.add_argument("--segments", type=int, default=10,
                   help="md17: independent segments per split, each with its own seed (default 10)")
    d.add_argument("--splits", nargs="+", choices=("train", "val", "test"), default=["train", "val", "test"],
                   help="md17: the splits to simulate (default all three); without test, the committed "
                   "test split (assets/samples/md17) is put beside them, so training needs no floors")
    d.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="md17: segments simulated at once, one process per core (default: all cores)")
    d.add_argument("--long", action="store_true", help="nbody: only the long-horizon test file "
                   "(100 systems, 25 windows after the input frame; `rollout` makes it when missing)")
    d.add_argument("--quiet", action="store_true")
    d.set_defaults(func=cmd_data)


def _train_command(sub) -> None:
    t = sub.add_parser("train", help="train a model; rerun the same command to resume")
    t.add_argument("--dataset", required=True)
    t.add_argument("--model", required=True, choices=MODELS)
    t.add_argument("--out", help="run directory (default runs/<dataset>/<model>)")
    t.add_argument("--ship", action="store_true", help="write the checkpoint into assets/checkpoints")
    t.add_argument("--ship-as", metavar="NAME",
                   help="write it as assets/checkpoints/<dataset>/NAME.pt instead (e.g. uncertainty/egno, "
                        "long/egno: beside the shipped models, not among them)")
    t.add_argument("--data-dir", type=Path)
    t.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    t.add_argument("--threads", type=int, help="torch CPU threads")
    for key, typ in (("hidden", int), ("layers", int), ("modes", int), ("timesteps", int),
                     ("epochs", int), ("batch-size", int), ("lr", float), ("patience", int),
                     ("weight-decay", float), ("seed", int), ("max-train", int), ("eval-every", int),
                     ("warmup-epochs", int), ("time-limit", float), ("ema", float), ("train-starts", int)):
        t.add_argument(f"--{key}", type=typ)
    t.add_argument("--time-sampling", choices=("fixed", "random-p", "random-points"),
                   help="target times per batch (default fixed; random-*: any-resolution training)")
    t.add_argument("--chain-windows", type=int, metavar="K",
                   help="pushforward: train on window k+1 after k unrolled windows, k in 0..K-1; "
                        "validate on K chained windows (egno.run.chained)")
    t.add_argument("--input-noise", type=float, metavar="SIGMA",
                   help="Gaussian noise on input positions (length unit; σ/(ΔT/P) on velocities)")
    t.add_argument("--velocity-loss", type=float, metavar="WEIGHT",
                   help="loss on the velocity handed to the next window (its weight)")
    t.add_argument("--pushforward-limit", type=float, metavar="D",
                   help="pushforward: leave out unrolled inputs more than D (RMS) off their truth")
    t.add_argument("--val-windows", type=int, metavar="W",
                   help="validate on W chained windows (default K): keep the epoch that chains best")
    t.add_argument("--val-checks", action="store_true",
                   help="chained validation: a rollout past a physical limit counts as lost (its "
                        "error the window's largest): keep the epoch that chains best and keeps the physics")
    t.add_argument("--start-windows", type=int, metavar="W",
                   help="nbody, chained training: also start from the true state at windows 2..W "
                        "(systems as spread out as a chained rollout's)")
    t.add_argument("--shape-loss", type=float, metavar="WEIGHT",
                   help="add the error of the graph's edge lengths (bonds, 2-hop pairs) to the loss, "
                        "this weight: keeps a molecule's size where its motion cannot be foreseen")
    t.add_argument("--init", help="start from this checkpoint's weights (fine-tuning)")
    t.add_argument("--variance-head", action="store_true",
                   help="egno/egnn: add a head predicting each node's variance (trained with --nll-beta)")
    t.add_argument("--nll-beta", type=float, metavar="BETA",
                   help="train with β-NLL (0: plain NLL, 0.5 the usual); needs --variance-head")
    t.add_argument("--freeze-mean", action="store_true",
                   help="train only the variance head: the positions stay the --init checkpoint's")
    t.add_argument("--norm-diff", type=int, choices=(0, 1), help="EGNN normalised coordinate differences")
    t.add_argument("--vector-conv-init", choices=("zero", "random"),
                   help="EGNO's vector temporal weights at the start (default zero: starts as egnn)")
    t.add_argument("--quiet", action="store_true")
    t.set_defaults(func=cmd_train)


def _evaluate_command(sub) -> None:
    e = sub.add_parser("evaluate", help="F-MSE / A-MSE of a checkpoint")
    e.add_argument("--dataset", required=True)
    e.add_argument("--model", default="egno", choices=MODELS)
    e.add_argument("--checkpoint", type=Path, help="default: the shipped checkpoint")
    e.add_argument("--data", help="a file in the dataset family's format instead of a split")
    e.add_argument("--data-dir", type=Path)
    e.add_argument("--split", default="test", choices=("train", "val", "test"))
    e.add_argument("--timesteps", type=int, help="P to evaluate at (zero-shot if not the trained P)")
    e.add_argument("--rotate", metavar="AXIS:DEGREES",
                   help="turn every test sample about its centroid first (e.g. y:90): equivariant "
                        "models must not change, a model that learned the lab frame will")
    e.add_argument("--batch-size", type=int, default=500)
    e.add_argument("--device")
    e.add_argument("--threads", type=int)
    e.add_argument("--json", action="store_true", help="last line: one JSON object")
    e.add_argument("--quiet", action="store_true")
    e.set_defaults(func=cmd_evaluate)


def _export_command(sub) -> None:
    x = sub.add_parser("export", help="write dataset trajectories as user files (csv / npz)")
    x.add_argument("--dataset", default="nbody")
    x.add_argument("--split", default="test", choices=("train", "val", "test"))
    x.add_argument("--index", type=int, nargs="+", default=[0])
    x.add_argument("--out", required=True, help="file name; {index} is replaced by the sample number")
    x.add_argument("--data-dir", type=Path)
    x.set_defaults(func=cmd_export)


def _render_command(sub) -> None:
    g = sub.add_parser("render", help="a test prediction as a GIF or MP4 (truth and prediction)")
    g.add_argument("--dataset", default="nbody")
    g.add_argument("--model", default="egno")
    g.add_argument("--sample", type=int, default=0)
    g.add_argument("--timesteps", type=int, help="target times P (frames: P + 1; default: the data's)")
    g.add_argument("--out", required=True, help="FILE.gif or FILE.mp4")
    g.add_argument("--layout", default="overlay", choices=("overlay", "side"))
    g.add_argument("--fps", type=float, default=8.0)
    g.add_argument("--threads", type=int, default=1, help="torch threads (1: see docs/performance.md)")
    g.set_defaults(func=cmd_render)


def _rollout_command(sub) -> None:
    r = sub.add_parser("rollout", help="chained long-horizon rollout, window after window")
    r.add_argument("--dataset", required=True)
    r.add_argument("--model", nargs="+", default=None, choices=MODELS,
                   help="one or more shipped models (default egno): the checkpoint trained to be "
                        "chained where one is shipped (assets/checkpoints/<dataset>/long/), as on the "
                        "Long horizon page, else Explore's")
    r.add_argument("--checkpoint", nargs="+", metavar="NAME=PATH",
                   help="chain these checkpoints too, each shown as NAME")
    r.add_argument("--windows", type=int, default=10, help="K windows to chain (default 10)")
    one = r.add_mutually_exclusive_group()
    one.add_argument("--sample", type=int, help="one long-horizon test sample")
    one.add_argument("--samples", type=int, help="the first N long-horizon test samples")
    r.add_argument("--velocity", choices=("fd", "fd2", "fine"), default="fd",
                   help="how EGNO's next input velocity is obtained (egno/run/rollout.py)")
    r.add_argument("--data-dir", type=Path)
    r.add_argument("--device")
    r.add_argument("--threads", type=int)
    r.add_argument("--json", action="store_true",
                   help="last line: one JSON object, error and checks per window and per model")
    r.set_defaults(func=cmd_rollout)


def _ensemble_command(sub) -> None:
    e = sub.add_parser("ensemble", help="a deep ensemble's calibration and scores (ship members with --ship)")
    e.add_argument("--dataset", required=True)
    e.add_argument("--model", default="egno", choices=MODELS)
    e.add_argument("--ship", nargs="+", type=Path, metavar="CHECKPOINT",
                   help="trained members (the shipped command, other seeds) to copy into "
                        "assets/checkpoints/<dataset>/ensemble/ first; writes the ensemble's card")
    e.add_argument("--flag", type=int, metavar="WINDOWS",
                   help="also choose the no-longer-predictable threshold of the members chained this many "
                        "windows (validation long-horizon data), score it on test and write "
                        "ensemble/<model>-flag.json")
    e.add_argument("--flag-false-rate", type=float, default=0.1,
                   help="the share of validation rollouts the threshold may flag prematurely")
    e.add_argument("--flag-horizon", type=int, default=3,
                   help="a flag more than this many windows before its rollout diverges is premature")
    e.add_argument("--data-dir", type=Path)
    e.add_argument("--batch-size", type=int, default=500)
    e.add_argument("--device")
    e.add_argument("--threads", type=int)
    e.add_argument("--json", action="store_true")
    e.add_argument("--quiet", action="store_true")
    e.set_defaults(func=cmd_ensemble)


def _bench_command(sub) -> None:
    b = sub.add_parser("bench", help="latency, throughput and memory benchmarks")
    b.add_argument("--dataset", default="nbody")
    b.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    b.add_argument("--repeats", type=int, default=20)
    b.add_argument("--device")
    b.add_argument("--shipped", type=int, nargs="+", metavar="P",
                   help="instead: latency and memory of the shipped EGNO on one test sample at these P")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_bench)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m egno", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for add in (_data_command, _train_command, _evaluate_command, _export_command, _render_command,
                _rollout_command, _ensemble_command, _bench_command):
        add(sub)
    return ap


def main(argv=None) -> None:
    a = parser().parse_args(argv)
    from egno.run.train import TrainingDiverged

    try:
        a.func(a)
    except (ValueError, FileNotFoundError, TrainingDiverged) as err:
        sys.exit(f"error: {err}")


if __name__ == "__main__":
    main()
