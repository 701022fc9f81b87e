"""Batches of graphs of different sizes, and the segment operations the models need.

Letters: S samples (graphs) in a batch, N nodes, E edges (both summed over the batch), P times.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import torch


@dataclass
class GraphBatch:
    """S graphs flattened into one: node rows of all graphs back to back, global edge indices.

    h (N, k), x (N, 3), v (N, 3), edge_index (2, E), edge_attr (E, d), graph (N,) sample id per
    node, t (P,) target times as fractions of ΔT, target (P, N, 3) or None, window = ΔT,
    up (N, 3) or None: each node's graph's up vector (see Windows.up).
    """

    h: torch.Tensor
    x: torch.Tensor
    v: torch.Tensor
    edge_index: torch.Tensor
    edge_attr: torch.Tensor
    graph: torch.Tensor
    num_graphs: int
    t: torch.Tensor
    window: float
    target: torch.Tensor | None = None
    up: torch.Tensor | None = None

    def to(self, device=None, dtype=None) -> "GraphBatch":
        def move(a):
            if a is None:
                return None
            if a.is_floating_point():
                return a.to(device=device, dtype=dtype or a.dtype)
            return a.to(device=device)

        return replace(self, **{k: move(getattr(self, k)) for k in
                                ("h", "x", "v", "edge_index", "edge_attr", "graph", "t", "target", "up")})

    def with_times(self, t: torch.Tensor, target: torch.Tensor | None = None) -> "GraphBatch":
        return replace(self, t=t.to(self.x), target=target)


def segment_sum(src: torch.Tensor, index: torch.Tensor, size: int, dim: int) -> torch.Tensor:
    """Sum rows of ``src`` along ``dim`` into ``size`` buckets given by ``index``."""
    shape = list(src.shape)
    shape[dim] = size
    return src.new_zeros(shape).index_add_(dim, index, src)


def segment_mean(src: torch.Tensor, index: torch.Tensor, size: int, dim: int) -> torch.Tensor:
    """Mean of rows of ``src`` along ``dim`` per bucket (empty buckets give 0)."""
    total = segment_sum(src, index, size, dim)
    count = torch.bincount(index, minlength=size).clamp(min=1).to(src.dtype)
    view = [1] * src.dim()
    view[dim] = size
    return total / count.view(view)
