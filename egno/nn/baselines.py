"""Baselines trained and evaluated through the same commands as EGNO (docs/design.md §1).

All take a GraphBatch and times t (P,) and return positions (P, N, 3):
  linear  constant-velocity extrapolation x + v t ΔT (no parameters);
  egnn    EGNO without temporal convolutions (one-shot to each target time; see model.EGNO);
  egnn-r  a one-step EGNN rolled out P times, velocity re-estimated by finite differences;
  egnn-s  a stack of P EGNN layers, layer p emitting frame p (as in the paper; fixed P);
  gnn     a non-equivariant message-passing network that reads raw coordinates.
"""
from __future__ import annotations

import torch
from torch import nn

from egno.nn.config import ModelConfig
from egno.nn.graph import GraphBatch, segment_sum
from egno.nn.egnn import egnn_layers
from egno.nn.model import node_inputs, time_embedding, up_inputs


class Linear(nn.Module):
    """x(t) = x + v · t · ΔT."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config

    def forward(self, batch: GraphBatch, t: torch.Tensor | None = None) -> torch.Tensor:
        t = (batch.t if t is None else t).to(batch.x)
        return batch.x[None] + batch.v[None] * (t * batch.window)[:, None, None]


class EGNNStack(nn.Module):
    """Embedding + L EGNN layers: one state (N, ·) -> positions (N, 3)."""

    def __init__(self, config: ModelConfig, extra_features: int, layers: int, still: bool = False):
        super().__init__()
        self.embed = nn.Linear(node_inputs(config) + extra_features, config.hidden)
        self.layers = egnn_layers(config, layers, still)

    def forward(self, h, x, v, edge_index, edge_attr, up=None):
        h = self.embed(h)
        for layer in self.layers:
            h, x = layer(h, x, v, edge_index, edge_attr, up)
        return x


class EGNNRollout(nn.Module):
    """EGNN-R: one EGNN step of length δ = t_1 (the first target time) applied P times.

    The step length enters as an invariant node feature (its time embedding), so the model is
    defined at any P, though trained at one δ. The EGNN sees the displacement per step s = v δ ΔT
    as its velocity vector and predicts a correction to constant velocity: x' = x + s + EGNN(...),
    with the velocity gates starting at zero, so the untrained rollout is the linear baseline
    (a plain EGNN step amplifies s by its velocity gates at every step and diverges within 5 steps);
    after each step s ← x' − x.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.step = EGNNStack(config, config.time_emb_dim, config.layers, still=True)

    def forward(self, batch: GraphBatch, t: torch.Tensor | None = None) -> torch.Tensor:
        t = (batch.t if t is None else t).to(batch.x)
        dt = t[0]
        emb = time_embedding(dt[None], self.config.time_emb_dim)  # 1, T
        h, up = up_inputs(batch, self.config)  # heights etc. of the input state, for every step
        h = torch.cat([h, emb.expand(h.shape[0], -1)], dim=-1)
        x, step = batch.x, batch.v * (dt * batch.window)
        frames = []
        for _ in range(t.shape[0]):
            x_next = self.step(h, x, step, batch.edge_index, batch.edge_attr, up) + step
            x, step = x_next, x_next - x
            frames.append(x)
        return torch.stack(frames)


class EGNNSequential(nn.Module):
    """EGNN-S: P EGNN layers in sequence; the coordinates after layer p are frame p."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.embed = nn.Linear(node_inputs(config), config.hidden)
        self.layers = egnn_layers(config, config.timesteps, config.still_start)

    def forward(self, batch: GraphBatch, t: torch.Tensor | None = None) -> torch.Tensor:
        t = batch.t if t is None else t
        if t.shape[0] != self.config.timesteps:
            raise ValueError(f"egnn-s emits exactly {self.config.timesteps} frames (one per layer); "
                             f"it cannot run at P = {t.shape[0]}")
        h, up = up_inputs(batch, self.config)
        h, x, v = self.embed(h), batch.x, batch.v * batch.window
        frames = []
        for layer in self.layers:
            h, x = layer(h, x, v, batch.edge_index, batch.edge_attr, up)
            frames.append(x)
        return torch.stack(frames)


class GNN(nn.Module):
    """Non-equivariant message passing on raw coordinates: node input [h, x, v, emb(t)].

    Similar in size to EGNO; it must learn rotations from data and visibly fails to follow them.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = c = config
        self.embed = nn.Linear(c.node_features + 6 + c.time_emb_dim, c.hidden)
        self.edge_mlps = nn.ModuleList(
            nn.Sequential(nn.Linear(2 * c.hidden + c.edge_features, c.hidden), nn.SiLU(),
                          nn.Linear(c.hidden, c.hidden), nn.SiLU()) for _ in range(c.layers))
        self.node_mlps = nn.ModuleList(
            nn.Sequential(nn.Linear(2 * c.hidden, c.hidden), nn.SiLU(), nn.Linear(c.hidden, c.hidden))
            for _ in range(c.layers))
        self.head = nn.Sequential(nn.Linear(c.hidden, c.hidden), nn.SiLU(), nn.Linear(c.hidden, 3))

    def forward(self, batch: GraphBatch, t: torch.Tensor | None = None) -> torch.Tensor:
        t = (batch.t if t is None else t).to(batch.x)
        p, n = t.shape[0], batch.x.shape[0]
        emb = time_embedding(t, self.config.time_emb_dim)[:, None, :].expand(-1, n, -1)
        state = torch.cat([batch.h, batch.x, batch.v * batch.window], dim=-1).expand(p, -1, -1)
        h = self.embed(torch.cat([state, emb], dim=-1))  # P, N, H
        row, col = batch.edge_index
        attr = batch.edge_attr.expand(p, -1, -1)
        for edge_mlp, node_mlp in zip(self.edge_mlps, self.node_mlps):
            m = edge_mlp(torch.cat([h.index_select(1, row), h.index_select(1, col), attr], dim=-1))
            h = h + node_mlp(torch.cat([h, segment_sum(m, row, n, dim=1)], dim=-1))
        return batch.x[None] + self.head(h)
