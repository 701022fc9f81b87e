"""Benchmarks (``python -m egno bench``): one-pass EGNO vs EGNN-R rollout latency, training
throughput and peak memory, as medians over repeats. Busy processes slow torch's thread pool
many times over, so run it with nothing else running.
"""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

import torch

from egno.nn.config import preset
from egno.data import collate, get_dataset, uniform_times
from egno.run.train import make_optimizer, pick_device, train_step
from egno.nn.zoo import build_model

LATENCY_GRID = [(b, p) for b in (1, 100) for p in (5, 8, 50)]


def _sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def median_time(fn, repeats: int, dev) -> float:
    """Median seconds of `repeats` calls of fn after three warm-up calls (CUDA synchronised)."""
    return statistics.median(paired_times({"fn": fn}, repeats, dev)["fn"])


def paired_times(fns: dict, repeats: int, dev) -> dict[str, list[float]]:
    """Seconds per call of each function, timed in turns (a, b, a, b, ...) after three warm-up
    rounds, so that a slow spell of the machine falls on all of them alike: {name: times}.
    CUDA is synchronised around every call."""
    for _ in range(3):
        for fn in fns.values():
            fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            _sync(dev)
            start = time.perf_counter()
            fn()
            _sync(dev)
            times[name].append(time.perf_counter() - start)
    return times


def _batch(windows, size, dev):
    return collate(windows, torch.arange(size)).to(dev)


def latency(dataset: str, windows, repeats: int, dev) -> list[dict]:
    """Forward latency (ms, medians) of EGNO (one pass for all P frames) and EGNN-R (P rolled-out
    steps), timed in turns; the speed-up is the median of the per-turn ratios."""
    rows = []
    models = {m: build_model(preset(dataset, m)[0]).to(dev).eval() for m in ("egno", "egnn-r")}
    for size, p in LATENCY_GRID:
        batch = _batch(windows, size, dev)
        t = torch.tensor(uniform_times(p), dtype=torch.float32, device=dev)
        with torch.inference_mode():
            times = paired_times({name: (lambda m=m: m(batch, t)) for name, m in models.items()},
                                 repeats, dev)
        row = {"batch": size, "timesteps": p}
        row.update({f"{name}_ms": 1000 * statistics.median(ts) for name, ts in times.items()})
        row["speedup"] = statistics.median(r / e for e, r in zip(times["egno"], times["egnn-r"]))
        rows.append(row)
    return rows


def training_throughput(dataset: str, windows, model_name: str, repeats: int, dev,
                        batch_size: int = 100) -> float:
    """Samples per second of training's own step (``train.train_step``: forward, MSE over P
    frames, backward, gradient clipping, fused Adam) on random batches of the family's preset."""
    model_cfg, train_cfg = preset(dataset, model_name)
    model = build_model(model_cfg).to(dev).train()
    opt = make_optimizer(model.parameters(), train_cfg)
    g = torch.Generator().manual_seed(0)

    def step():
        batch = collate(windows, torch.randperm(len(windows), generator=g)[:batch_size]).to(dev)
        train_step(model, opt, batch, train_cfg.grad_clip)

    return batch_size / median_time(step, repeats, dev)


