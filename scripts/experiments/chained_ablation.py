"""The chained-training ablation (docs/results/long_horizon.md): EGNO and EGNN-R fine-tuned from
their shipped checkpoints for the same epochs with each option set — plain (the control), input
noise, pushforward, pushforward + noise + velocity loss — then chained on the long-horizon test
data; prints the table. Resumable: finished runs are kept, a stopped one resumes.

    python scripts/experiments/chained_ablation.py --dataset nbody            # 8 runs, then the table
    python scripts/experiments/chained_ablation.py --dataset mocap/walk --epochs 6 --noise 0.02
    python scripts/experiments/chained_ablation.py --dataset nbody --table-only
    python scripts/experiments/chained_ablation.py --dataset nbody --variants all --chain 8 --noise 0.03 \
        --out runs/chained/nbody-k8-n0.03        # one option set, K and σ changed
    python scripts/experiments/chained_ablation.py --dataset nbody --variants plain all --start-windows 20 \
        --out runs/chained/nbody-late20          # inputs from the true states of 20 windows too
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from egno.run.checkpoint import shipped_card, shipped_path

ROOT = Path(__file__).resolve().parents[2]
MODELS = ("egno", "egnn-r")
VARIANTS = ("plain", "noise", "pushforward", "all")
WINDOWS = (1, 2, 5, 10, 20)


def options(variant: str, noise: float, chain: int) -> list[str]:
    return {"plain": [], "noise": ["--input-noise", str(noise)],
            "pushforward": ["--chain-windows", str(chain)],
            "all": ["--chain-windows", str(chain), "--input-noise", str(noise), "--velocity-loss", "1"]}[variant]


def late_starts(a) -> list[str]:
    return ["--start-windows", str(a.start_windows)] if a.start_windows > 1 else []


def shipped_train_config(dataset: str, model: str) -> dict:
    return shipped_card(dataset, model, required=True)["train_config"]


def train_all(a, out: Path) -> None:
    # both models see the same training windows (the most input frames either was trained with),
    # each keeps its own weight averaging
    starts = max(shipped_train_config(a.dataset, m).get("train_starts", 1) for m in MODELS)
    for model in a.models:
        tc = shipped_train_config(a.dataset, model)
        schedule = ["--train-starts", str(starts)] + (["--ema", str(tc["ema"])] if tc.get("ema") else [])
        for variant in a.variants:
            run = out / f"{model}-{variant}"
            if (run / f"{model}.pt").exists():
                continue
            cmd = [sys.executable, "-m", "egno", "train", "--dataset", a.dataset, "--model", model,
                   "--threads", "1", "--quiet", "--epochs", str(a.epochs), "--warmup-epochs", "1",
                   "--eval-every", "1", "--lr", str(a.lr), "--patience", "100", *schedule,
                   *options(variant, a.noise, a.chain), *late_starts(a), "--init",
                   f"assets/checkpoints/{a.dataset}/{model}.pt", "--out", str(run.relative_to(ROOT))]
            print(" ".join(cmd[1:]), flush=True)
            subprocess.run(cmd, cwd=ROOT, check=True)


def roll_out(a, out: Path) -> dict:
    path = out / "rollout.json"
    if not path.exists():
        named = [f"{m}-{v}={out / f'{m}-{v}' / f'{m}.pt'}" for m in a.models for v in a.variants]
        shipped = [f"{m}={shipped_path(a.dataset, m)}" for m in a.models]  # Explore's
        cmd = [sys.executable, "-m", "egno", "rollout", "--dataset", a.dataset,
               "--checkpoint", *shipped, *named, "--windows", str(max(WINDOWS)), "--threads", "1", "--json"]
        if a.samples:
            cmd += ["--samples", str(a.samples)]
        result = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True)
        path.write_text(result.stdout.strip().splitlines()[-1])
    return json.loads(path.read_text())


def _fmt(v) -> str:
    return "–" if v is None else f"{v:.3g}"


def table(a, out: Path, rollout: dict) -> str:
    drift = {"nbody": "energy_drift", "mocap": "bone_drift"}.get(a.dataset.split("/")[0])
    head = ["model", "options", "test F-MSE (1 window)"]
    for k in WINDOWS:
        head += [f"mean F-MSE @{k}", f"median @{k}"]
    head += ["diverged @10 / @20", "not finite @10 / @20"] + ([f"{drift.replace('_', ' ')} @10"] if drift else [])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for model in a.models:
        for variant in ("shipped", *a.variants):
            name = model if variant == "shipped" else f"{model}-{variant}"
            card = (shipped_card(a.dataset, model, required=True) if variant == "shipped"
                    else json.loads((out / name / f"{model}.json").read_text()))
            test = card["metrics"]["test"]["f_mse"]
            r = rollout["models"][name]
            row = [model, variant, f"{test:.4g}"]
            for k in WINDOWS:
                row += [_fmt(r["f_mse"][k - 1]), _fmt(r["f_mse_median"][k - 1])]
            last = len(r["diverged"]) - 1
            row += [f"{r['diverged'][min(9, last)]:.0%} / {r['diverged'][last]:.0%}",
                    f"{r['not_finite'][min(9, last)]} / {r['not_finite'][last]}"]
            if drift:
                row.append(_fmt(r["checks"][drift][9]))
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="nbody")
    p.add_argument("--out", type=Path, help="default runs/chained/<dataset>")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--noise", type=float, default=0.01, help="input noise σ (the data's length unit)")
    p.add_argument("--chain", type=int, default=4, help="pushforward windows K")
    p.add_argument("--start-windows", type=int, default=1, metavar="W",
                   help="nbody: also train from the true states at windows 2..W")
    p.add_argument("--samples", type=int, help="long-horizon test samples (default all)")
    p.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    p.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    p.add_argument("--table-only", action="store_true")
    a = p.parse_args()
    out = (a.out or ROOT / "runs" / "chained" / a.dataset).resolve()
    if not a.table_only:
        train_all(a, out)
    print(table(a, out, roll_out(a, out)))


if __name__ == "__main__":
    main()
