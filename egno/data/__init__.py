"""Dataset families behind one interface, addressed by name (``nbody``; later ``md17/<molecule>``,
``mocap/walk``, ``protein/adk``)."""
from __future__ import annotations

from pathlib import Path

from .base import DatasetFamily, Windows, collate, default_data_dir, uniform_times
from .md17 import MOLECULES, MD17
from .mocap import Mocap
from .nbody import NBody
from .protein import Protein

# name -> factory(variant, data_dir); adding a family is one line here.
REGISTRY = {
    "nbody": lambda variant, data_dir: NBody(data_dir),
    "mocap": lambda variant, data_dir: Mocap(variant, data_dir),
    "protein": lambda variant, data_dir: Protein(variant, data_dir),
    "md17": lambda variant, data_dir: MD17(variant, data_dir),
}


def get_dataset(name: str, data_dir: Path | None = None) -> DatasetFamily:
    """The dataset called ``name`` (``family`` or ``family/variant``)."""
    family, _, variant = name.partition("/")
    if family not in REGISTRY:
        raise ValueError(f"unknown dataset '{name}'; known families: {sorted(REGISTRY)}")
    return REGISTRY[family](variant or None, data_dir)


def dataset_names() -> list[str]:
    return ["nbody", *[f"md17/{m}" for m in MOLECULES], "md17/all", "mocap/walk", "mocap/run",
            "protein/adk"]


__all__ = ["DatasetFamily", "Windows", "collate", "default_data_dir", "uniform_times", "get_dataset",
           "dataset_names", "REGISTRY"]
