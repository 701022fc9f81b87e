"""EGNO: Equivariant Graph Neural Operator (Xu, Han et al., ICML 2024), docs/design.md §1.

One input state -> positions at P times in one forward pass. The state is repeated P times, each
copy tagged with a sinusoidal embedding of its physical time fraction t_p/ΔT, then L blocks of
[temporal spectral convolution (egno/nn/spectral.py), EGNN layer (egno/nn/egnn.py)] run with time as a
batch axis.

Letters: P time points, N nodes (all graphs of a batch together), E edges, H hidden channels,
M vector channels (2: [x - centre of mass, v]), K Fourier modes kept.
"""
from __future__ import annotations

import torch
from torch import nn

from egno.nn.config import ModelConfig
from egno.nn.egnn import egnn_layers, time_stacked
from egno.nn.graph import GraphBatch, segment_mean
from egno.nn.spectral import (EquivariantSpectralConv, InferenceCache, SpectralConv, joint_mixers,
                       spectral_mix, weight_key)

# inference: edges × time points per EGNN call; chunks keep edge tensors cache-sized
EDGE_ROWS_PER_CHUNK = 8192
LOG_VAR_FLOOR = -40.0


def time_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of time fractions t (P,) in (0, 1] -> (P, dim).

    Frequencies from 0.5 to 12 rad per window: smooth enough that a model trained at P = 5 is
    well defined between its training times (the reference code embeds the integer index p).
    """
    half = dim // 2
    freqs = 0.5 * 24.0 ** (torch.arange(half, dtype=t.dtype, device=t.device) / max(half - 1, 1))
    angles = t[:, None] * freqs[None, :]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)


def centre_of_mass(x: torch.Tensor, graph: torch.Tensor, num_graphs: int) -> torch.Tensor:
    """Per-node centre of its graph: x (..., N, 3) -> (..., N, 3)."""
    com = segment_mean(x, graph, num_graphs, dim=x.dim() - 2)
    return com.index_select(x.dim() - 2, graph)


UP_FEATURES = 2  # node features up_inputs adds: height and vertical displacement along up


def node_inputs(config: ModelConfig) -> int:
    """Node features a model reads: the dataset's, plus the up-vector inputs when it uses them."""
    return config.node_features + UP_FEATURES * config.up_vector


