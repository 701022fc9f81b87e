"""Upload examples made on first use rather than committed: cut from third-party data the project
may read but does not carry (the CMU trial in ../shared/data, a DCD written from the committed AdK
test split)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from egno.paths import MOCAP_SOURCE, SAMPLES, default_data_dir

COMMITTED = SAMPLES / "examples"
MADE = ("35.asf", "35_01_first40.amc", "adk_backbone.dcd")
AMC_FRAMES = 40


def example_path(name: str) -> Path:
    """The example file ``name``: committed in assets/samples/examples, or made into the data
    folder on first use (FileNotFoundError when its source is not on this machine)."""
    committed = COMMITTED / name
    if committed.exists() or name not in MADE:
        return committed
    out = default_data_dir() / "examples" / name
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        (_write_dcd if name.endswith(".dcd") else _write_cmu)(name, tmp)
        tmp.replace(out)
    return out


def _write_cmu(name: str, out: Path) -> None:
    source = MOCAP_SOURCE / "35" / ("35.asf" if name.endswith(".asf") else "35_01.amc")
    if not source.exists():
        raise FileNotFoundError(f"{name}: the CMU trial {source} is not on this machine")
    if name.endswith(".asf"):
        out.write_bytes(source.read_bytes())
        return
    lines, frames = [], 0
    for line in source.read_text().splitlines():
        frames += line.strip().isdigit()  # a frame number opens each frame
        if frames > AMC_FRAMES:
            break
        lines.append(line)
    out.write_text("\n".join(lines) + "\n")


def _write_dcd(name: str, out: Path) -> None:
    """13 AdK backbone frames of the committed test split, beside adk_backbone.pdb's topology."""
    import warnings

    import MDAnalysis as mda

    with np.load(SAMPLES / "protein" / "adk" / "test.npz", allow_pickle=False) as f:
        pos = f["positions"][:13].astype(np.float64)
    with warnings.catch_warnings():  # MDAnalysis notes the backbone PDB has no unit cell: none is meant
        warnings.filterwarnings("ignore", message=".*(CRYST1|unitcell)", category=UserWarning)
        u = mda.Universe(str(COMMITTED / "adk_backbone.pdb"))
        with mda.coordinates.DCD.DCDWriter(str(out), n_atoms=len(u.atoms), dt=1.0) as w:
            for frame in pos:
                u.atoms.positions = frame
                w.write(u.atoms)
