"""What the library hands the app, typed: one sample's prediction, an equivariance check and a
resolution sweep's settings (an upload's result is egno.uploads.result.UploadResult)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np


@dataclass
class Prediction:
    """One sample predicted over a window: the input, the P predicted frames and, where the data
    have them, the true frames and the errors (squared length units, mean over x, y, z)."""

    x: np.ndarray                            # (N, 3) input positions
    v: np.ndarray                            # (N, 3) input velocities
    pred: np.ndarray                         # (P, N, 3) predicted positions
    t: np.ndarray                            # (P,) target times as fractions of the window
    window: float                            # ΔT in the family's time unit
    truth: np.ndarray | None = None          # (P, N, 3); NaN past the data's frames (chained)
    frame_mse: np.ndarray | None = None      # (P,) MSE per frame
    still_mse: np.ndarray | None = None      # (P,) MSE of predicting no motion
    node_error: np.ndarray | None = None     # (P, N) per node: squared error, or what the page colours by
    rmsd: np.ndarray | None = None           # (P,) root-mean-square distance, when superposed
    aligned_rmsd: np.ndarray | None = None   # (P,) the same after Kabsch superposition
    variance: np.ndarray | None = None       # (P, N) predicted σ² per coordinate (recalibrated)
    members: np.ndarray | None = None        # (K, P, N, 3) a deep ensemble's members' predictions

    @property
    def times(self) -> np.ndarray:
        """Target times (P,) in the family's time unit."""
        return np.asarray(self.t) * self.window

    @property
    def frames(self) -> np.ndarray:
        """The input followed by the predicted frames (P + 1, N, 3)."""
        return np.concatenate([self.x[None], self.pred])

    def with_(self, **changes) -> "Prediction":
        """A copy with some fields changed."""
        return replace(self, **changes)

    def plain(self) -> dict:
        """Fields by name (arrays stay arrays): what the upload worker packs."""
        return asdict(self)


@dataclass
class EquivarianceCheck:
    """f(g·input) against g·f(input) for one sample and one transformation g."""

    pred_on_transformed: np.ndarray   # (P, N, 3) f(g·input)
    transformed_pred: np.ndarray      # (P, N, 3) g·f(input)
    input: np.ndarray                 # (N, 3) g·input
    max_dev: float                    # largest |difference| of a coordinate
    rms_dev: float                    # root-mean-square difference
    motion_scale: float               # mean distance the prediction moves from the input


@dataclass
class SweepSettings:
    """What a resolution sweep computes: target counts P, models and test samples."""

    ps: list[int]
    models: list[str]
    n_samples: int

    def plain(self) -> dict:
        return asdict(self)


@dataclass
class Sweep:
    """A stored resolution sweep: its settings, one row per (model, P) and what it cost."""

    dataset: str
    settings: SweepSettings
    rows: list[dict] = field(default_factory=list)
    seconds: float = 0.0
