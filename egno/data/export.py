"""Writers of the files the Upload page reads back unchanged: a trajectory (input frame, then the
predicted or the true frames) with what its family needs (charges for particles, element symbols
for molecules, joint names for motion, a topology for proteins) and, in each file's metadata, what
it holds (``MARKER``: "egno prediction by ..." or "egno ground truth"). Each family's
``write_trajectory`` picks its formats; ``trajectory_files`` is the one entry point.
"""
from __future__ import annotations

import io

import numpy as np

from egno.data.trajectory import MARKER


def csv_particles(frames, times, charges, label) -> bytes:
    """One row per particle and frame with its charge, under a '# label' line."""
    import pandas as pd

    f, n = np.meshgrid(np.arange(len(frames)), np.arange(frames.shape[1]), indexing="ij")
    q = np.asarray(charges)
    table = pd.DataFrame({"frame": f.ravel(), "time": times[f.ravel()], "particle": n.ravel(),
                          "x": frames[..., 0].ravel(), "y": frames[..., 1].ravel(),
                          "z": frames[..., 2].ravel(), "charge": q[n.ravel()]})
    return (f"# {label}\n" + table.to_csv(index=False, float_format="%.9g")).encode()


def npz_bytes(positions_key: str, frames, times, label, **extra) -> bytes:
    """An npz of the frames under ``positions_key``, their times and the label (no pickle)."""
    buf = io.BytesIO()
    np.savez(buf, **{positions_key: frames}, time=times, egno_prediction=np.array([label]), **extra)
    return buf.getvalue()


def extxyz_bytes(frames, times, symbols, label) -> bytes:
    """Extended XYZ written with ASE, each frame's number, time and the label in its info; nodes
    without elements (particles, joints) as 'X'."""
    from ase import Atoms
    from ase.io import write

    images = []
    for k, pos in enumerate(frames):
        atoms = Atoms(symbols=symbols or ["X"] * len(pos), positions=np.asarray(pos, dtype=np.float64))
        atoms.info["frame"] = k
        atoms.info["time"] = float(times[k])
        atoms.info["egno"] = label
        images.append(atoms)
    buf = io.StringIO()
    write(buf, images, format="extxyz")
    return buf.getvalue().encode()


def bvh_bytes(frames, times, joints, bones, label) -> bytes:
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


def pdb_header(times, label) -> str:
    """The REMARK lines of a backbone PDB download: its label and the time between frames."""
    step = float(times[1] - times[0]) if len(times) > 1 else 1.0
    return f"REMARK   1 {label.upper()}\nREMARK   1 EGNO FRAME_PS {step:.9g}\n"


def trajectory_files(family, frames: np.ndarray, times: np.ndarray, meta: dict, label: str) -> dict[str, bytes]:
    """{extension: bytes} of ``frames`` (F, N, 3) at ``times`` (F,) in the formats the Upload page
    reads for ``family`` (a DatasetFamily); ``label`` (e.g. 'egno prediction by nbody/egno') goes
    in each file's metadata."""
    assert label.lower().startswith(MARKER.split()[0]), "a download's label starts with 'egno'"
    frames, times = np.asarray(frames, dtype=np.float64), np.asarray(times, dtype=np.float64)
    return family.write_trajectory(frames, times, meta, label)


def element_symbols(meta: dict) -> list[str] | None:
    """Element symbols of a sample's nodes where its family has them: molecules' ``symbols``,
    a protein backbone's from its atom names (N, CA, C, O -> N, C, C, O); None otherwise."""
    if meta.get("symbols"):
        return list(meta["symbols"])
    if meta.get("atom_names"):
        return [str(name)[0] for name in meta["atom_names"]]
    return None


def table_files(frames: np.ndarray, times: np.ndarray, symbols: list[str] | None, label: str) -> dict[str, bytes]:
    """Any family's frames (F, N, 3) at times (F,) as extended XYZ, a CSV (frame, time, node,
    [element,] x, y, z) and an npz (positions, time, [elements]), for tools other than this app."""
    import pandas as pd

    frames, times = np.asarray(frames, dtype=np.float64), np.asarray(times, dtype=np.float64)
    f, n = np.meshgrid(np.arange(len(frames)), np.arange(frames.shape[1]), indexing="ij")
    columns = {"frame": f.ravel(), "time": times[f.ravel()], "node": n.ravel()}
    if symbols:
        columns["element"] = np.asarray(symbols)[n.ravel()]
    table = pd.DataFrame({**columns, "x": frames[..., 0].ravel(), "y": frames[..., 1].ravel(),
                          "z": frames[..., 2].ravel()})
    extra = {"elements": np.asarray(symbols, dtype=str)} if symbols else {}
    return {"extxyz": extxyz_bytes(frames, times, symbols, label),
            "csv": (f"# {label}\n" + table.to_csv(index=False, float_format="%.7g")).encode(),
            "npz": npz_bytes("positions", frames, times, label, **extra)}