def up_inputs(batch: GraphBatch, config, com: torch.Tensor | None = None
              ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Node features and the up vector for a model with ``config.up_vector``: h extended by
    [(x − centre)·up, (v ΔT)·up] (height above the graph's centre and vertical displacement per
    window; invariant when x, v and up turn together), and up (N, 3). Other models: (h, None).
    ``com``: the per-node centre of mass when the caller has it already."""
    if not config.up_vector:
        return batch.h, None
    if batch.up is None:
        raise ValueError(f"this {config.model} model reads the up (gravity) direction and these "
                         "samples have none (a motion model on data of another family?)")
    if com is None:
        com = centre_of_mass(batch.x, batch.graph, batch.num_graphs)
    height = ((batch.x - com) * batch.up).sum(-1, keepdim=True)
    rise = (batch.v * batch.window * batch.up).sum(-1, keepdim=True)
    return torch.cat([batch.h, height, rise], dim=-1), batch.up


class EGNO(InferenceCache):
    """Equivariant Graph Neural Operator: GraphBatch at one time -> positions (P, N, 3) at times t.

    With ``config.time_conv = False`` this is the one-shot EGNN baseline: the same EGNN stack and
    time embedding, each target time predicted independently.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = c = config
        self.embed = nn.Linear(node_inputs(c) + c.time_emb_dim, c.hidden)
        self.layers = egnn_layers(c, c.layers, c.still_start)
        if c.time_conv:
            self.h_convs = nn.ModuleList(SpectralConv(c.hidden, c.modes) for _ in range(c.layers))
            self.x_convs = nn.ModuleList(EquivariantSpectralConv(2, c.modes) for _ in range(c.layers))
            if c.vector_conv_init == "zero":
                for conv in self.x_convs:
                    nn.init.zeros_(conv.mix.weight)
        if c.variance_head:  # invariant node features -> log σ² per node and frame
            self.var_head = nn.Sequential(nn.Linear(c.hidden, c.hidden), nn.SiLU(), nn.Linear(c.hidden, 1))

    def forward(self, batch: GraphBatch, t: torch.Tensor | None = None, variance: bool = False):
        """Positions (P, N, 3); with ``variance`` also the log-variance (P, N) of each coordinate
        of each node (the variance head's: an isotropic Gaussian per node, invariant under
        rotations, translations and permutations)."""
        h, x = self._run(batch, t)
        if not variance:
            return x
        assert self.config.variance_head, "this model has no variance head"
        # a soft floor: σ² below e^-40 (float32 and NLL both break there) is never predicted
        return x, LOG_VAR_FLOOR + nn.functional.softplus(self.var_head(h).squeeze(-1) - LOG_VAR_FLOOR)

    def forward_variance(self, batch: GraphBatch, t: torch.Tensor | None = None
                         ) -> tuple[torch.Tensor, torch.Tensor]:
        return self(batch, t, variance=True)

    def _run(self, batch: GraphBatch, t: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """The final node features (P, N, H) and positions (P, N, 3)."""
        t = batch.t if t is None else t
        p, n = t.shape[0], batch.x.shape[0]
        emb = time_embedding(t.to(batch.x), self.config.time_emb_dim)  # P, T
        com = centre_of_mass(batch.x, batch.graph, batch.num_graphs)  # N, 3
        h, up = up_inputs(batch, self.config, com)
        h = torch.cat([h.expand(p, -1, -1), emb[:, None, :].expand(-1, n, -1)], dim=-1)
        h = self.embed(h)  # P, N, H
        x = batch.x.expand(p, -1, -1)
        v = (batch.v * batch.window).expand(p, -1, -1)  # displacement per window: x(t) ≈ x + v t
        stacks: dict = {}  # time points per EGNN call -> that many copies of the graph
        for i, layer in enumerate(self.layers):
            if self.config.time_conv:
                h, x, v = self._temporal(i, h, x, v, com)
            h, x = self._egnn(layer, h, x, v, batch, up, stacks)
        return h, x

    def _temporal(self, i, h, x, v, com):
        """Block i's temporal convolutions, h_convs[i] on h and x_convs[i] on [x − com, v], as one
        spectral mix over the channels [h | x − com | v] (``joint_mixers``): the same function as
        the two layers one after the other (a test compares them), with one DFT pair instead
        of two and no stacking of vectors."""
        h_conv, x_conv = self.h_convs[i], self.x_convs[i]
        hidden = h.shape[-1]
        fwd4, inv = h_conv.mix.matrices(h.shape[0], h)
        k = fwd4.shape[0] // 4
        a, b = self.cached(("joint", i), (k, h.dtype, h.device, *weight_key(h_conv.mix.weight, x_conv.mix.weight)),
                           lambda: joint_mixers(h_conv.mix.weight, x_conv.mix.weight, k, h))
        out = spectral_mix(torch.cat([h, x - com, v], dim=-1), fwd4, inv, a, b)
        return (h + h_conv.act(out[..., :hidden]), x + out[..., hidden:hidden + 3],
                v + out[..., hidden + 3:])

    def _egnn(self, layer, h, x, v, batch, up, stacks):
        """Run an EGNN layer on the P time copies (P, N, ·) as one graph of P·N nodes. Without
        autograd it runs over chunks of time points (the copies are independent graphs there):
        chunks whose edge tensors stay cache-sized run faster."""
        p, n = h.shape[:2]
        chunk = p
        if not torch.is_grad_enabled():
            chunk = max(1, min(p, EDGE_ROWS_PER_CHUNK // max(1, batch.edge_index.shape[1])))
        hs, xs = [], []
        for start in range(0, p, chunk):
            c = min(chunk, p - start)
            if c not in stacks:
                stacks[c] = (*time_stacked(batch.edge_index, batch.edge_attr, c, n),
                             None if up is None else up.repeat(c, 1))
            index, attr, up_c = stacks[c]
            part = slice(start, start + c)
            h_c, x_c = layer(h[part].reshape(c * n, -1), x[part].reshape(c * n, 3),
                             v[part].reshape(c * n, 3), index, attr, up_c)
            hs.append(h_c.view(c, n, -1))
            xs.append(x_c.view(c, n, 3))
        if len(hs) == 1:
            return hs[0], xs[0]
        return torch.cat(hs), torch.cat(xs)
