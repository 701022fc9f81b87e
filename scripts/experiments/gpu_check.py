"""The GPU path of every shipped checkpoint: the same test windows predicted on the CPU and on CUDA,
their agreement, each model's metrics on both devices, a rotation + translation check run on CUDA,
and CUDA latency. Run on a machine with a GPU (the CPU-only machine runs it with --device cpu as a
dry run of the script itself):

    python scripts/experiments/gpu_check.py [--device cuda] [--max-windows 200] [--repeats 10] [--json PATH]

Prints one table (pandas) and, with --json, writes every row. Families whose test split is not on
the machine are served from the committed samples (assets/samples), as the app does.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd
import torch

from egno import get_dataset, load_checkpoint
from egno.run.bench import median_time
from egno.run.checkpoint import shipped_models, shipped_path
from egno.data import dataset_names
from egno.run.evaluate import metrics, predict
from egno.service.inference import equivariance_check, random_rotation, test_windows


def shipped_datasets() -> list[str]:
    """The datasets with shipped checkpoints, as the app lists them."""
    return [d for d in dataset_names() if shipped_models(d)]


def latency_ms(model, w, device, repeats: int) -> float:
    """Median wall time of one forward pass over all of ``w`` (one batch) on ``device``, timed
    as ``python -m egno bench`` times (warm-up passes, CUDA synchronised)."""
    return 1000 * median_time(lambda: predict(model, w, batch_size=len(w), device=device), repeats, device)


def check(dataset: str, device: torch.device, max_windows: int, repeats: int) -> list[dict]:
    family = get_dataset(dataset)
    w = test_windows(family)
    w = w.select(list(range(min(len(w), max_windows))))
    rows = []
    for name in shipped_models(dataset):
        path = shipped_path(dataset, name)
        cpu, dev = load_checkpoint(path, "cpu"), load_checkpoint(path, device)
        with torch.inference_mode():
            p_cpu = predict(cpu.model, w, device="cpu")
            p_dev = predict(dev.model, w, device=device)
        m_cpu, m_dev = metrics(p_cpu, w.target), metrics(p_dev, w.target)
        motion = float((p_cpu - w.x[None]).double().norm(dim=-1).mean())
        eq = equivariance_check(dev, w, 0, random_rotation(7), shift=(1.5, -2.0, 0.5), device=device)
        rows.append({
            "dataset": dataset, "model": name, "windows": len(w), "device": str(device),
            "f_mse_cpu": m_cpu["f_mse"], "f_mse_dev": m_dev["f_mse"],
            "a_mse_cpu": m_cpu["a_mse"], "a_mse_dev": m_dev["a_mse"],
            "max_abs_diff": float((p_cpu - p_dev).abs().max()), "motion_scale": motion,
            "equiv_max_dev": eq.max_dev,
            "one_ms": latency_ms(dev.model, w.select([0]), device, repeats),
            "all_ms": latency_ms(dev.model, w, device, repeats),
        })
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--max-windows", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=10, help="timed passes per latency")
    ap.add_argument("--datasets", nargs="*", help="default: every shipped dataset")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    device = torch.device(a.device)
    if device.type == "cuda":
        print(f"torch {torch.__version__}, {torch.cuda.get_device_name(device)}")
    rows, failures = [], {}
    for dataset in a.datasets or shipped_datasets():
        try:
            new = check(dataset, device, a.max_windows, a.repeats)
            rows += new
            print(f"{dataset}: " + ", ".join(f"{r['model']} diff {r['max_abs_diff']:.1e} equiv {r['equiv_max_dev']:.1e}"
                                             for r in new), flush=True)
        except Exception as e:  # one family's failure must not hide the others' results
            failures[dataset] = f"{type(e).__name__}: {e}"
            print(f"{dataset}: FAILED {failures[dataset]}", flush=True)
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_rows", 200):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    if rows:
        rel = (table.max_abs_diff / table.motion_scale.where(table.motion_scale > 0, 1)).max()
        print(f"largest CPU-vs-{device} difference relative to the mean predicted motion: {rel:.2e}")
    if a.json:
        a.json.write_text(json.dumps({"rows": rows, "failures": failures}, indent=1))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
