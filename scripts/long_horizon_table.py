"""Tables for docs/results/long_horizon.md: runs `python -m egno rollout ... --json` per dataset and
model (and per velocity rule for egno) and prints markdown with the error at 1, 2, 5, 10, 20 windows.

    python scripts/long_horizon_table.py --dataset nbody --samples 100
    python scripts/long_horizon_table.py --dataset mocap/walk --samples 100 --velocities
    python scripts/long_horizon_table.py --bench          # 10 windows, one sample, per family
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

from egno.run.checkpoint import shipped_path

AT = (1, 2, 5, 10, 20)


def rollout(dataset: str, model: str, windows: int, extra: list[str]) -> dict:
    # Explore's checkpoint by name: --model would chain the one trained to be chained where shipped
    cmd = [sys.executable, "-m", "egno", "rollout", "--dataset", dataset,
           "--checkpoint", f"{model}={shipped_path(dataset, model)}",
           "--windows", str(windows), "--threads", "1", "--json", *extra]
    print("$", " ".join(cmd[1:]), file=sys.stderr)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def cell(values: list, k: int, fmt: str = "{:.3g}") -> str:
    if k > len(values):
        return ""
    v = values[k - 1]
    return "–" if v is None else fmt.format(v)


def table(dataset: str, samples: int, velocities: bool) -> None:
    runs = [("egno", []), ("egnn-r", []), ("linear", [])]
    if velocities:
        runs += [("egno", ["--velocity", "fd2"]), ("egno", ["--velocity", "fine"])]
    head = " | ".join(f"{k}" for k in AT)
    print(f"\n{dataset}, {samples} samples requested\n")
    print(f"| model | median F-MSE at windows {head} | not finite at 10 / 20 | scored at 10 / 20 "
          "| diverged at 10 / 20 | seconds |")
    print("|---|" + "---|" * (len(AT) + 4))
    checks = {}
    for model, extra in runs:
        r = rollout(dataset, model, 20, ["--samples", str(samples), *extra])
        m = r["models"][model]
        name = model + (f" ({extra[1]})" if extra else f" ({r['velocity']})" if model == "egno" else "")
        meds = " | ".join(cell(m["f_mse_median"], k) for k in AT)
        print(f"| {name} | {meds} | {cell(m['not_finite'], 10, '{}')} / {cell(m['not_finite'], 20, '{}')} "
              f"| {cell(m['n_with_truth'], 10, '{}')} / {cell(m['n_with_truth'], 20, '{}')} "
              f"| {cell(m['diverged'], 10, '{:.0%}')} / {cell(m['diverged'], 20, '{:.0%}')} | {m['seconds']} |")
        if not extra:
            checks[name] = m["checks"]
            mean = " | ".join(cell(m["f_mse"], k) for k in AT)
            print(f"| {name}: mean over finite | {mean} | | | | |")
    print("\nPhysical checks (mean over samples at the window's end)\n")
    names = sorted({c for v in checks.values() for c in v})
    print("| model | check | " + " | ".join(f"window {k}" for k in AT) + " |")
    print("|---|---|" + "---|" * len(AT))
    for model, c in checks.items():
        for n in names:
            print(f"| {model} | {n} | " + " | ".join(cell(c[n], k) for k in AT) + " |")


def bench(repeats: int) -> None:
    print("| dataset | model | 10 windows, one sample: median s (of runs) |")
    print("|---|---|---|")
    for dataset in ("nbody", "md17/aspirin", "mocap/walk"):
        for model in ("egno", "egnn-r", "linear"):
            times = [rollout(dataset, model, 10, ["--sample", "0"])["models"][model]["seconds"]
                     for _ in range(repeats)]
            print(f"| {dataset} | {model} | {statistics.median(times):.3f} ({repeats}) |")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="nbody")
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--velocities", action="store_true", help="also egno with fd2 and fine velocities")
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    bench(a.repeats) if a.bench else table(a.dataset, a.samples, a.velocities)
