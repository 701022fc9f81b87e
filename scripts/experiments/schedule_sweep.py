"""Is a ranking of md17 models an artefact of the one shared schedule? Retrains every model of a
molecule with each of a few schedules (the shipped card's command with one change; nothing shipped:
into runs/schedule/<dataset>/<model>-<setting>), picks each model's schedule by its validation
F-MSE, the same rule for every model, and prints validation and test F-MSE beside the shipped
(untuned) result, the no-motion error and the heavy-atom floor.

    .venv/bin/python scripts/experiments/schedule_sweep.py md17/ethanol md17/benzene --train --jobs 2
    .venv/bin/python scripts/experiments/schedule_sweep.py md17/uracil --train --settings "lr 1e-3" "lr 2e-4"
    .venv/bin/python scripts/experiments/schedule_sweep.py md17/ethanol md17/benzene   # only the tables
    .venv/bin/python scripts/experiments/schedule_sweep.py md17/aspirin --settings rerun "wd 1e-2" --paired

``--paired`` also scores each run on the validation split segment by segment (its 10 independent
segments) against the rerun of the shipped schedule, and picks a setting only where it is lower
on validation by more than two standard errors of that paired difference: a lower mean within
the validation split's own noise is no reason to change the schedule.

``--shape`` picks each model's shape-loss weight instead (the edge-length term that keeps a
molecule's size where its motion cannot be foreseen): the smallest weight whose validation
gyration ratio is at least 0.95 beyond two standard errors over the validation segments;
``--ship-shape`` ships those picks:

    .venv/bin/python scripts/experiments/schedule_sweep.py md17/toluene --train --settings "shape 0.03" "shape 0.1"
    .venv/bin/python scripts/experiments/schedule_sweep.py md17/toluene --settings rerun --shape --ship-shape

Runs are resumable like every training run. The test split plays no part in any choice.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np

from egno.run.checkpoint import load_checkpoint, rerun_command, run_commands, shipped_card, shipped_path
from egno.data import get_dataset
from egno.run.evaluate import segment_f_mse, segment_scores
from egno.paths import ROOT

MODELS = ("egno", "egnn", "egnn-s", "egnn-r")
# one change each against the shipped schedule (lr 5e-4 with warm-up and cosine decay over 300
# epochs, early stop after 60 epochs without a better validation score)
SETTINGS = {
    # the shipped schedule retrained on the data now in the folder (regenerated validation splits
    # differ from the shipped card's, so a pick compares this, not the card, with the others)
    "rerun": {},
    "lr 1e-3": {"--lr": "1e-3"},
    "lr 2e-4": {"--lr": "2e-4"},
    "no early stop": {"--patience": "300"},  # the cosine decay always reaches its low-lr end
    "wd 1e-4": {"--weight-decay": "1e-4"},  # against overfitting (aspirin: best epoch 30 of 150)
    "wd 1e-2": {"--weight-decay": "1e-2"},
    # the edge-length term (bonds, 2-hop pairs): keeps the size of a molecule whose motion the
    # heavy atoms cannot foresee, which the plain MSE averages into a shrunk shape
    "shape 0.03": {"--shape-loss": "0.03"},
    "shape 0.1": {"--shape-loss": "0.1"},
    "shape 0.3": {"--shape-loss": "0.3"},
    "shape 1": {"--shape-loss": "1"},
    "shape 3": {"--shape-loss": "3"},
}
DEFAULT = ("lr 1e-3", "lr 2e-4", "no early stop")


def run_dir(dataset: str, model: str, setting: str) -> Path:
    return ROOT / "runs" / "schedule" / dataset / f"{model}-{setting.replace(' ', '')}"


def commands(dataset: str, models, device: str | None, settings=DEFAULT) -> list[list[str]]:
    todo = []
    for m in models:
        card = shipped_card(dataset, m, required=True)
        for setting in settings:
            flags = SETTINGS[setting]
            out = run_dir(dataset, m, setting).relative_to(ROOT)
            todo.append(rerun_command(card, card["train_config"]["seed"], out, device, flags))
    return todo


def results(dataset: str, models) -> dict[tuple[str, str], dict]:
    """(model, setting) -> the card of each finished run; setting "shipped" is the shipped card."""
    got = {}
    for m in models:
        cards = {"shipped": shipped_path(dataset, m).with_suffix(".json")}
        cards |= {s: run_dir(dataset, m, s) / f"{m}.json" for s in SETTINGS}
        for s, path in cards.items():
            if path.exists():
                got[m, s] = json.loads(path.read_text())
    return got


def usable(card: dict) -> bool:
    return not card["stop_reason"].startswith("diverged")


def picks(got: dict, models) -> dict[str, str]:
    """Each model's setting with the lowest validation F-MSE among its finished, converged runs
    (the shipped schedule on a tie: a run with no early stop repeats it when patience never cut
    it). Where the shipped schedule was rerun, the rerun stands for it: the shipped card's
    validation score may be on other data."""
    out = {}
    for m in models:
        base = "rerun" if (m, "rerun") in got else "shipped"
        options = [(c["metrics"]["val"]["f_mse"], s != base, s) for (mm, s), c in got.items()
                   if mm == m and usable(c) and not (s == "shipped" and base == "rerun")]
        if options:
            out[m] = min(options)[2]
    return out


def paired_val(dataset: str, models, settings, got: dict) -> dict[tuple[str, str], np.ndarray]:
    """(model, setting) -> validation F-MSE per validation segment of each finished run (the
    rerun and the other ``settings``; ``got``: the finished runs' cards), from its checkpoint."""
    family = get_dataset(dataset)
    val, segment = family.load("val"), family.segments("val")
    out = {}
    for m in models:
        for s in settings:
            if (m, s) in got:
                model = load_checkpoint(run_dir(dataset, m, s) / f"{m}.pt", "cpu").model
                out[m, s] = segment_f_mse(model, val, segment)
    return out


def significant_picks(per_segment: dict, got: dict, models) -> dict[str, str]:
    """Each model's lowest-validation setting where it beats the rerun by more than two standard
    errors of the paired per-segment difference, else the rerun."""
    out = {}
    for m in models:
        if (m, "rerun") not in per_segment:
            continue
        base, out[m] = per_segment[m, "rerun"], "rerun"
        tried = [(v.mean(), s) for (mm, s), v in per_segment.items()
                 if mm == m and s != "rerun" and usable(got[m, s])]
        if tried:
            _, s = min(tried)
            d = per_segment[m, s] - base
            if d.mean() + 2 * d.std(ddof=1) / np.sqrt(len(d)) < 0:
                out[m] = s
    return out


def paired_table(dataset: str, models, settings) -> str:
    got = results(dataset, models)
    others = [s for s in settings if s != "rerun"]
    per_segment = paired_val(dataset, models, ["rerun", *others], got)
    lines = [f"**{dataset}**: validation F-MSE minus the rerun's, paired over the validation segments "
             "(mean ± standard error; lower on how many segments)", "",
             "| model | " + " | ".join(others) + " | picked |", "|---|" + "---|" * (len(others) + 1)]
    chosen = significant_picks(per_segment, got, models)
    for m in models:
        cells = []
        for s in others:
            if (m, s) not in per_segment or (m, "rerun") not in per_segment:
                cells.append("not run")
                continue
            d = per_segment[m, s] - per_segment[m, "rerun"]
            cells.append(f"{d.mean():+.4f} ± {d.std(ddof=1) / np.sqrt(len(d)):.4f} ({(d < 0).sum()} of {len(d)})")
        lines.append(f"| {m} | " + " | ".join(cells) + f" | {chosen.get(m, '–')} |")
    test = {m: got[m, s]["metrics"]["test"]["f_mse"] for m, s in chosen.items()}
    if test:
        best = min(test, key=test.get)
        lines.append(f"\npicked beyond validation noise: lowest test F-MSE {best} {test[best]:.4f}")
    return "\n".join(lines)


def shape_weight(setting: str) -> float:
    return float(setting.split()[1]) if setting.startswith("shape") else 0.0


def keeps_size(gyration: np.ndarray, floor: float = 0.95) -> bool:
    """Whether per-segment gyration ratios are at least ``floor`` beyond two standard errors."""
    return bool(gyration.mean() - 2 * gyration.std(ddof=1) / np.sqrt(len(gyration)) >= floor)


def shape_pick(candidates: list[tuple[float, str, np.ndarray]], floor: float = 0.95) -> str | None:
    """The setting of the smallest shape weight that keeps the size (``candidates``: weight,
    setting, per-segment validation gyration ratios); None where none does."""
    return next((s for _, s, g in sorted(candidates, key=lambda c: c[0]) if keeps_size(g, floor)), None)


def shape_table(dataset: str, models, floor: float = 0.95) -> tuple[str, dict[str, str]]:
    """The rerun and the shape-loss runs of each model, and its pick: the smallest weight (the
    rerun: none) whose validation gyration ratio is at least ``floor`` by more than two standard
    errors over the validation segments: the size kept beyond validation's own noise, at the
    least cost in accuracy. The test split plays no part in the pick. Returns the table and each
    model's pick."""
    got = results(dataset, models)
    family = get_dataset(dataset)
    val, segment = family.load("val"), family.segments("val")
    lines = [f"**{dataset}**: shape-loss weight picked on validation (gyration ratio ≥ {floor} beyond two "
             "standard errors over the validation segments; weight 0: the rerun, else the shipped model "
             "where it was trained without the term, scored on the validation split in the data folder)", "",
             "| model | shape weight | val F-MSE | val gyration ± SE | test F-MSE | test gyration | picked |",
             "|---|---|---|---|---|---|---|"]
    picks = {}
    for m in models:
        plain = "rerun" if (m, "rerun") in got else "shipped"
        if plain == "shipped" and (m, "shipped") in got and got[m, "shipped"]["train_config"].get("shape_loss"):
            plain = None  # the shipped model is a shipped pick, one of the shape runs: no weight-0 model left
        tried = sorted((shape_weight(s), s) for (mm, s) in got
                       if mm == m and (s == plain or s.startswith("shape")) and usable(got[mm, s]))
        scored = []
        for weight, s in tried:
            path = shipped_path(dataset, m) if s == "shipped" else run_dir(dataset, m, s) / f"{m}.pt"
            model = load_checkpoint(path, "cpu").model
            f, g = segment_scores(model, val, segment)
            scored.append((weight, s, g, f))
        picked = shape_pick([c[:3] for c in scored], floor)
        for weight, s, g, f in scored:
            test_m = got[m, s]["metrics"]["test"]
            mark, se = "**yes**" if picked == s else "", g.std(ddof=1) / np.sqrt(len(g))
            lines.append(f"| {m} | {weight:g} | {f.mean():.5f} | {g.mean():.3f} ± {se:.3f} | "
                         f"{test_m['f_mse']:.5f} | {test_m['gyration_ratio']:.3f} | {mark} |")
        if tried and picked is None:
            lines.append(f"| {m} | none of {', '.join(f'{w:g}' for w, _ in tried)} keeps the size | | | | | |")
        if picked:
            picks[m] = picked
    return "\n".join(lines), picks


def ship_shape_picks(dataset: str, picks: dict[str, str]) -> None:
    """Ship each model's shape-loss pick into assets/checkpoints (its finished run's command with
    --ship: scored and copied, not retrained); a pick without the term keeps the shipped model."""
    for m, s in picks.items():
        if s.startswith("shape"):
            card = json.loads((run_dir(dataset, m, s) / f"{m}.json").read_text())
            run_commands([[sys.executable, *shlex.split(card["command"])[1:], "--ship"]], 1, ROOT)


def table(dataset: str, models) -> str:
    got = results(dataset, models)
    card = get_dataset(dataset).generation_card()
    still, floor = card["splits"]["test"]["no_motion_f_mse"], card["floors"]["heavy_atom_f_mse"]
    settings = ["shipped", *(s for s in SETTINGS if any((m, s) in got for m in models))]
    lines = [f"**{dataset}**: validation / test F-MSE (Å²); no motion {still:.4f}, heavy-atom floor {floor:.4f}",
             "", "| model | " + " | ".join(settings) + " | picked by validation |",
             "|---|" + "---|" * (len(settings) + 1)]
    chosen = picks(got, models)
    for m in models:
        cells = []
        for s in settings:
            c = got.get((m, s))
            if c is None:
                cells.append("not run")
            elif not usable(c):
                cells.append("diverged")
            else:
                val, test = c["metrics"]["val"], c["metrics"]["test"]
                cells.append(f"{val['f_mse']:.4f} / {test['f_mse']:.4f} ({c['epochs_run']} ep, best "
                             f"{c['best_epoch']}; gyration {val['gyration_ratio']:.3f} / {test['gyration_ratio']:.3f})")
        lines.append(f"| {m} | " + " | ".join(cells) + f" | {chosen.get(m, '–')} |")
    shipped = {m: "rerun" if (m, "rerun") in got else "shipped" for m in models if (m, "shipped") in got}
    for label, pick in (("shipped schedule (its rerun where there is one)", shipped),
                        ("each model's pick", chosen)):
        test = {m: got[m, s]["metrics"]["test"]["f_mse"] for m, s in pick.items()}
        if test:
            best = min(test, key=test.get)
            egno = f"; EGNO / no motion {test['egno'] / still:.3f}" if "egno" in test else ""
            lines.append(f"\n{label}: lowest test F-MSE {best} {test[best]:.4f}{egno}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("datasets", nargs="+", help="md17/<molecule> with shipped models")
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--train", action="store_true", help="train the runs not finished yet")
    ap.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(DEFAULT),
                    help="the schedules to train (default: %(default)s)")
    ap.add_argument("--device", help="e.g. cuda (default: the CPU, one thread per run)")
    ap.add_argument("--jobs", type=int, default=1, help="runs at once")
    ap.add_argument("--shape", action="store_true",
                    help="also pick each model's shape-loss weight on validation (needs the rerun)")
    ap.add_argument("--ship-shape", action="store_true",
                    help="ship each model's shape-loss pick (--shape) into assets/checkpoints")
    ap.add_argument("--paired", action="store_true",
                    help="also compare the runs with the rerun per validation segment (needs the rerun)")
    a = ap.parse_args()
    if a.train:
        run_commands([cmd for d in a.datasets for cmd in commands(d, a.models, a.device, a.settings)], a.jobs, ROOT)
    for d in a.datasets:
        print(table(d, a.models) + "\n")
        if a.paired:
            print(paired_table(d, a.models, a.settings) + "\n")
        if a.shape or a.ship_shape:
            text, chosen = shape_table(d, a.models)
            print(text + "\n")
            if a.ship_shape:
                ship_shape_picks(d, chosen)


if __name__ == "__main__":
    main()
