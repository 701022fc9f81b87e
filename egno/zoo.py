"""One place that maps a model name to its class."""
from __future__ import annotations

from torch import nn

from .baselines import GNN, EGNNRollout, EGNNSequential, Linear
from .config import ModelConfig
from .model import EGNO

CLASSES = {"egno": EGNO, "egnn": EGNO, "egnn-r": EGNNRollout, "egnn-s": EGNNSequential,
           "gnn": GNN, "linear": Linear}

# Models that are meant to follow rotations, translations and permutations exactly.
EQUIVARIANT = ("egno", "egnn", "egnn-r", "egnn-s", "linear")


def build_model(config: ModelConfig) -> nn.Module:
    assert config.model in CLASSES, f"unknown model '{config.model}'; choose from {sorted(CLASSES)}"
    if config.model == "egnn":
        assert not config.time_conv, "the egnn baseline has no temporal convolution"
    return CLASSES[config.model](config)
