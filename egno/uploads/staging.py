"""A user's files on disk, checked by name and size before any reader sees them, and read through
their family's reader (the worker's first step; never in the server's process for parsing)."""
from __future__ import annotations

from pathlib import Path

from egno.data import get_dataset
from egno.data.base import Windows


def stage_uploads(dataset: str, files: list[tuple[str, bytes]], tmp_dir: Path) -> tuple[str, dict[str, str]]:
    """Check uploaded files by name and size (one file, or a pair such as skeleton + motion or
    topology + trajectory) and write them into ``tmp_dir``, once: the reader's argument ('path'
    or 'first,second') and the user's name of each written file (for ``user_names``)."""
    family = get_dataset(dataset)
    if not files:
        raise ValueError("no file given")
    if len(files) > 2:
        raise ValueError(f"give one file or a pair of files, not {len(files)}")
    paths, shown = [], {}
    for name, data in files:
        suffix = Path(name).suffix.lower()
        if suffix.lstrip(".") not in family.file_formats:
            raise ValueError(f"{name}: {dataset} reads {', '.join(family.file_formats)} files, "
                             f"not '{suffix or 'no extension'}'")
        if not data:
            raise ValueError(f"{name} is empty")
    family.check_upload([name for name, _ in files])
    for i, (name, data) in enumerate(files):
        suffix = Path(name).suffix.lower()
        path = Path(tmp_dir) / f"upload{i}{suffix}"
        path.write_bytes(data)
        paths.append(path)
        shown[path.name] = name
    # a pair goes in the order of the family's formats (skeleton before motion, topology before
    # trajectory): "first,second"
    paths.sort(key=lambda q: family.file_formats.index(q.suffix.lower().lstrip(".")))

    return ",".join(str(q) for q in paths), shown


def user_names(text: str, shown: dict[str, str], tmp_dir: Path) -> str:
    """``text`` with the staged files' paths and names replaced by the user's file names."""
    for tmp_name, name in shown.items():
        text = text.replace(str(Path(tmp_dir) / tmp_name), name).replace(tmp_name, name)
    return text


def read_uploads(dataset: str, files: list[tuple[str, bytes]], tmp_dir: Path,
                 timesteps: int | None = None) -> Windows:
    """Read uploaded files (one file, or a pair) through the family's reader from their first
    window; ValueError with the user's file names."""
    arg, shown = stage_uploads(dataset, files, tmp_dir)
    family = get_dataset(dataset)
    try:
        w = family.read_file(arg if "," in arg else Path(arg), timesteps, max_windows=1)
    except ValueError as e:
        raise ValueError(user_names(str(e), shown, tmp_dir)) from None
    if isinstance(w.meta.get("source"), str):
        w.meta["source"] = user_names(w.meta["source"], shown, tmp_dir)
    return w
