"""The benchmark helpers measure real work (timings themselves belong to `python -m egno bench`)."""
from __future__ import annotations

from egno import get_dataset
from egno.bench import latency, training_throughput
import torch


def test_latency_and_throughput_helpers_report_positive_numbers(tiny_nbody, monkeypatch):
    import egno.bench as bench

    monkeypatch.setattr(bench, "LATENCY_GRID", [(1, 5), (20, 8)])
    windows = get_dataset("nbody", tiny_nbody).load("train")
    rows = latency("nbody", windows, repeats=1, dev=torch.device("cpu"))
    assert [(r["batch"], r["timesteps"]) for r in rows] == [(1, 5), (20, 8)]
    assert all(r["egno_ms"] > 0 and r["egnn-r_ms"] > 0 for r in rows)
    assert training_throughput("nbody", windows, "egno", 1, torch.device("cpu"), batch_size=10) > 0


def test_shipped_inference_benchmark_times_each_p_and_measures_memory():
    import pytest

    from egno.bench import shipped_inference
    from egno.checkpoint import shipped_models

    if "egno" not in shipped_models("mocap/walk"):
        pytest.skip("no shipped mocap checkpoints")
    r = shipped_inference("mocap/walk", [5, 30], repeats=1, dev=torch.device("cpu"))
    assert r["nodes"] == 31 and [row["timesteps"] for row in r["latency"]] == [5, 30]
    assert all(row["egno_ms"] > 0 for row in r["latency"])
    assert r["memory"]["peak_rss_mb"] >= r["memory"]["rss_before_mb"] > 50
