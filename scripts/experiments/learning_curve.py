"""How much data do the md17 models need? Trains EGNO, `egnn` and `egnn-s` on 250, 500, 2000 and
5000 training windows of one molecule and prints their test F-MSE beside the no-motion error and
the heavy-atom floor (nothing shipped; the shipped protocol models keep their 500 windows).

    .venv/bin/python scripts/experiments/learning_curve.py md17/ethanol --data      # simulate the pool
    python scripts/experiments/learning_curve.py md17/ethanol --train --device cuda --jobs 12
    .venv/bin/python scripts/experiments/learning_curve.py md17/ethanol --plot docs/results/learning_curve_ethanol.png

The pool (data/md17-more/<molecule>) is a training split of 100 segments with 50 windows each,
seeded like the protocol's, so its first 10 segments are the protocol's training split; n windows
are the first n, i.e. n / 50 whole segments, and larger sets come from more segments. Validation
and test are the protocol's own splits (copied), so every point is scored on the same windows.
Every run takes the shipped card's command (model, learning rate, EMA) with ``--max-train n`` and
the protocol's schedule (the shipped card's epochs, warm-up, validation interval and patience over
500 windows) counted in Adam steps (``schedule``): the same steps at every size (3,000 for the
rotation-free protocol's 150 epochs of batch 25), so a larger set is seen fewer times, and the
curve compares data at equal compute.
Runs are resumable like every training run.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np

from egno.run.checkpoint import rerun_command, run_commands, shipped_card
from egno.paths import ROOT

SIZES = (250, 500, 2000, 5000)
BUDGETS = (2, 4)  # longer runs: multiples of the protocol's steps
POOL_SEGMENTS = 100
MODELS = ("egno", "egnn", "egnn-s")
PROTOCOL_WINDOWS = 500


def pool_dir(dataset: str) -> Path:
    return ROOT / "data" / "md17-more" / dataset.split("/", 1)[1]


def run_dir(dataset: str, model: str, n: int, budget: int = 1) -> Path:
    return ROOT / "runs" / "learning_curve" / dataset / f"{model}-{n}{f'-x{budget}' if budget != 1 else ''}"


def protocol(dataset: str, model: str = "egno") -> dict:
    """The shipped card's schedule of (dataset, model): epochs, warm-up, validation interval,
    patience and batch over the protocol's 500 windows."""
    tc = shipped_card(dataset, model, required=True)["train_config"]
    return {k: tc[k] for k in ("epochs", "warmup_epochs", "eval_every", "patience", "batch_size")}


