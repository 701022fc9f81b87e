"""Reading and predicting a user's upload in a separate, capped process (the app's Upload page).

The server never parses user bytes: ``run_upload`` writes them into a fresh temporary folder
(prefix UPLOAD_PREFIX, owned and removed by the server), starts a worker process with an address
space cap (limits.WORKER_MEMORY_BYTES, RLIMIT_AS) and a CPU-time cap, kills it at
limits.WORKER_SECONDS, and reads back only plain data: JSON (numbers, strings, lists), an npz of
float arrays loaded with allow_pickle=False, and the export files as bytes. At most
limits.WORKER_SLOTS workers run at once. Every failure is one plain sentence naming the files.
"""
from __future__ import annotations

import importlib
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

from egno import limits
from egno.data import get_dataset
from egno.uploads.result import UploadResult
from egno.uploads.staging import stage_uploads

UPLOAD_PREFIX = "egno-upload-"
ROOT = Path(__file__).resolve().parents[1]
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
         "from egno.uploads.worker import work\n"
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
               options: dict | None = None, job: dict | None = None) -> UploadResult:
    """Read ``files`` ([(name, bytes)]) in a capped worker and, with ``mode`` 'predict', predict
    the window ``options`` (egno.uploads.frames.Options fields) asks for with every shipped model;
    'inspect' only reads, 'equivariance' (``job``: rotation, shift, permute) and 'rollout'
    (``job``: windows) run egno.uploads.checks on that window. Which fields of the result are
    filled: egno.uploads.result.UploadResult."""
    assert mode in MODES, f"mode is one of {MODES}, not {mode}"
    names = ", ".join(name for name, _ in files)
    start = time.time()
    if not _slots.acquire(timeout=limits.WORKER_WAIT_SECONDS):
        return UploadResult(False, f"{names}: the server is busy with other uploads; try again in a minute.",
                            seconds=time.time() - start)
    tmp = Path(tempfile.mkdtemp(prefix=UPLOAD_PREFIX))
    try:
        try:  # names and sizes only: the bytes are written once, and only the worker parses them
            arg, staged = stage_uploads(dataset, files, tmp)
        except ValueError as e:
            return UploadResult(False, str(e), seconds=time.time() - start)
        (tmp / "request.json").write_text(json.dumps(
            {"dataset": dataset, "model": model, "names": [n for n, _ in files], "arg": arg, "staged": staged,
             "timesteps": timesteps, "device": device, "memory_mb": memory // limits.MiB,
             "mode": mode, "options": options or {}, "job": job or {}}))
        result = _run_worker(tmp, names, memory, seconds,
                             "fewer windows or a smaller file" if mode == "rollout" else
                             "a smaller file (fewer atoms or frames)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        _slots.release()
    result.seconds = time.time() - start
    return result


def run_in_process(dataset: str, model: str, files: list[tuple[str, bytes]], folder: Path,
                   mode: str = "predict", options: dict | None = None, timesteps: int | None = None,
                   job: dict | None = None) -> UploadResult:
    """What ``run_upload`` returns, computed in this process (no caps, no isolation: for tests and
    scripts on trusted files), through the same staging, work and packing as the worker."""
    arg, staged = stage_uploads(dataset, files, folder)
    req = {"dataset": dataset, "model": model, "names": [n for n, _ in files], "arg": arg, "staged": staged,
           "timesteps": timesteps, "device": "cpu", "memory_mb": 0, "mode": mode, "options": options or {},
           "job": job or {}}
    result = json.loads(json.dumps(_predict(req, folder)))  # as the worker writes it: plain data
    if result["ok"] and "arrays" in result:
        _unpack(result, folder / "result.npz")
    return UploadResult.from_plain(result)


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
                smaller: str = "a smaller file (fewer atoms or frames)") -> UploadResult:
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
        return UploadResult(False, f"{names}: reading and predicting took longer than {seconds:g} s, the "
                            f"limit for one upload, so it was stopped. Try {smaller}.", peak_mb=peak_mb)
    result_file = tmp / "result.json"
    if not result_file.exists():
        code = proc.returncode
        out_of_memory = code in (-signal.SIGSEGV, -signal.SIGABRT, 1)
        why = (f"it ran out of its {memory // limits.MiB:,} MB of memory" if out_of_memory
               else "it used up its time" if code in (-signal.SIGXCPU, -signal.SIGKILL)
               else f"it stopped unexpectedly (exit status {code})")
        sys.stderr.write((tmp / "worker.log").read_text(errors="replace")[-2000:])
        return UploadResult(False, f"{names}: the upload worker was stopped: {why}. Try a smaller file.",
                            peak_mb=peak_mb)
    result = json.loads(result_file.read_text())
    result["peak_mb"] = peak_mb
    if result["ok"] and "arrays" in result:
        _unpack(result, tmp / "result.npz")
    if "bones" in result.get("meta", {}):
        result["meta"]["bones"] = np.asarray(result["meta"]["bones"], dtype=np.int64).reshape(2, -1)
    return UploadResult.from_plain(result)


