"""Small helpers for tests: random orthogonal matrices and a float64 test batch."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def load_script(path: str):
    """The script at ``path`` (relative to the repository) as a module, for testing its functions."""
    spec = importlib.util.spec_from_file_location(Path(path).stem, ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def random_orthogonal(seed: int, reflect: bool = False) -> torch.Tensor:
    """A random 3×3 rotation (det +1), or a rotation-reflection (det −1) with ``reflect``."""
    g = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(3, 3, generator=g, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r))
    if torch.det(q) < 0:
        q[:, 0] = -q[:, 0]
    if reflect:
        q = q @ torch.diag(torch.tensor([1.0, 1.0, -1.0], dtype=torch.float64))
    return q


def app_figures(at) -> list[dict]:
    """The plotly figures an ``AppTest`` run drew (app/plotview.py: components-v2 elements whose
    data carry the figure's JSON), in page order."""
    import json

    out = []
    for element in at.get("bidi_component"):
        payload = json.loads(element.proto.json) if element.proto.json else {}
        if "figure" in payload:
            out.append(json.loads(payload["figure"]))
    return out


def values(arr) -> "np.ndarray":  # noqa: F821
    """A plotly JSON array as numbers: plotly 6+ writes numeric arrays as base64 {dtype, bdata}."""
    import base64

    import numpy as np

    if isinstance(arr, dict):
        return np.frombuffer(base64.b64decode(arr["bdata"]), dtype=np.dtype(arr["dtype"]))
    return np.asarray(arr, dtype=float)
