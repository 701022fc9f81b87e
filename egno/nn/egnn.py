"""The E(n)-equivariant graph layer (Satorras et al. 2021) with velocity, and the stacks of it
that EGNO and the EGNN baselines share.

Letters: N nodes, E edges, H hidden channels, P time points.
"""
from __future__ import annotations

import torch
from torch import nn

from egno.nn.config import ModelConfig
from egno.nn.graph import segment_mean, segment_sum


class FreshSiLU(nn.SiLU):
    """SiLU for inputs that nothing else reads (a Linear's output, a fresh sum): in place when
    autograd records nothing, which saves one (E, H) buffer per call at inference; with autograd
    the input is kept for backward, so then it is not overwritten."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.silu(x, inplace=not torch.is_grad_enabled())


def mlp(c_in: int, c_hidden: int, c_out: int, act_last: bool = False, bias_last: bool = True):
    layers = [nn.Linear(c_in, c_hidden), FreshSiLU(), nn.Linear(c_hidden, c_out, bias=bias_last)]
    return nn.Sequential(*layers, FreshSiLU()) if act_last else nn.Sequential(*layers)


def _zero_last(net: nn.Sequential) -> None:
    nn.init.zeros_(net[-1].weight)
    nn.init.zeros_(net[-1].bias)


def start_still(layers) -> None:
    """Zero the velocity gates of EGNN layers: an untrained stack then moves no node by v."""
    for layer in layers:
        _zero_last(layer.vel_mlp)


class EGNNLayer(nn.Module):
    """E(n)-equivariant layer with velocity (Satorras et al. 2021) on one graph.

    Inputs h (N, H), x (N, 3), v (N, 3), edge_index (2, E) with rows i (receivers) and cols j,
    edge_attr (E, d). m_ij = φ_e(h_i, h_j, ‖x_i − x_j‖², a_ij);
    x_i += φ_v(h_i) v_i + mean_j (x_i − x_j) φ_x(m_ij); h_i += φ_h(h_i, Σ_j m_ij).
    With ``up``, also x_i += φ_u(h_i) u for the up vector u (N, 3), starting at zero.
    EGNO runs its P time copies through it as one graph of P·N nodes (``time_stacked``): gathers
    and scatters along the first axis of 2-D tensors are the fast ones on a CPU.
    """

    def __init__(self, hidden: int, edge_features: int, norm_diff: bool = False, up: bool = False):
        super().__init__()
        self.norm_diff = norm_diff  # use (x_i − x_j) / (‖x_i − x_j‖ + 1) in the coordinate update
        # φ_e's first linear map split by input so node terms are computed once per node, not edge
        self.edge_src = nn.Linear(hidden, hidden)
        self.edge_dst = nn.Linear(hidden, hidden, bias=False)
        self.edge_rest = nn.Linear(1 + edge_features, hidden, bias=False)
        self.edge_out = nn.Sequential(FreshSiLU(), nn.Linear(hidden, hidden), FreshSiLU())
        self.coord_mlp = mlp(hidden, hidden, 1, bias_last=False)
        nn.init.xavier_uniform_(self.coord_mlp[-1].weight, gain=0.001)
        self.vel_mlp = mlp(hidden, hidden, 1)
        self.node_mlp = mlp(2 * hidden, hidden, hidden)
        if up:
            self.up_mlp = mlp(hidden, hidden, 1)
            _zero_last(self.up_mlp)

    def edge_model(self, h, diff, edge_index, edge_attr):
        row, col = edge_index
        radial = (diff * diff).sum(-1, keepdim=True)  # E, 1
        # index_select, not h[row]: its backward is index_add_, much faster on a CPU than the
        # index_put_ that advanced indexing differentiates into; in-place sums save (E, H) passes
        pre = self.edge_src(h).index_select(0, row)
        pre.add_(self.edge_dst(h).index_select(0, col))
        pre.addmm_(torch.cat([radial, edge_attr], dim=-1), self.edge_rest.weight.T)
        return self.edge_out(pre)

    def coord_model(self, x, h, v, diff, m, edge_index, up=None):
        if self.norm_diff:
            diff = diff / (diff.norm(dim=-1, keepdim=True) + 1.0)
        trans = diff * self.coord_mlp(m)  # E, 3
        x = x + segment_mean(trans, edge_index[0], x.shape[0], dim=0) + self.vel_mlp(h) * v
        return x if up is None else x + self.up_mlp(h) * up

    def node_model(self, h, m, edge_index):
        agg = segment_sum(m, edge_index[0], h.shape[0], dim=0)
        return h + self.node_mlp(torch.cat([h, agg], dim=-1))

    def forward(self, h, x, v, edge_index, edge_attr, up=None):
        row, col = edge_index
        diff = x.index_select(0, row) - x.index_select(0, col)
        m = self.edge_model(h, diff, edge_index, edge_attr)
        x = self.coord_model(x, h, v, diff, m, edge_index, up)
        h = self.node_model(h, m, edge_index)
        return h, x


def egnn_layers(config: ModelConfig, count: int, still: bool = False) -> nn.ModuleList:
    """``count`` EGNN layers as ``config`` sets them up; ``still``: velocity gates start at zero."""
    c = config
    layers = nn.ModuleList(EGNNLayer(c.hidden, c.edge_features, c.norm_diff, c.up_vector)
                           for _ in range(count))
    if still:
        start_still(layers)
    return layers


def time_stacked(edge_index: torch.Tensor, edge_attr: torch.Tensor, p: int, n: int):
    """P copies of an N-node graph as one graph of P·N nodes, copy q at rows qN … qN + N − 1:
    edge_index (2, E) -> (2, P·E), edge_attr (E, d) -> (P·E, d)."""
    if p == 1:
        return edge_index, edge_attr
    shift = torch.arange(p, device=edge_index.device)[:, None] * n  # P, 1
    return (edge_index[:, None, :] + shift).reshape(2, -1), edge_attr.repeat(p, 1)
