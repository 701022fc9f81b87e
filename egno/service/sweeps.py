"""Default resolution sweeps: the settings the Resolution page opens on and the small JSON files
(assets/sweeps/<dataset>.json, written by scripts/resolution_sweeps.py) that hold their results,
so the page draws a sweep on arrival without computing one."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from egno.paths import ASSETS
from egno.service.results import Sweep, SweepSettings

SWEEPS = ASSETS / "sweeps"
SWEEP_MODELS = ("egno", "linear", "egnn-r", "egnn")  # the candidates, in the page's order
MAX_DEFAULT_P = 50
# samples in the default sweep: a protein window has 855 nodes and 56,002 edges, so fewer of them
DEFAULT_SAMPLES = {"protein": 20}
DEFAULT_SAMPLES_OTHER = 200


def default_settings(family, shipped: list[str], n_test: int) -> SweepSettings:
    """P values, models and number of test samples of the default sweep of ``family``."""
    ps = [p for p in family.available_timesteps("test") if 2 <= p <= MAX_DEFAULT_P]
    models = [m for m in SWEEP_MODELS if m in shipped][:3]
    n = min(DEFAULT_SAMPLES.get(family.view, DEFAULT_SAMPLES_OTHER), n_test)
    return SweepSettings(ps=ps, models=models, n_samples=n)


def sweep_path(dataset: str) -> Path:
    return SWEEPS / f"{dataset.replace('/', '_')}.json"


def save_sweep(dataset: str, settings: SweepSettings, table: pd.DataFrame, seconds: float) -> Path:
    """Write a sweep's settings, rows and wall time as JSON."""
    path = sweep_path(dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"dataset": dataset, "settings": settings.plain(), "seconds": round(seconds, 2),
              "rows": json.loads(table.to_json(orient="records"))}
    path.write_text(json.dumps(record, indent=1) + "\n")
    return path


def load_sweep(dataset: str, settings: SweepSettings) -> Sweep | None:
    """The shipped sweep of ``dataset`` when it was computed with exactly ``settings``, else None."""
    path = sweep_path(dataset)
    if not path.exists():
        return None
    record = json.loads(path.read_text())
    if record.get("settings") != settings.plain():
        return None
    return Sweep(dataset, settings, record["rows"], record.get("seconds", 0.0))
