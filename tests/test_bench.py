"""The benchmark helpers measure real work (timings themselves belong to `python -m egno bench`)."""
from __future__ import annotations

from egno import get_dataset
from egno.run.bench import latency, training_throughput
import torch


def test_latency_and_throughput_helpers_report_positive_numbers(tiny_nbody, monkeypatch):
    import egno.run.bench as bench

    monkeypatch.setattr(bench, "LATENCY_GRID", [(1, 5), (20, 8)])
    windows = get_dataset("nbody", tiny_nbody).load("train")
    rows = latency("nbody", windows, repeats=1, dev=torch.device("cpu"))
    assert [(r["batch"], r["timesteps"]) for r in rows] == [(1, 5), (20, 8)]
    assert all(r["egno_ms"] > 0 and r["egnn-r_ms"] > 0 for r in rows)
    assert training_throughput("nbody", windows, "egno", 1, torch.device("cpu"), batch_size=10) > 0


def test_paired_times_alternate_the_contenders():
    """Latency pairs are timed in turns, so a slow spell of the machine hits both models."""
    from egno.run.bench import paired_times

    calls = []
    times = paired_times({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
                         repeats=4, dev=torch.device("cpu"))
    assert calls == ["a", "b"] * 7  # three warm-up turns, then four timed ones
    assert [len(v) for v in times.values()] == [4, 4] and all(t >= 0 for t in times["a"] + times["b"])


def test_shipped_inference_benchmark_times_each_p_and_measures_memory():
    import pytest

    from egno.run.bench import shipped_inference
    from egno.run.checkpoint import shipped_models

    if "egno" not in shipped_models("mocap/walk"):
        pytest.skip("no shipped mocap checkpoints")
    r = shipped_inference("mocap/walk", [5, 30], repeats=1, dev=torch.device("cpu"))
    assert r["nodes"] == 31 and [row["timesteps"] for row in r["latency"]] == [5, 30]
    assert all(row["egno_ms"] > 0 for row in r["latency"])
    assert r["memory"]["peak_rss_mb"] >= r["memory"]["rss_before_mb"] > 50


def test_gpu_check_script_compares_devices_and_catches_the_non_equivariant_model():
    """scripts/experiments/gpu_check.py run with the CPU on both sides: identical predictions, the card's
    models equivariant on the device, gnn not."""
    from helpers import load_script

    check = load_script("scripts/experiments/gpu_check.py").check

    rows = {r["model"]: r for r in check("mocap/walk", torch.device("cpu"), max_windows=2, repeats=1)}
    assert set(rows) == {"linear", "egnn", "egnn-r", "egnn-s", "gnn", "egno"}
    for name, r in rows.items():
        assert r["windows"] == 2 and r["max_abs_diff"] == 0 and r["f_mse_cpu"] == r["f_mse_dev"]
        assert r["one_ms"] > 0 and r["all_ms"] > 0
        if name == "gnn":
            assert r["equiv_max_dev"] > 1.0  # a lab-frame model moves with the rotation
        else:
            assert r["equiv_max_dev"] < 1e-3 * r["motion_scale"]
