"""The Upload page's kept files and worker results (in st.session_state, so they survive page
switches), and its example files. The bytes are only held and passed to the worker
(egno.uploads.worker.run_upload); the server never parses them."""
from __future__ import annotations

import hashlib
from pathlib import Path

import streamlit as st

from egno.service.examples import example_path
from egno.uploads.worker import run_upload

PAIR_KINDS = ({"asf", "amc"}, {"pdb", "dcd"}, {"psf", "dcd"}, {"gro", "xtc"}, {"pdb", "xtc"},
              {"gro", "trr"}, {"pdb", "trr"}, {"psf", "xtc"})


def kept_files() -> list[tuple[str, bytes]]:
    return st.session_state.get("upload_kept", [])


def keep_files(files: list[tuple[str, bytes]]) -> None:
    """Keep an upload for every page, hashed once here (``files_digest``)."""
    st.session_state.upload_kept = list(files)
    st.session_state.upload_digest = digest(*[n for n, _ in files], *[b for _, b in files])


def files_digest(files: list[tuple[str, bytes]]) -> str:
    """The kept upload's hash when these are its files (the same objects), else theirs."""
    kept = kept_files()
    if len(kept) == len(files) and all(a is b for (_, a), (_, b) in zip(kept, files)):
        return st.session_state.upload_digest
    return digest(*[n for n, _ in files], *[b for _, b in files])


def take_new_drop(new: list[tuple[str, bytes]]) -> None:
    """A new drop replaces the kept upload, unless it is the other half of a kept single file's
    pair (a topology dropped after its trajectory, a motion after its skeleton)."""
    old = kept_files()
    kinds = lambda files: {Path(n).suffix.lower().lstrip(".") for n, _ in files}  # noqa: E731
    if len(old) == 1 and len(new) == 1 and kinds(old) | kinds(new) in PAIR_KINDS:
        keep_files(old + new)
    else:
        keep_files(new)


def remembered(key: str, default) -> dict:
    """The ``value`` argument of an upload widget, or none when its value was kept: Streamlit drops
    a widget's state when its page is left, so the user's choices are restored from the tab's state."""
    choices = st.session_state.setdefault("upload_choices", {})
    if key not in st.session_state and key in choices:
        st.session_state[key] = choices[key]
    return {} if key in st.session_state else {"value": default}


def remember(key: str, value):
    st.session_state.setdefault("upload_choices", {})[key] = value
    return value


def load_example(names: list[str]) -> None:
    keep_files([(n, example_path(n).read_bytes()) for n in names])


def digest(*parts) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else repr(part).encode())
        h.update(b"\0")
    return h.hexdigest()


def worker(dataset: str, model: str, files: list[tuple[str, bytes]], mode: str, options: dict | None,
           device: str, spinner: str, job: dict | None = None, timesteps: int | None = None) -> dict:
    """run_upload once per (dataset, model, files, mode, options, job, P) in this browser tab; the
    last few results are kept. A prediction's options are remembered for the other pages
    (``used_options``); ``timesteps`` None: the model's trained P."""
    files_id = files_digest(files)
    if mode == "predict":
        st.session_state.setdefault("upload_options", {})[files_id] = dict(options or {})
    extra = ((sorted(job.items()),) if job else ()) + ((timesteps,) if timesteps else ())
    key = digest(dataset, model, mode, sorted((options or {}).items()), *extra, files_id)
    cache = st.session_state.setdefault("upload_results", {})
    if key not in cache:
        with st.spinner(spinner):
            cache[key] = run_upload(dataset, model, files, timesteps, device=device, mode=mode,
                                    options=options, job=job)
        while len(cache) > 6:
            cache.pop(next(iter(cache)))
    return cache[key]


def used_options(files: list[tuple[str, bytes]]) -> dict | None:
    """The options (start frame, time step, starting velocities) the Upload page last predicted
    these files with, or None when it has not."""
    return st.session_state.get("upload_options", {}).get(files_digest(files))


def fits(family, files: list[tuple[str, bytes]]) -> bool:
    """Whether ``family`` reads files with these extensions (whether it can read their contents,
    only the worker finds out)."""
    return all(Path(name).suffix.lower().lstrip(".") in family.file_formats for name, _ in files)


SOURCES = ("test sample", "your upload")


def upload_source(family, dataset: str, what: str, key: str) -> list[tuple[str, bytes]] | None:
    """The sidebar's choice (widget ``key``) of input between the test data and the upload kept
    from the Upload page, one choice for the pages that offer it, kept across page switches: the
    files when the upload is chosen, else None. Without a kept upload that fits, one caption says why."""
    files = kept_files()
    names = ", ".join(n for n, _ in files)
    if not files:
        st.caption(f"An upload from the Upload page can be {what} here.")
        return None
    if not fits(family, files):
        st.caption(f"The kept upload ({names}) is not a file {dataset} reads; an upload for this "
                   f"dataset from the Upload page can be {what} here.")
        return None
    if key not in st.session_state:  # a page's widget state is dropped when it is left: one key per page
        st.session_state[key] = st.session_state.get("upload_choices", {}).get("upload_source", SOURCES[0])
    choice = remember("upload_source", st.sidebar.radio(
        "input", SOURCES, key=key, horizontal=True,
        help=f"a test sample, or your upload ({names}) as the Upload page predicted it"))
    return files if choice == SOURCES[1] else None


def choices_note(meta: dict, options: dict | None, time_unit: str) -> str:
    """Which of the Upload page's choices made the upload's window, in one sentence."""
    where = "the Upload page's choices" if options is not None else "the Upload page's defaults"
    return (f"{meta['source']}: input frame {meta['start']}, {meta['dt']:g} {time_unit} between frames "
            f"({meta['dt_from']}), velocities: {meta['velocities']} ({where}; change them there).")
