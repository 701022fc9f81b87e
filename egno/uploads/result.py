"""What reading and predicting an upload gives back (``egno.uploads.worker.run_upload``)."""
from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from egno.service.results import Prediction


@dataclass
class UploadResult:
    """One upload job's outcome. Which fields are filled depends on the job's mode."""

    ok: bool
    message: str = ""                   # why not, in one sentence naming the files (ok False)
    seconds: float = 0.0                # wall time of the job, waiting for a worker included
    peak_mb: float = 0.0                # the worker's peak resident memory
    dataset: str | None = None          # the dataset and model used (a molecule goes to its own)
    model: str | None = None
    meta: dict = field(default_factory=dict)     # the window: source, start, dt, velocities, ...
    notes: list[str] = field(default_factory=list)
    # mode "inspect": what the file says before any choice
    frames: int | None = None
    dt: float | None = None             # time between frames the file gives, or None
    default_dt: float | None = None     # the family's when it does not
    step_speeds: list[float] = field(default_factory=list)  # per frame step, the models' nodes only
    fastest: list[str] = field(default_factory=list)        # which node moved it
    prediction_of: str | None = None    # the label of a prediction the app wrote
    has_velocities: bool = False
    # mode "predict"
    out: Prediction | None = None       # the chosen model's prediction
    errors: dict[str, np.ndarray] = field(default_factory=dict)  # every shipped model's per-frame MSE
    models: list[str] = field(default_factory=list)
    warning: str | None = None          # why the prediction cannot be trusted, or None
    timesteps: int | None = None
    exports: dict[str, bytes] = field(default_factory=dict)      # downloads by file name
    # modes "equivariance" and "rollout": egno.uploads.checks' results
    job: dict = field(default_factory=dict)

    @classmethod
    def from_plain(cls, plain: dict) -> "UploadResult":
        """From the worker's unpacked plain data (JSON with arrays and bytes put back)."""
        known = {f.name for f in fields(cls)}
        assert set(plain) <= known, f"unknown result fields {sorted(set(plain) - known)}"
        out = plain.get("out")
        return cls(**{**plain, "out": None if out is None else Prediction(**out)})
