"""Where things live: the assets shipped in the repository and the generated datasets.

EGNO_CHECKPOINTS and EGNO_DATA move the two that a user may keep elsewhere.
"""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository (an editable install runs from it)
ASSETS = ROOT / "assets"
CHECKPOINTS = Path(os.environ.get("EGNO_CHECKPOINTS") or ASSETS / "checkpoints")  # shipped models
SAMPLES = ASSETS / "samples"  # committed test splits and example upload files, per dataset
VENDOR = ASSETS / "vendor"  # JavaScript the app serves itself (no CDN)
MOCAP_SOURCE = ROOT.parent / "shared" / "data" / "cmu_mocap"  # CMU ASF/AMC files, when present


def default_data_dir() -> Path:
    """Where generated datasets live: $EGNO_DATA, else ``data/`` in the repository (git-ignored)."""
    env = os.environ.get("EGNO_DATA")
    return Path(env) if env else ROOT / "data"