def _rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory_probe(dataset: str, what: str, threads: int | None) -> dict:
    """Run one workload in a fresh interpreter and report its resident memory (MB)."""
    code = (
        "import sys, json, torch; from egno.run import bench; "
        f"print(json.dumps(bench._memory_child({dataset!r}, {what!r}, {threads!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _memory_child(dataset: str, what: str, threads: int | None) -> dict:
    """RSS before and peak during one workload on 100 freshly simulated N-body systems."""
    from egno.data.nbody import INPUT_FRAME, build_windows, simulate

    if threads:
        torch.set_num_threads(threads)
    d = simulate(100, seed=0)
    w = build_windows(d["loc"][:, INPUT_FRAME], d["vel"][:, INPUT_FRAME], d["charges"],
                      d["loc"][:, INPUT_FRAME + 2:INPUT_FRAME + 11:2], uniform_times(5))
    model = build_model(preset(dataset, "egno")[0])
    batch = collate(w)
    def work():
        if what == "train":
            ((model(batch) - batch.target) ** 2).mean().backward()
        else:
            with torch.inference_mode():
                model(batch, torch.tensor(uniform_times(50), dtype=torch.float32))

    before, peak = _peak_rss(work)
    return {"workload": what, "rss_before_mb": round(before, 1), "peak_rss_mb": round(peak, 1),
            "increase_mb": round(peak - before, 1)}


def _peak_rss(work) -> tuple[float, float]:
    """RSS before ``work()`` and its peak while it runs, sampled every millisecond by a thread
    (CPU tensors have no allocator statistics)."""
    import threading

    before, peak, running = _rss_mb(), [0.0], [True]

    def sample():
        while running[0]:
            peak[0] = max(peak[0], _rss_mb())
            time.sleep(0.001)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        work()
    finally:
        running[0] = False
        sampler.join()
    return before, peak[0]


def shipped_inference(dataset: str, timesteps: list[int], repeats: int, dev) -> dict:
    """Latency (ms, median) of the shipped EGNO checkpoint predicting one test sample at each P,
    and the peak resident memory of a fresh process doing it at the largest P."""
    from egno.run.checkpoint import resolve_checkpoint
    from egno.data.base import test_windows

    loaded = resolve_checkpoint(dataset, "egno", dev)
    one = collate(test_windows(get_dataset(dataset)), torch.arange(1)).to(dev)
    rows = []
    for p in timesteps:
        t = torch.tensor(uniform_times(p), dtype=torch.float32, device=dev)
        with torch.inference_mode():
            ms = 1000 * median_time(lambda: loaded.model(one, t), repeats, dev)
        rows.append({"timesteps": p, "egno_ms": ms})
    code = ("import json, torch; from egno.run import bench; "
            f"print(json.dumps(bench._shipped_memory_child({dataset!r}, {max(timesteps)}, "
            f"{torch.get_num_threads()})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {"dataset": dataset, "nodes": int(one.x.shape[0]), "edges": int(one.edge_index.shape[1]),
            "latency": rows, "memory": json.loads(out.stdout.strip().splitlines()[-1])}


def _shipped_memory_child(dataset: str, timesteps: int, threads: int) -> dict:
    from egno.run.checkpoint import resolve_checkpoint
    from egno.data.base import test_windows

    torch.set_num_threads(threads)
    loaded = resolve_checkpoint(dataset, "egno", "cpu")
    one = collate(test_windows(get_dataset(dataset)), torch.arange(1))
    def work():
        with torch.inference_mode():
            loaded.model(one, torch.tensor(uniform_times(timesteps), dtype=torch.float32))

    before, peak = _peak_rss(work)
    return {"timesteps": timesteps, "rss_before_mb": round(before, 1), "peak_rss_mb": round(peak, 1)}


def run_bench(a) -> dict:
    if a.threads:
        torch.set_num_threads(a.threads)
    dev = pick_device(a.device)
    if a.shipped:
        r = shipped_inference(a.dataset, a.shipped, a.repeats, dev)
        print(f"{a.dataset}: shipped EGNO, one sample ({r['nodes']} nodes, {r['edges']} edges), "
              f"{dev}, torch threads {torch.get_num_threads()}")
        for row in r["latency"]:
            print(f"  P = {row['timesteps']:>3}: {row['egno_ms']:.0f} ms")
        m = r["memory"]
        print(f"  peak RSS of a fresh process at P = {m['timesteps']}: {m['peak_rss_mb']} MB "
              f"({m['rss_before_mb']} MB before the forward pass)")
        if a.json:
            print(json.dumps(r))
        return r
    family = get_dataset(a.dataset)
    family.ensure()
    windows = family.load("train")
    result = {
        "dataset": a.dataset, "device": str(dev), "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "latency": latency(a.dataset, windows, a.repeats, dev),
        "train_samples_per_s": {m: training_throughput(a.dataset, windows, m, a.repeats, dev)
                                for m in ("egno", "egnn", "egnn-r")},
        "memory": [memory_probe(a.dataset, w, a.threads) for w in ("train", "infer")],
    }
    _print(result)
    if a.json:
        print(json.dumps(result))
    return result


def _print(r: dict) -> None:
    print(f"device {r['device']}, torch threads {r['torch_threads']}")
    print("batch  P   EGNO ms  EGNN-R ms  EGNO speed-up")
    for row in r["latency"]:
        print(f"{row['batch']:>5} {row['timesteps']:>3} {row['egno_ms']:>9.2f} {row['egnn-r_ms']:>10.2f}"
              f" {row['speedup']:>8.2f}x")
    for m, v in r["train_samples_per_s"].items():
        print(f"training {m}: {v:.0f} samples/s (batch 100, P = 5)")
    labels = {"train": "training step, P = 5", "infer": "inference, P = 50"}
    for m in r["memory"]:
        print(f"EGNO batch 100, {labels[m['workload']]}: peak RSS {m['peak_rss_mb']} MB "
              f"(+{m['increase_mb']} MB over the {m['rss_before_mb']} MB before it)")