def steps(schedule_of: dict, budget: int = 1) -> int:
    """Adam steps of the protocol's schedule (times ``budget``)."""
    return schedule_of["epochs"] * -(-PROTOCOL_WINDOWS // schedule_of["batch_size"]) * budget


def schedule(n: int, schedule_of: dict, budget: int = 1) -> dict[str, str]:
    """The protocol's schedule ``schedule_of`` (``protocol``) counted in Adam steps, for ``n``
    training windows: the same steps at every size, or ``budget`` times as many (warm-up,
    validation and patience keep their number of steps)."""
    f = PROTOCOL_WINDOWS / n
    return {"--epochs": str(round(schedule_of["epochs"] * f * budget)),
            "--warmup-epochs": str(max(1, round(schedule_of["warmup_epochs"] * f))),
            "--eval-every": str(max(1, round(schedule_of["eval_every"] * f))),
            "--patience": str(max(1, round(schedule_of["patience"] * f)))}


def make_pool(protocol: Path, out: Path, name: str, workers: int = 1, engine: str = "xtb",
              size: int = max(SIZES), segments: int = POOL_SEGMENTS) -> Path:
    """Simulate the training pool into ``out`` (``size`` windows from ``segments`` segments), then
    copy the protocol's validation and test splits (and their card entries and floors) beside it."""
    os.environ["OMP_NUM_THREADS"] = "1"  # one core per segment process, as `egno data md17`
    from egno.data.md17_sim import generate_molecule

    card = json.loads((protocol / "card.json").read_text())
    if card.get("production") != "nve" or not {"val", "test"} <= set(card.get("splits", {})):
        sys.exit(f"{protocol} has no deterministic validation and test splits: generate md17/{name} first")
    generate_molecule(out, name, engine, sizes={"train": size}, splits=("train",), segments=segments,
                      workers=workers, progress=True)
    pool = json.loads((out / "card.json").read_text())
    for split in ("val", "test"):
        shutil.copyfile(protocol / f"{split}.npz", out / f"{split}.npz")
        pool["splits"][split] = card["splits"][split]
    pool["floors"] = card.get("floors")
    pool["note"] = f"training pool for the learning curve; val and test copied from {protocol.name}"
    (out / "card.json").write_text(json.dumps(pool, indent=2))
    return out


def commands(dataset: str, device: str | None, minutes: float | None = None, models=MODELS, sizes=SIZES,
             budget: int = 1) -> list[list[str]]:
    todo = []
    for m in models:
        card = shipped_card(dataset, m, required=True)
        for n in sizes:
            out = run_dir(dataset, m, n, budget).relative_to(ROOT)
            flags = {**schedule(n, card["train_config"], budget), "--max-train": str(n),
                     "--data-dir": str(pool_dir(dataset).relative_to(ROOT))}
            flags |= {"--time-limit": str(minutes)} if minutes else {}
            todo.append(rerun_command(card, card["train_config"]["seed"], out, device, flags))
    return todo


def rows(dataset: str, budget: int = 1) -> list[dict]:
    """One row per finished run: model, windows, epochs, test and validation F-MSE."""
    out = []
    for m in MODELS:
        for n in SIZES:
            path = run_dir(dataset, m, n, budget) / f"{m}.json"
            if path.exists():
                c = json.loads(path.read_text())
                out.append({"model": m, "windows": n, "budget": budget, "epochs": c["epochs_run"],
                            "best_epoch": c["best_epoch"], "stop_reason": c["stop_reason"], "device": c["device"],
                            "test_f_mse": c["metrics"]["test"]["f_mse"], "val_f_mse": c["metrics"]["val"]["f_mse"],
                            "wall_time_s": c["wall_time_s"]})
    return out


def segment_scores(dataset: str, budget: int = 1) -> dict[tuple[str, int], np.ndarray]:
    """Test F-MSE of every finished run per test segment: windows within a segment are strongly
    correlated, so the segments (10) are the independent samples the test split holds."""
    from egno.run.checkpoint import load_checkpoint
    from egno.data import get_dataset
    from egno.run.evaluate import segment_f_mse

    family = get_dataset(dataset, pool_dir(dataset))
    test = family.load("test")
    segment = family.segments("test")
    out = {}
    for r in rows(dataset, budget):
        model = load_checkpoint(run_dir(dataset, r["model"], r["windows"], budget) / f"{r['model']}.pt").model
        out[r["model"], r["windows"]] = segment_f_mse(model, test, segment)
    return out


def spread(dataset: str) -> str:
    """Mean ± standard error over test segments, and EGNO against each other model segment by
    segment (paired: the same windows)."""
    scores = segment_scores(dataset)
    lines = ["| model | " + " | ".join(f"{n} windows" for n in SIZES) + " |", "|---|" + "---|" * len(SIZES)]
    for m in MODELS:
        cells = []
        for n in SIZES:
            v = scores.get((m, n))
            cells.append(f"{v.mean():.4g} ± {v.std(ddof=1) / np.sqrt(len(v)):.2g}" if v is not None else "")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    for m in MODELS[1:]:
        cells = []
        for n in SIZES:
            if ("egno", n) in scores and (m, n) in scores:
                d = scores["egno", n] - scores[m, n]
                cells.append(f"{d.mean():+.3g} ± {d.std(ddof=1) / np.sqrt(len(d)):.2g} "
                             f"(lower on {(d < 0).sum()} of {len(d)})")
            else:
                cells.append("")
        lines.append(f"| egno − {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def table(dataset: str) -> str:
    card = json.loads((pool_dir(dataset) / "card.json").read_text())
    floor, still = card["floors"]["heavy_atom_f_mse"], card["splits"]["test"]["no_motion_f_mse"]
    got = {(r["model"], r["windows"]): r for r in rows(dataset)}
    head = "| model | " + " | ".join(f"{n} windows" for n in SIZES) + " |"
    lines = [f"**{dataset}**: test F-MSE (Å²); no motion {still:.4g}, heavy-atom floor {floor:.4g}\n",
             head, "|---|" + "---|" * len(SIZES)]
    for m in MODELS:
        cells = [f"{got[m, n]['test_f_mse']:.4g}" if (m, n) in got else "not run" for n in SIZES]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    best = {n: min((got[m, n]["test_f_mse"], m) for m in MODELS if (m, n) in got) for n in SIZES
            if any((m, n) in got for m in MODELS)}
    lines.append("| lowest − floor | " + " | ".join(
        f"{best[n][0] - floor:.4g} ({best[n][1]})" if n in best else "" for n in SIZES) + " |")
    lines.append("| epochs | " + " | ".join(schedule(n, protocol(dataset))["--epochs"] for n in SIZES) + " |")
    longer = [r for b in BUDGETS for r in rows(dataset, b)]
    if longer:
        lines += ["", "Longer runs:", "",
                  "| model | windows | Adam steps | test F-MSE | val F-MSE | epochs (best) | stop |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {r['model']} | {r['windows']} | {steps(protocol(dataset), r['budget']):,} | "
                  f"{r['test_f_mse']:.4g} | "
                  f"{r['val_f_mse']:.4g} | {r['epochs']} ({r['best_epoch']}) | {r['stop_reason']} |" for r in longer]
    return "\n".join(lines)


def plot(dataset: str, path: Path) -> None:
    """Test F-MSE against training windows (log scale), one line per model, with the no-motion
    error and the heavy-atom floor as horizontal lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    card = json.loads((pool_dir(dataset) / "card.json").read_text())
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for k, m in enumerate(MODELS):
        got = sorted((r["windows"], r["test_f_mse"]) for r in rows(dataset) if r["model"] == m)
        if got:
            ax.plot(*zip(*got), marker="o", color=f"C{k}", label=m)
        for b in BUDGETS:
            more = [(r["windows"], r["test_f_mse"]) for r in rows(dataset, b) if r["model"] == m]
            if more:
                ax.plot(*zip(*more), ls="none", marker="s", mfc="none", color=f"C{k}", label=f"{m}, {b}× steps")
    ran = sorted({r["windows"] for r in rows(dataset)})
    ax.axhline(card["splits"]["test"]["no_motion_f_mse"], color="grey", ls="--", label="no motion")
    ax.axhline(card["floors"]["heavy_atom_f_mse"], color="black", ls=":", label="heavy-atom floor")
    ax.set(xscale="log", xlabel=f"training windows ({steps(protocol(dataset)):,} Adam steps each)",
           ylabel="test F-MSE (Å²)",
           title=f"{dataset}: learning curve", xticks=ran, xticklabels=[str(n) for n in ran])
    ax.minorticks_off()
    ax.legend(fontsize=8, loc="center right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset", help="md17/<molecule>")
    ap.add_argument("--data", action="store_true", help="simulate the training pool (GFN2-xTB)")
    ap.add_argument("--workers", type=int, default=2, help="segments simulated at once")
    ap.add_argument("--train", action="store_true", help="train every model at every size")
    ap.add_argument("--device", help="e.g. cuda (default: the CPU, one thread per run)")
    ap.add_argument("--jobs", type=int, default=1, help="runs at once")
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), choices=SIZES)
    ap.add_argument("--budget", type=int, default=1, choices=(1, *BUDGETS),
                    help="Adam steps as a multiple of the protocol's")
    ap.add_argument("--time-limit", type=float, help="minutes per run (default: the card's)")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON here")
    ap.add_argument("--plot", type=Path, help="also draw the curve into this PNG")
    ap.add_argument("--spread", action="store_true",
                    help="also score every run per test segment (mean ± standard error, EGNO paired)")
    a = ap.parse_args()
    if not a.dataset.startswith("md17/") or a.dataset == "md17/all":
        sys.exit("the learning curve is per molecule: md17/<molecule>")
    if a.data:
        name = a.dataset.split("/", 1)[1]
        size = max(a.sizes)  # the pool holds the largest size asked for, 50 windows per segment
        pool = make_pool(ROOT / "data" / a.dataset, pool_dir(a.dataset), name, a.workers, size=size,
                         segments=POOL_SEGMENTS * size // max(SIZES))
        print(f"pool in {pool}")
    if a.train:
        run_commands(commands(a.dataset, a.device, a.time_limit, a.models, a.sizes, a.budget), a.jobs, ROOT)
    if a.json:
        a.json.write_text(json.dumps(rows(a.dataset), indent=2))
    print(table(a.dataset))
    if a.plot:
        plot(a.dataset, a.plot)
    if a.spread:
        print("\nPer test segment (mean ± standard error over segments; Å²):\n")
        print(spread(a.dataset))


if __name__ == "__main__":
    main()
