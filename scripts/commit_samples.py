"""Copy the mocap, protein and md17 test splits (derived positions, float32) into assets/samples so the
app shows them on machines without ../shared/data/cmu_mocap or the mdanalysistests package, and
without minutes of GFN2-xTB MD (md17: heavy atoms only, as the models use them).
Run after `python -m egno data mocap`, `python -m egno data protein` and the md17 generation:
    .venv/bin/python scripts/commit_samples.py [mocap] [protein] [md17]   # default: all three
    .venv/bin/python scripts/commit_samples.py md17/ethanol                # one molecule
"""
import json
import sys

import numpy as np

from egno import get_dataset
from egno.paths import SAMPLES, default_data_dir

WANT = set(sys.argv[1:]) or {"mocap", "protein", "md17"}

for variant in ("walk", "run") if "mocap" in WANT else ():
    family = get_dataset(f"mocap/{variant}")
    dest = SAMPLES / "mocap" / variant
    dest.mkdir(parents=True, exist_ok=True)
    with np.load(family.data_dir / "test.npz", allow_pickle=False) as f:
        np.savez_compressed(dest / "test.npz", positions=f["positions"].astype(np.float32),
                            lengths=f["lengths"], trials=f["trials"])
    (dest / "skeleton.npz").write_bytes((family.data_dir / "skeleton.npz").read_bytes())
    card = json.loads((family.data_dir / "card.json").read_text())
    card["note"] = ("test split only: joint positions derived by forward kinematics from the CMU "
                    "trials listed, stored as float32; produced by scripts/commit_samples.py")
    (dest / "card.json").write_text(json.dumps(card, indent=2))
    print(dest, sorted(p.name for p in dest.iterdir()))

if "protein" in WANT:
    family = get_dataset("protein/adk")
    dest = SAMPLES / "protein" / "adk"
    dest.mkdir(parents=True, exist_ok=True)
    with np.load(family.data_dir / "test.npz", allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["positions"] = arrays["positions"].astype(np.float32)
    np.savez_compressed(dest / "test.npz", **arrays)
    card = json.loads((family.data_dir / "card.json").read_text())
    card["note"] = ("test split only (adk_dims2.dcd frames 51-101, backbone), float32; produced by "
                    "scripts/commit_samples.py")
    (dest / "card.json").write_text(json.dumps(card, indent=2))
    print(dest, sorted(p.name for p in dest.iterdir()))

MOLECULES = {w.split("/", 1)[1] for w in WANT if w.startswith("md17/")}
for folder in sorted((default_data_dir() / "md17").glob("*/test.npz")):
    name = folder.parent.name
    if "md17" not in WANT and name not in MOLECULES:
        continue
    dest = SAMPLES / "md17" / name
    dest.mkdir(parents=True, exist_ok=True)
    with np.load(folder, allow_pickle=False) as f:
        heavy = f["z"] > 1
        np.savez_compressed(dest / "test.npz", z=f["z"][heavy],
                            positions=f["positions"][..., heavy, :].astype(np.float32),
                            velocities=f["velocities"][..., heavy, :].astype(np.float32))
    card = json.loads((folder.parent / "card.json").read_text())
    card["note"] = ("test split only, heavy atoms, float32; produced by scripts/commit_samples.py")
    (dest / "card.json").write_text(json.dumps(card, indent=2))
    print(dest, sorted(p.name for p in dest.iterdir()))
