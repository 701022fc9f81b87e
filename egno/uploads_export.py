"""Downloads the Upload page reads back unchanged: a trajectory (input frame, then the predicted
or the true frames) in the family's own upload formats, with what the family needs (charges for
particles, element symbols for molecules, joint names for motion, a topology for proteins) and,
in each file's metadata, what it holds (``MARKER``: "egno prediction by ..." or "egno ground truth").
"""
from __future__ import annotations

import io

import numpy as np

from .uploads_frames import MARKER


def _csv_particles(frames, times, meta, label) -> bytes:
    import pandas as pd

    f, n = np.meshgrid(np.arange(len(frames)), np.arange(frames.shape[1]), indexing="ij")
    q = np.asarray(meta["charges"])
    table = pd.DataFrame({"frame": f.ravel(), "time": times[f.ravel()], "particle": n.ravel(),
                          "x": frames[..., 0].ravel(), "y": frames[..., 1].ravel(),
                          "z": frames[..., 2].ravel(), "charge": q[n.ravel()]})
    return (f"# {label}\n" + table.to_csv(index=False, float_format="%.9g")).encode()


def _npz(positions_key: str, frames, times, label, **extra) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **{positions_key: frames}, time=times, egno_prediction=np.array([label]), **extra)
    return buf.getvalue()


def _extxyz(frames, times, symbols, label) -> bytes:
    from ase import Atoms
    from ase.io import write

    images = []
    for k, pos in enumerate(frames):
        atoms = Atoms(symbols=symbols, positions=np.asarray(pos, dtype=np.float64))
        atoms.info["time"] = float(times[k])
        atoms.info["egno"] = label
        images.append(atoms)
    buf = io.StringIO()
    write(buf, images, format="extxyz")
    return buf.getvalue().encode()


def _bvh(frames, times, joints, bones, label) -> bytes:
    """Every joint with three position channels (its offset from its parent, no rotations): the
    joint positions come back exactly, in ASF units (the '# egno' line keeps them unscaled)."""
    n = frames.shape[1]
    parent = np.full(n, -1)
    for a, b in np.asarray(bones).reshape(2, -1).T:
        parent[a] = b  # read_bvh's bones are (child, parent)
    children = {j: [k for k in range(n) if parent[k] == j] for j in range(n)}
    lines, order = [f"# {label}", "HIERARCHY"], []

    def block(j: int, depth: int) -> None:  # depth first: a BVH lists joints parent before child
        order.append(j)
        pad = "  " * depth
        lines.append(f"{pad}{'ROOT' if depth == 0 else 'JOINT'} {joints[j]}")
        lines.append(pad + "{")
        lines.append(f"{pad}  OFFSET 0 0 0")
        lines.append(f"{pad}  CHANNELS 3 Xposition Yposition Zposition")
        for k in children[j]:
            block(k, depth + 1)
        lines.append(pad + "}")

    block(0, 0)
    local = frames - np.where(parent[None, :, None] >= 0, frames[:, np.maximum(parent, 0)], 0.0)
    step = float(times[1] - times[0]) if len(times) > 1 else 1 / 120
    lines += ["MOTION", f"Frames: {len(frames)}", f"Frame Time: {step:.9g}"]
    lines += [" ".join(f"{v:.9g}" for v in row.ravel()) for row in local[:, order]]
    return ("\n".join(lines) + "\n").encode()


def _pdb(frames, times, meta, label) -> bytes:
    from .data.protein import backbone_pdb

    text = backbone_pdb(frames, meta["atom_names"], meta["resnames"], meta["resids"])
    step = float(times[1] - times[0]) if len(times) > 1 else 1.0
    head = f"REMARK   1 {label.upper()}\nREMARK   1 EGNO FRAME_PS {step:.9g}\n"
    return (head + text).encode()


def round_trip_files(view: str, frames: np.ndarray, times: np.ndarray, meta: dict,
                     label: str) -> dict[str, bytes]:
    """{extension: bytes} of ``frames`` (F, N, 3) at ``times`` (F,) in the formats the Upload page
    reads for the family ``view``; ``label`` (e.g. 'egno prediction by nbody/egno') goes in each
    file's metadata."""
    assert label.lower().startswith(MARKER.split()[0]), "a download's label starts with 'egno'"
    frames, times = np.asarray(frames, dtype=np.float64), np.asarray(times, dtype=np.float64)
    if view == "points":
        q = np.asarray(meta["charges"], dtype=np.float64)
        return {"csv": _csv_particles(frames, times, meta, label),
                "npz": _npz("loc", frames, times, label, charges=q)}
    if view == "molecule":
        from ase.data import atomic_numbers

        z = np.array([atomic_numbers[s] for s in meta["symbols"]])
        return {"extxyz": _extxyz(frames, times, list(meta["symbols"]), label),
                "npz": _npz("R", frames, times, label, z=z)}
    if view == "skeleton":
        return {"bvh": _bvh(frames, times, list(meta["joints"]), meta["bones"], label)}
    return {"pdb": _pdb(frames, times, meta, label)}
