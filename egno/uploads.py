"""Reading and predicting a user's upload in a separate, capped process (the app's Upload page).

The server never parses user bytes: ``run_upload`` writes them into a fresh temporary folder
(prefix UPLOAD_PREFIX, owned and removed by the server), starts a worker process with an address
space cap (limits.WORKER_MEMORY_BYTES, RLIMIT_AS) and a CPU-time cap, kills it at
limits.WORKER_SECONDS, and reads back only plain data: JSON (numbers, strings, lists), an npz of
float arrays loaded with allow_pickle=False, and the export files as bytes. At most
limits.WORKER_SLOTS workers run at once. Every failure is one plain sentence naming the files.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

import numpy as np

from . import limits

UPLOAD_PREFIX = "egno-upload-"
ROOT = Path(__file__).resolve().parents[1]
ARRAYS = ("x", "v", "pred", "t", "truth", "frame_mse", "still_mse", "node_error")
MODES = ("inspect", "predict", "equivariance", "rollout")
# the worker: lower priority, CPU-time and core caps, its stack in the log before a kill; work()
# sets the memory cap once our libraries are loaded (scipy's and others' C extensions can spin
# forever when a library cannot be mapped under the cap, and they read no user bytes)
_BOOT = ("import faulthandler, os, resource, sys\n"
         "os.nice(5)\n"
         "s = int(sys.argv[3])\n"
         "resource.setrlimit(resource.RLIMIT_CPU, (s, s + 1))\n"
         "resource.setrlimit(resource.RLIMIT_CORE, (0, 0))\n"
         "faulthandler.dump_traceback_later(max(s - 1.5, 0.5))\n"
         "from egno.uploads import work\n"
         "work(sys.argv[1], int(sys.argv[2]))\n")
_slots = threading.BoundedSemaphore(limits.WORKER_SLOTS)


def sweep_stale(max_age_s: float = 600.0) -> int:
    """Remove upload folders older than ``max_age_s`` left in the temporary directory (by a server
    that was killed mid-upload); return how many. A live upload is at most
    WORKER_WAIT_SECONDS + WORKER_SECONDS old."""
    removed, now = 0, time.time()
    for folder in Path(tempfile.gettempdir()).glob(UPLOAD_PREFIX + "*"):
        try:
            if folder.is_dir() and now - folder.stat().st_mtime > max_age_s:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        except OSError:
            pass
    return removed


def run_upload(dataset: str, model: str, files: list[tuple[str, bytes]], timesteps: int | None = None,
               device: str = "cpu", memory: int = limits.WORKER_MEMORY_BYTES,
               seconds: float = limits.WORKER_SECONDS, mode: str = "predict",
               options: dict | None = None, job: dict | None = None) -> dict:
    """Read ``files`` ([(name, bytes)]) in a capped worker and, with ``mode`` 'predict', predict
    the window ``options`` (egno.uploads_frames.Options fields) asks for with every shipped model.
    Returns a dict with ``ok``; 'inspect' gives ``frames``, ``dt`` (the file's, or None),
    ``default_dt``, ``step_speeds``, ``prediction_of``; 'predict' gives ``out`` (predict_one's
    arrays of ``model``), ``errors`` (per-frame MSE of every model), ``meta``, ``dataset`` and
    ``model`` (those predicted with), ``notes``, ``warning``, ``timesteps``, ``exports``
    ({file name: bytes}); 'equivariance' (``job``: rotation, shift, permute) and 'rollout'
    (``job``: windows) give egno.uploads_checks' results on that window with ``meta``,
    ``dataset``, ``model`` and ``notes``; else ``message``. Always: ``seconds`` and ``peak_mb``
    (the worker's)."""
    assert mode in MODES, f"mode is one of {MODES}, not {mode}"
    names = ", ".join(name for name, _ in files)
    start = time.time()
    if not _slots.acquire(timeout=limits.WORKER_WAIT_SECONDS):
        return {"ok": False, "seconds": time.time() - start, "peak_mb": 0.0,
                "message": f"{names}: the server is busy with other uploads; try again in a minute."}
    tmp = Path(tempfile.mkdtemp(prefix=UPLOAD_PREFIX))
    try:
        for i, (_, data) in enumerate(files):
            (tmp / f"file{i}").write_bytes(data)
        (tmp / "request.json").write_text(json.dumps(
            {"dataset": dataset, "model": model, "names": [n for n, _ in files],
             "timesteps": timesteps, "device": device, "memory_mb": memory // limits.MiB,
             "mode": mode, "options": options or {}, "job": job or {}}))
        result = _run_worker(tmp, names, memory, seconds,
                             "fewer windows or a smaller file" if mode == "rollout" else
                             "a smaller file (fewer atoms or frames)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        _slots.release()
    result["seconds"] = time.time() - start
    return result


def _peak_rss_kb(pid: int) -> int:
    """A running process's peak resident memory (VmHWM, kB; 0 once it is gone). ru_maxrss of a
    child is no use here: Linux starts it at the parent's (the server's) peak at fork."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _run_worker(tmp: Path, names: str, memory: int, seconds: float,
                smaller: str = "a smaller file (fewer atoms or frames)") -> dict:
    # one thread per library: a thread pool that cannot map its stacks under the cap can hang
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1"}
    with open(tmp / "worker.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-c", _BOOT, str(tmp), str(int(memory)),
                                 str(int(seconds) + 1)], cwd=tmp, env=env, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline, status, killed, peak_kb = time.monotonic() + seconds, None, False, 0
    while status is None:
        peak_kb = max(peak_kb, _peak_rss_kb(proc.pid))
        pid, st = os.waitpid(proc.pid, os.WNOHANG)
        if pid:
            status = st
        elif time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            killed = True
            _, status = os.waitpid(proc.pid, 0)
            sys.stderr.write((tmp / "worker.log").read_text(errors="replace")[-3000:])
        else:
            time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    peak_mb = peak_kb / 1024
    if killed:
        return {"ok": False, "peak_mb": peak_mb, "message": (
            f"{names}: reading and predicting took longer than {seconds:g} s, the limit for one "
            f"upload, so it was stopped. Try {smaller}.")}
    result_file = tmp / "result.json"
    if not result_file.exists():
        code = proc.returncode
        out_of_memory = code in (-signal.SIGSEGV, -signal.SIGABRT, 1)
        why = (f"it ran out of its {memory // limits.MiB:,} MB of memory" if out_of_memory
               else "it used up its time" if code in (-signal.SIGXCPU, -signal.SIGKILL)
               else f"it stopped unexpectedly (exit status {code})")
        sys.stderr.write((tmp / "worker.log").read_text(errors="replace")[-2000:])
        return {"ok": False, "peak_mb": peak_mb,
                "message": f"{names}: the upload worker was stopped: {why}. Try a smaller file."}
    result = json.loads(result_file.read_text())
    result["peak_mb"] = peak_mb
    if result["ok"] and "arrays" in result:
        _unpack(result, tmp / "result.npz")
    if "bones" in result.get("meta", {}):
        result["meta"]["bones"] = np.asarray(result["meta"]["bones"], dtype=np.int64).reshape(2, -1)
    if result["ok"] and "exports" in result:
        with np.load(tmp / "result.npz", allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
        result["out"] = {k: arrays.get(k) for k in ARRAYS}
        result["out"]["window"] = float(arrays["window"])
        result["errors"] = {m: arrays[f"error_{m}"] for m in result["models"] if f"error_{m}" in arrays}
        result["exports"] = {name: (tmp / "exports" / name).read_bytes() for name in result["exports"]}
    return result


def _unpack(result: dict, path: Path) -> None:
    """Put the arrays of result.npz (numbers only: allow_pickle=False) back where ``_pack`` took
    them from, by their dotted paths in ``result["arrays"]``."""
    with np.load(path, allow_pickle=False) as f:
        for key in result.pop("arrays"):
            *parents, leaf = key.split(".")
            node = result
            for part in parents:
                node = node[part]
            node[leaf] = f[key]


# ---------------------------------------------------------------- inside the worker
def _plain(value):
    """JSON-able copy of a meta value (numpy arrays and scalars to lists and numbers)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _pack(result: dict, tmp: Path) -> dict:
    """``result`` as JSON-able data, its numpy arrays saved into result.npz by their dotted path
    (listed in ``arrays``) for ``_unpack``."""
    arrays = {}

    def walk(value, path: str):
        if isinstance(value, np.ndarray):
            arrays[path] = value
            return None
        if isinstance(value, dict):
            return {k: walk(v, f"{path}.{k}" if path else k) for k, v in value.items()}
        return _plain(value)

    plain = walk(result, "")
    np.savez(tmp / "result.npz", **arrays)
    return {**plain, "arrays": list(arrays)}


def _predict(req: dict, tmp: Path) -> dict:
    """The worker's job: read; inspect, or choose the model and then predict with every shipped
    model and export, or check equivariance or chain a rollout (egno.uploads_checks). Returns the
    result dict and writes result.npz (and exports/) into ``tmp``."""
    import torch

    from .checkpoint import resolve_checkpoint, shipped_models
    from .data import get_dataset
    from .explore import predict_one, prediction_warning, stage_uploads
    from .uploads_checks import equivariance, rollout
    from .uploads_export import round_trip_files
    from .uploads_frames import DEFAULT_DT, Options, read_trajectory, step_speeds, upload_window
    from .uploads_route import route_molecule

    torch.set_num_threads(1)
    names = req["names"]
    shown = ", ".join(names)
    files = [(name, (tmp / f"file{i}").read_bytes()) for i, name in enumerate(names)]
    work = tmp / "work"
    work.mkdir()
    dataset, model = req["dataset"], req["model"]
    family = get_dataset(dataset)
    arg, user_names = stage_uploads(dataset, files, work)
    try:
        traj = read_trajectory(dataset, arg)
        if req["mode"] == "inspect":
            return {"ok": True, "frames": traj.frames, "dt": traj.dt,
                    "default_dt": DEFAULT_DT[family.view], "step_speeds": step_speeds(traj),
                    "prediction_of": traj.prediction, "has_velocities": traj.velocities is not None}
    except ValueError as e:
        raise ValueError(user_names(str(e))) from None

    def window_at(timesteps: int | None, count: int = 1):
        try:
            return upload_window(req["dataset"], traj, Options(**req["options"]), timesteps, count)
        except ValueError as e:
            raise ValueError(user_names(str(e))) from None

    windows = window_at(req["timesteps"])
    meta, notes = windows.meta, []
    meta["source"] = shown
    if family.view == "molecule":
        meta["symbols"] = family.symbols(windows, 0)
        dataset, model, note = route_molecule(dataset, model, windows, meta["symbols"], shown)
        notes.append(note)
    if req["mode"] in ("equivariance", "rollout"):
        done = (equivariance(dataset, model, windows, req["job"], req["device"]) if req["mode"] == "equivariance"
                else rollout(dataset, model, window_at, int(req["job"]["windows"]), req["device"]))
        return _pack({"ok": True, "dataset": dataset, "model": model, "meta": _plain(meta), "notes": notes,
                      **done}, tmp)
    models = shipped_models(dataset)
    out, errors = None, {}
    for name in models:
        try:
            one = predict_one(resolve_checkpoint(dataset, name, req["device"]), windows, 0,
                              device=req["device"])
        except ValueError:  # a model that cannot run at this P (egnn-s)
            continue
        if one["frame_mse"] is not None:
            errors[name] = one["frame_mse"]
        if name == model:
            out = one
    if out is None:
        raise ValueError(f"{shown}: {dataset}/{model} could not predict this window")
    if not np.isfinite(out["x"]).all():
        raise ValueError(f"{shown}: the input positions are not finite")
    np.savez(tmp / "result.npz", window=np.float64(out["window"]),
             **{k: out[k] for k in ARRAYS if out[k] is not None},
             **{f"error_{m}": e for m, e in errors.items()})
    times = np.concatenate([[0.0], out["t"] * out["window"]])
    stem = Path(names[-1]).stem
    exports = {}
    kinds = [("prediction", out["pred"], f"egno prediction by {dataset}/{model} from {shown}")]
    if out["truth"] is not None:
        kinds.append(("truth", out["truth"], f"egno ground truth: the frames of {shown}"))
    (tmp / "exports").mkdir()
    for kind, frames, label in kinds:
        for ext, data in round_trip_files(family.view, np.concatenate([out["x"][None], frames]),
                                          times, meta, label).items():
            name = f"{stem}_{model}_{kind}.{ext}" if kind == "prediction" else f"{stem}_{kind}.{ext}"
            (tmp / "exports" / name).write_bytes(data)
            exports[name] = kind
    return {"ok": True, "dataset": dataset, "model": model, "models": list(errors),
            "meta": _plain(meta), "notes": notes, "warning": prediction_warning(out),
            "timesteps": windows.timesteps, "exports": list(exports)}


def _preload(dataset: str) -> None:
    """Import every library the work may need, before the memory cap (about 1 GB of address
    space: torch, pandas, ASE, MDAnalysis, RDKit)."""
    import ase.io  # noqa: F401  (export_extxyz; it loads scipy)
    import pandas  # noqa: F401
    import torch  # noqa: F401

    from . import checkpoint, explore, uploads_checks, uploads_export, uploads_frames, uploads_route  # noqa: F401
    if dataset.startswith("protein"):
        import MDAnalysis  # noqa: F401
    if dataset.startswith("md17"):
        from rdkit import Chem  # noqa: F401


def work(tmp: str, memory: int) -> None:
    """Worker entry point (run by _BOOT): loads the libraries, caps its address space at
    ``memory`` bytes, reads and predicts; result.json in ``tmp`` always."""
    import resource

    tmp = Path(tmp)
    req = json.loads((tmp / "request.json").read_text())
    shown = ", ".join(req["names"])
    _preload(req["dataset"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    try:
        result = _predict(req, tmp)
    except ValueError as e:
        result = {"ok": False, "message": str(e)}
    except MemoryError:
        result = {"ok": False, "message": f"{shown}: reading it needs more memory than the "
                  f"{req['memory_mb']:,} MB an upload may use."}
    except Exception as e:  # a parser's or the model's own failure: one plain sentence, log the rest
        traceback.print_exc()
        memory = "alloc" in str(e).lower() or "memory" in str(e).lower()
        result = {"ok": False, "message": (
            f"{shown}: reading it needs more memory than the {req['memory_mb']:,} MB an upload "
            "may use." if memory else
            f"{shown}: could not be read or predicted ({type(e).__name__}).")}
    (tmp / "result.json.part").write_text(json.dumps(result))
    (tmp / "result.json.part").rename(tmp / "result.json")
