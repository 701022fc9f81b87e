"""Print the README's motion, protein and molecule tables by running the documented evaluate commands.

    .venv/bin/python scripts/family_tables.py mocap/walk mocap/run protein/adk

Each row comes from `python -m egno evaluate --dataset D --model M --json` on the shipped
checkpoints; motion errors are also given in the paper's ×10⁻² presentation.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from egno import get_dataset
from egno.paths import CHECKPOINTS, ROOT
from egno.run.checkpoint import shipped_models

MODELS = ["linear", "egnn", "egnn-r", "egnn-s", "gnn", "egno"]
PAPER = {  # docs/design.md §3, F-MSE; measured on other data (the paper's trials / AdK equilibrium MD)
    "mocap/walk": {"egnn": "28.7", "egnn-r": "90.7", "egnn-s": "26.4", "egno": "8.1"},
    "mocap/run": {"egnn": "50.9", "egnn-r": "816.7", "egnn-s": "54.2", "egno": "33.9"},
    "protein/adk": {"linear": "2.890", "egnn": "2.735", "egno": "2.231"},
}
_MD17 = {  # ×10⁻² Å², docs/design.md §3 (DFT MD17)
    "egnn": "14.41 62.40 4.64 13.64 0.47 1.02 11.78 0.64",
    "egnn-s": "9.50 66.45 4.63 12.88 0.45 1.00 10.78 0.60",
    "egno": "9.18 48.85 4.62 12.80 0.37 0.86 10.21 0.52",
}
for i, mol in enumerate(["aspirin", "benzene", "ethanol", "malonaldehyde", "naphthalene",
                         "salicylic", "toluene", "uracil"]):
    PAPER[f"md17/{mol}"] = {m: v.split()[i] for m, v in _MD17.items()}


ALL = CHECKPOINTS / "md17" / "all" / "egno.pt"


def evaluate(dataset: str, model: str, checkpoint: Path | None = None, rotate: str | None = None) -> dict:
    cmd = [sys.executable, "-m", "egno", "evaluate", "--dataset", dataset, "--model", model,
           "--json", "--quiet"] + (["--checkpoint", str(checkpoint)] if checkpoint else []) + (
           ["--rotate", rotate] if rotate else [])
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def card(dataset: str, model: str) -> dict:
    return json.loads((CHECKPOINTS / dataset / f"{model}.json").read_text())


def no_motion(dataset: str) -> dict:
    """Reference row: every node stays where it is at the input (no model)."""
    from egno.run.evaluate import metrics
    from egno.service.inference import test_windows

    w = test_windows(get_dataset(dataset))
    return metrics(w.x.expand_as(w.target), w.target)


def fmt(x: float, scale: int) -> str:
    return f"{x * scale:.2f}" if scale == 100 else f"{x:.4f}"


def main(datasets: list[str]) -> None:
    summary = []
    for dataset in datasets:
        scale = 100 if dataset.startswith(("mocap", "md17")) else 1
        unit = "×10⁻², " if scale == 100 else ""
        print(f"\n**{dataset}**\n")
        motion = dataset.startswith("mocap")  # also: the test trials turned 90° about the vertical
        print(f"| model | F-MSE ({unit}ours) | A-MSE ({unit}ours) | "
              + ("F-MSE, test turned 90° about the vertical (`--rotate y:90`) | " if motion else "")
              + "F-MSE (paper, other data) | training (from the card) |")
        print("|---|---|---|---|---|" + ("---|" if motion else ""))
        shipped = [m for m in MODELS if m in shipped_models(dataset)]  # a model may have failed to train
        rows = {m: evaluate(dataset, m) for m in shipped}
        turned = {m: evaluate(dataset, m, rotate="y:90") for m in shipped} if motion else {}
        best_f = min(rows, key=lambda m: rows[m]["f_mse"])
        best_a = min(rows, key=lambda m: rows[m]["a_mse"])
        for m, r in rows.items():
            c = card(dataset, m)
            tc = c["train_config"]
            budget = "no training" if m == "linear" else (
                f"{c['epochs_run']} epochs, {c['wall_time_s'] / 60:.0f} min, best epoch {c['best_epoch']}, "
                f"hidden {c['model_config']['hidden']}, batch {tc['batch_size']}"
                f"{', EMA ' + str(tc['ema']) if tc.get('ema') else ''}; {c['stop_reason']}")
            f, a = fmt(r['f_mse'], scale), fmt(r['a_mse'], scale)
            f = f"**{f}**" if m == best_f else f
            a = f"**{a}**" if m == best_a else a
            extra = f"{fmt(turned[m]['f_mse'], scale)} | " if motion else ""
            shrink = f" (Rg ratio {r['gyration_ratio']:.3f})" if dataset.startswith("md17/") else ""
            print(f"| {m} | {f}{shrink} | {a} | {extra}{PAPER.get(dataset, {}).get(m, '–')} | {budget} |")
        joint = None
        if dataset.startswith("md17/") and ALL.exists():  # the one EGNO trained on all eight
            joint = evaluate(dataset, "egno", ALL)
            print(f"| egno, md17/all (one model, 8 molecules) | {fmt(joint['f_mse'], scale)} | "
                  f"{fmt(joint['a_mse'], scale)} | – | `--checkpoint {ALL.relative_to(ROOT)}` |")
        still = no_motion(dataset)
        print(f"| *no motion (reference, not a model)* | {fmt(still['f_mse'], scale)} | "
              f"{fmt(still['a_mse'], scale)} | " + (f"{fmt(still['f_mse'], scale)} | " if motion else "")
              + "– | predicts the input frame |")
        floor = get_dataset(dataset).floor()
        if floor is not None:
            print(f"| *heavy-atom floor (no model with this input can beat it)* | {fmt(floor, scale)} | – | – "
                  "| half the F-MSE between reruns with the hydrogens' velocities redrawn |")
        print(f"\n{rows['egno']['n_samples']} test windows, P = {rows['egno']['timesteps']}."
              + (" Rg ratio: predicted / true radius of gyration at the final frame." if floor is not None else ""))
        if dataset.startswith("md17/"):
            rival = min((m for m in rows if m != "egno"), key=lambda m: rows[m]["f_mse"])
            other_a = min(rows[m]["a_mse"] for m in rows if m != "egno")
            summary.append((dataset, rows["egno"], rival, rows[rival], joint, other_a))
    if len(summary) > 1:  # the molecules side by side: is EGNO the best on each?
        print("\n| molecule | EGNO F / A (×10⁻²) | best other model, F / A | md17/all EGNO F / A | "
              "EGNO lowest F-MSE | EGNO lowest A-MSE (of all models) |")
        print("|---|---|---|---|---|---|")
        for dataset, egno, rival, r, joint, other_a in summary:
            both = (f"{fmt(joint['f_mse'], 100)} / {fmt(joint['a_mse'], 100)}" if joint else "–")
            print(f"| {dataset} | {fmt(egno['f_mse'], 100)} / {fmt(egno['a_mse'], 100)} | {rival} "
                  f"{fmt(r['f_mse'], 100)} / {fmt(r['a_mse'], 100)} | {both} | "
                  f"{'yes' if egno['f_mse'] < r['f_mse'] else 'no'} | "
                  f"{'yes' if egno['a_mse'] < other_a else 'no'} |")


if __name__ == "__main__":
    main(sys.argv[1:] or ["mocap/walk", "mocap/run", "protein/adk", "md17/ethanol"])