def _unpack(result: dict, path: Path) -> None:
    """Put the arrays of result.npz (numbers only: allow_pickle=False) back where ``_pack`` took
    them from, by their dotted paths in ``result["arrays"]``; those in ``result["bytes"]`` (files,
    stored as uint8) as bytes."""
    as_bytes = set(result.pop("bytes", []))
    with np.load(path, allow_pickle=False) as f:
        for key, (*parents, leaf) in result.pop("arrays").items():
            node = result
            for part in parents:
                node = node[part]
            node[leaf] = f[key].tobytes() if key in as_bytes else f[key]


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
    """``result`` as JSON-able data, its numpy arrays and bytes (files) saved into result.npz by
    their path of keys (listed in ``arrays``, the bytes also in ``bytes``) for ``_unpack``: the
    one way a result comes back."""
    arrays, paths, raw = {}, {}, []

    def walk(value, path: list[str]):
        key = f"a{len(arrays)}"
        if isinstance(value, bytes):
            raw.append(key)
            value = np.frombuffer(value, dtype=np.uint8)
        if isinstance(value, np.ndarray):
            arrays[key], paths[key] = value, path
            return None
        if isinstance(value, dict):
            return {k: walk(v, [*path, k]) for k, v in value.items()}
        return _plain(value)

    plain = walk(result, [])
    np.savez(tmp / "result.npz", **arrays)
    return {**plain, "arrays": paths, "bytes": raw}


