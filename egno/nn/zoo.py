"""One place that maps a model name to its class."""
from __future__ import annotations

import math
from dataclasses import replace

import torch
from torch import nn

from egno.nn.baselines import GNN, EGNNRollout, EGNNSequential, Linear
from egno.nn.config import ModelConfig
from egno.nn.graph import GraphBatch
from egno.nn.model import EGNO

CLASSES = {"egno": EGNO, "egnn": EGNO, "egnn-r": EGNNRollout, "egnn-s": EGNNSequential,
           "gnn": GNN, "linear": Linear}

# Models that are meant to follow rotations, translations and permutations exactly.
EQUIVARIANT = ("egno", "egnn", "egnn-r", "egnn-s", "linear")


def build_model(config: ModelConfig) -> nn.Module:
    assert config.model in CLASSES, f"unknown model '{config.model}'; choose from {sorted(CLASSES)}"
    if config.model == "egnn":
        assert not config.time_conv, "the egnn baseline has no temporal convolution"
    assert not config.variance_head or config.model in ("egno", "egnn"), \
        f"{config.model} has no variance head (egno and egnn do)"
    model = CLASSES[config.model](config)
    return model if config.length_scale == 1.0 else LengthScaled(model)


class LengthScaled(nn.Module):
    """Runs ``inner`` on positions and velocities divided by ``config.length_scale`` and scales its
    prediction back, so a model sees order-one lengths while the data keeps its own unit.
    A uniform scale commutes with rotations, translations and permutations."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner
        self.config = inner.config

    def forward(self, batch: GraphBatch, t: torch.Tensor | None = None, variance: bool = False):
        s = self.config.length_scale
        scaled = replace(batch, x=batch.x / s, v=batch.v / s, target=None)
        if not variance:
            return self.inner(scaled, t) * s
        x, log_var = self.inner(scaled, t, variance=True)
        return x * s, log_var + 2 * math.log(s)

    def forward_variance(self, batch: GraphBatch, t: torch.Tensor | None = None):
        return self(batch, t, variance=True)
