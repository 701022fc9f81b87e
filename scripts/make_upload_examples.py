"""Write the Upload page's example files into assets/samples/examples/ (small, one or more per
family), from data the project already ships or may redistribute:

- particles: a committed N-body test trajectory (assets/samples/nbody), positions and charges;
- molecules: committed simulated aspirin and ethanol frames (assets/samples/md17), as XYZ with and
  without per-frame times, and as an MD17-style npz (R, z, time);
- motion: the first 40 frames of CMU trial 35_01 as a BVH of joint positions (the ASF + AMC pair
  itself is cut from ../shared/data/cmu_mocap on first use by egno/service/examples.py, not committed);
- protein: AdK backbone frames from the committed test split (assets/samples/protein/adk) as a
  one-frame PDB and the PDB of a PDB + DCD pair (the DCD is written on first use by
  egno/service/examples.py). The mdanalysistests files themselves (adk.psf, *.dcd) are
  GPL-licensed and this project states no licence, so they are not copied here.

Run: python scripts/make_upload_examples.py
"""
from __future__ import annotations

import io

import numpy as np

from egno.service.examples import example_path
from egno.paths import ROOT, SAMPLES
from egno.data import get_dataset
from egno.data.export import trajectory_files

OUT = SAMPLES / "examples"


def xyz(frames: np.ndarray, symbols: list[str], times: np.ndarray | None, title: str,
        vel: np.ndarray | None = None) -> str:
    """XYZ text; with ``times`` extended XYZ with a ``time`` per frame, with ``vel`` also a
    ``vel`` column (Å/fs)."""
    lines = []
    props = ' Properties=species:S:1:pos:R:3:vel:R:3' if vel is not None else ""
    for k, pos in enumerate(frames):
        lines.append(str(len(symbols)))
        lines.append(f'time={times[k]:.1f}{props} comment="{title}"' if times is not None else title)
        if vel is None:
            lines += [f"{s} {x:.5f} {y:.5f} {z:.5f}" for s, (x, y, z) in zip(symbols, pos)]
        else:
            lines += [f"{s} {x:.5f} {y:.5f} {z:.5f} {a:.7f} {b:.7f} {c:.7f}"
                      for s, (x, y, z), (a, b, c) in zip(symbols, pos, vel[k])]
    return "\n".join(lines) + "\n"


def molecules() -> None:
    from ase.data import chemical_symbols

    for name in ("aspirin", "ethanol"):
        with np.load(SAMPLES / "md17" / name / "test.npz") as f:
            pos, vel, z = f["positions"], f["velocities"], f["z"]
        pos, vel = (pos[0], vel[0]) if pos.ndim == 4 else (pos, vel)
        frames = pos[:201:5]  # stored every 7.5 fs: 41 frames 37.5 fs apart, 1.5 ps
        times = np.arange(len(frames)) * 37.5
        symbols = [chemical_symbols[int(e)] for e in z]
        text = xyz(frames, symbols, times, f"{name}, simulated here (GFN2-xTB), heavy atoms, "
                   "velocities in Å/fs", vel=vel[:201:5])
        (OUT / f"{name}_with_times.xyz").write_text(text)
        if name == "aspirin":
            (OUT / "aspirin_no_times.xyz").write_text(
                xyz(frames, symbols, None, "aspirin heavy atoms, 37.5 fs apart (not said in the file)"))
            (OUT / "aspirin_one_frame.xyz").write_text(xyz(frames[:1], symbols, None, "aspirin, one frame"))
            buf = io.BytesIO()
            np.savez(buf, R=frames.astype(np.float64), z=z, time=times)
            (OUT / "aspirin_md17.npz").write_bytes(buf.getvalue())


def particles() -> None:
    import pandas as pd

    table = pd.read_csv(SAMPLES / "nbody" / "test_0.csv")  # with the velocities the format allows
    table[["frame", "particle", "x", "y", "z", "charge", "vx", "vy", "vz"]].to_csv(OUT / "particles.csv", index=False)


def motion() -> None:
    from egno.data.asf_amc import forward_kinematics, read_amc, read_asf

    skeleton = read_asf(example_path("35.asf"))  # the raw CMU files are made on use, not committed
    pos = forward_kinematics(skeleton, read_amc(example_path("35_01_first40.amc"), skeleton))
    meta = {"joints": skeleton.joints, "bones": skeleton.edges()}
    data = trajectory_files(get_dataset("mocap/walk"), pos, np.arange(len(pos)) / 120, meta,
                            "egno example: CMU 35_01 frames 1-40 as joint positions")
    (OUT / "walk_35_01.bvh").write_bytes(data["bvh"])


def protein() -> None:
    with np.load(SAMPLES / "protein" / "adk" / "test.npz") as f:
        pos, names = f["positions"][:13].astype(np.float64), [str(a) for a in f["names"]]
        resnames, resids = [str(r) for r in f["resnames"]], f["resids"]
    from egno.data.protein import backbone_pdb

    (OUT / "adk_one_frame.pdb").write_text(backbone_pdb(pos[:1], names, resnames, resids))
    (OUT / "adk_backbone.pdb").write_text(backbone_pdb(pos[:1], names, resnames, resids))


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    particles()
    molecules()
    motion()
    protein()
    for path in sorted(OUT.iterdir()):
        print(f"{path.relative_to(ROOT)}  {path.stat().st_size / 1024:.0f} KB")
