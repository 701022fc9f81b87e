"""Dataset families behind one interface, addressed by name (``nbody``; later ``md17/<molecule>``,
``mocap/walk``, ``protein/adk``)."""
from __future__ import annotations

from pathlib import Path

from egno.data.base import DatasetFamily, Windows, collate, default_data_dir, uniform_times
from egno.data.md17 import MOLECULES, MD17
from egno.data.mocap import Mocap
from egno.data.nbody import NBody
from egno.data.protein import Protein

# name -> factory(variant, data_dir); adding a family is one line here.
REGISTRY: dict[str, type[DatasetFamily]] = {"nbody": NBody, "md17": MD17, "mocap": Mocap, "protein": Protein}


def get_dataset(name: str, data_dir: Path | None = None) -> DatasetFamily:
    """The dataset called ``name`` (``family`` or ``family/variant``)."""
    family, _, variant = name.partition("/")
    if family not in REGISTRY:
        raise ValueError(f"unknown dataset '{name}'; known families: {sorted(REGISTRY)}")
    return REGISTRY[family].named(variant or None, data_dir)


def dataset_names() -> list[str]:
    """Every dataset's name, family by family."""
    return [f"{family}/{v}" if v else family for family, cls in REGISTRY.items() for v in cls.variants]


__all__ = ["MOLECULES", "DatasetFamily", "Windows", "collate", "default_data_dir", "uniform_times", "get_dataset",
           "dataset_names", "REGISTRY"]
