"""Cheap looks at a user's file before a heavy parser reads it: the sizes its headers declare.

ASE walks an XYZ file by the atom count each frame declares, and MDAnalysis allocates the atoms a
PSF, GRO, DCD or XTC header declares, so a 40-byte file can ask for 10^14 atoms. These functions
read only headers and line counts and raise ValueError (naming the file) when a declared size is
over its limit (egno.limits) or more than the file can hold.
"""
from __future__ import annotations

import struct
from pathlib import Path


def _count(word: bytes, name: str, what: str) -> int:
    try:
        return int(word)
    except ValueError:
        raise ValueError(f"{name}: {what} is not a whole number") from None


def scan_xyz(path: Path, max_atoms: int, max_frames: int) -> list[int]:
    """Line numbers (0-based) at which the frames of an XYZ file start, after checking that each
    frame's atom count is a whole number from 1 to ``max_atoms``, that the file holds the lines it
    declares and that there are at most ``max_frames`` frames."""
    path = Path(path)
    lines = path.read_bytes().splitlines()
    starts, i = [], 0
    while i < len(lines):
        words = lines[i].split()
        if not words:  # blank lines between or after frames
            i += 1
            continue
        try:
            n = int(words[0])
        except ValueError:
            raise ValueError(f"{path.name}: not a readable XYZ file (line {i + 1} should be a "
                             "frame's atom count)") from None
        if not 1 <= n <= max_atoms:
            raise ValueError(f"{path.name}, line {i + 1}: a frame of {n} atoms; at most {max_atoms} are read")
        if i + 2 + n > len(lines):
            raise ValueError(f"{path.name}: not a readable XYZ file (line {i + 1}: the frame "
                             f"declares {n} atoms but only {max(len(lines) - i - 2, 0)} lines follow)")
        starts.append(i)
        if len(starts) > max_frames:
            raise ValueError(f"{path.name}: more than {max_frames} frames")
        i += n + 2
    if not starts:
        raise ValueError(f"{path.name}: not a readable XYZ file (no frames)")
    return starts


def declared_atoms(path: Path) -> int | None:
    """The atom count a PSF (``!NATOM``), GRO (second line), DCD or XTC header declares, checked
    against what the file can hold; None for formats without one (PDB, TRR)."""
    path = Path(path)
    kind = path.suffix.lower()
    if kind == ".psf":
        return _psf_atoms(path)
    if kind == ".gro":
        lines = path.read_bytes().splitlines()
        if len(lines) < 3:
            raise ValueError(f"{path.name}: a GRO file has a title, an atom count, atoms and a box line")
        n = _count(lines[1].split()[0] if lines[1].split() else b"", path.name, "line 2 (the atom count)")
        if n > len(lines) - 3:
            raise ValueError(f"{path.name}: declares {n} atoms but has {max(len(lines) - 3, 0)} atom lines")
        return n
    if kind == ".dcd":
        return _dcd_atoms(path)
    if kind == ".xtc":
        with open(path, "rb") as f:
            head = f.read(8)
        if len(head) == 8 and struct.unpack(">i", head[:4])[0] == 1995:
            return struct.unpack(">i", head[4:])[0]
    return None


def _psf_atoms(path: Path) -> int | None:
    lines = path.read_bytes().splitlines()
    for i, line in enumerate(lines):
        if b"!NATOM" in line:
            n = _count(line.split()[0], path.name, f"line {i + 1} (!NATOM)")
            if n > len(lines) - i - 1:
                raise ValueError(f"{path.name}, line {i + 1}: declares {n} atoms but only "
                                 f"{len(lines) - i - 1} lines follow")
            return n
    return None


def _dcd_atoms(path: Path) -> int | None:
    """The DCD header's atom count (CHARMM/NAMD layout, either byte order), checked against the
    bytes one frame of that many atoms needs; None when the layout is not the usual one."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(100)
        for order in "<>":
            if len(head) >= 100 and struct.unpack(order + "i", head[:4])[0] == 84 and head[4:8] == b"CORD":
                break
        else:
            return None
        f.seek(92)
        title = f.read(4)
        if len(title) < 4:
            return None
        (length,) = struct.unpack(order + "i", title)
        if not 0 <= length <= size:
            return None
        f.seek(92 + 4 + length + 4)
        record = f.read(12)
        if len(record) < 12 or struct.unpack(order + "i", record[:4])[0] != 4:
            return None
        (n,) = struct.unpack(order + "i", record[4:8])
    if n < 0 or 12 * n > size:
        raise ValueError(f"{path.name}: the DCD header declares {n} atoms, more than the file holds")
    return n