def _predict(req: dict, tmp: Path) -> dict:
    """The worker's job: read; inspect, or choose the model and then predict with every shipped
    model and export, or check equivariance or chain a rollout (egno.uploads.checks). Returns the
    result dict, its arrays and files in result.npz in ``tmp`` (``_pack``)."""
    import torch

    from egno.service.inference import prediction_warning
    from egno.uploads.checks import equivariance, rollout
    from egno.uploads.frames import Options, step_speeds, upload_window
    from egno.uploads.route import route_molecule
    from egno.uploads.staging import user_names as named

    torch.set_num_threads(1)
    names = req["names"]
    shown = ", ".join(names)
    dataset, model = req["dataset"], req["model"]
    family = get_dataset(dataset)
    user_names = lambda text: named(text, req["staged"], tmp)  # noqa: E731
    try:
        traj = family.read_trajectory(req["arg"])
        if req["mode"] == "inspect":
            speeds, fastest = step_speeds(traj, family)
            return {"ok": True, "frames": traj.frames, "dt": traj.dt,
                    "default_dt": family.frame_dt, "step_speeds": speeds, "fastest": fastest,
                    "prediction_of": traj.prediction, "has_velocities": traj.velocities is not None}
    except ValueError as e:
        raise ValueError(user_names(str(e))) from None

    def window_at(timesteps: int | None, count: int = 1):
        try:
            return upload_window(family, traj, Options(**req["options"]), timesteps, count)
        except ValueError as e:
            raise ValueError(user_names(str(e))) from None

    windows = window_at(req["timesteps"])
    meta, notes = windows.meta, []
    meta["source"] = shown
    meta["pair_note"] = family.pair_note(names)
    meta.update(family.sample_meta(windows, 0))
    if "symbols" in meta:  # a molecule goes to the model trained on it, where one is shipped
        dataset, model, note = route_molecule(dataset, model, windows, meta["symbols"], shown)
        notes.append(note)
    if req["mode"] in ("equivariance", "rollout"):
        done = (equivariance(dataset, model, windows, req["job"], req["device"]) if req["mode"] == "equivariance"
                else rollout(dataset, model, window_at, int(req["job"]["windows"]), req["device"]))
        return _pack({"ok": True, "dataset": dataset, "model": model, "meta": _plain(meta), "notes": notes,
                      "job": done}, tmp)
    out, errors = _every_model(dataset, model, windows, req["device"], shown)
    if model == "egno":  # its predicted uncertainty, with or without frames to score against
        from egno.run.checkpoint import variant_checkpoint
        from egno.service.inference import with_variance

        out = with_variance(out, variant_checkpoint(dataset, "uncertainty", model), windows, device=req["device"])
    exports = _exports(family, out, meta, f"{dataset}/{model}", Path(names[-1]).stem, shown)
    return _pack({"ok": True, "dataset": dataset, "model": model, "models": list(errors),
                  "meta": _plain(meta), "notes": notes, "warning": prediction_warning(out),
                  "timesteps": windows.timesteps, "out": out.plain(),
                  "errors": errors, "exports": exports}, tmp)


def _every_model(dataset: str, model: str, windows, device: str, shown: str) -> tuple[dict, dict]:
    """``model``'s prediction of the window and every shipped model's per-frame error."""
    from egno.run.checkpoint import resolve_checkpoint, shipped_models
    from egno.service.inference import predict_one

    out, errors = None, {}
    for name in shipped_models(dataset):
        try:
            one = predict_one(resolve_checkpoint(dataset, name, device), windows, 0, device=device)
        except ValueError:  # a model that cannot run at this P (egnn-s)
            continue
        if one.frame_mse is not None:
            errors[name] = one.frame_mse
        if name == model:
            out = one
    if out is None:
        raise ValueError(f"{shown}: {dataset}/{model} could not predict this window")
    if not np.isfinite(out.x).all():
        raise ValueError(f"{shown}: the input positions are not finite")
    return out, errors


def _exports(family, out: dict, meta: dict, predictor: str, stem: str, shown: str) -> dict[str, bytes]:
    """The prediction (and the file's own frames at those times) in the family's upload formats,
    by file name."""
    from egno.data.export import trajectory_files

    times = np.concatenate([[0.0], out.times])
    model = predictor.rsplit("/", 1)[1]
    kinds = [("prediction", out.pred, f"egno prediction by {predictor} from {shown}")]
    if not np.isfinite(out.pred).all():
        kinds = []  # no file full of NaN
    if out.truth is not None:
        kinds.append(("truth", out.truth, f"egno ground truth: the frames of {shown}"))
    files = {}
    for kind, frames, label in kinds:
        for ext, data in trajectory_files(family, np.concatenate([out.x[None], frames]), times, meta,
                                          label).items():
            files[f"{stem}_{model}_{kind}.{ext}" if kind == "prediction" else f"{stem}_{kind}.{ext}"] = data
    return files


def _preload(dataset: str) -> None:
    """Import every library the work may need, before the memory cap (about 1 GB of address
    space: torch, pandas, ASE, MDAnalysis, RDKit)."""
    import ase.io  # noqa: F401  (export_extxyz; it loads scipy)
    import pandas  # noqa: F401
    import torch  # noqa: F401

    from egno.run import checkpoint  # noqa: F401
    from egno.service import inference  # noqa: F401
    from egno.data import export  # noqa: F401
    from egno.uploads import checks, frames, route  # noqa: F401
    for name in get_dataset(dataset).reader_modules:
        importlib.import_module(name)


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
