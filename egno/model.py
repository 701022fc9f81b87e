"""EGNO: Equivariant Graph Neural Operator (Xu, Han et al., ICML 2024), DESIGN §1.

One input state -> positions at P times in one forward pass. The state is repeated P times, each
copy tagged with a sinusoidal embedding of its physical time fraction t_p/ΔT, then L blocks of
[temporal spectral convolution, EGNN layer] run with time as a batch axis.

Letters: P time points, N nodes (all graphs of a batch together), E edges, H hidden channels,
M vector channels (2: [x - centre of mass, v]), K Fourier modes kept.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .config import ModelConfig
from .graph import GraphBatch, segment_mean, segment_sum


# inference: edges × time points per EGNN call. Chunks keep edge tensors cache-sized; 8192 runs the
# N-body batch of 100 (2,000 edges) four time points per call. One paired run at batch 100, P = 8
# (README Speed): chunks of 2048 / 4096 / 8192 / 16384 rows 54.0 / 43.1 / 41.0 / 55.4 ms
EDGE_ROWS_PER_CHUNK = 8192


def time_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of time fractions t (P,) in (0, 1] -> (P, dim).

    Frequencies from 0.5 to 12 rad per window: smooth enough that a model trained at P = 5 is
    well defined between its training times (the reference code embeds the integer index p).
    """
    half = dim // 2
    freqs = 0.5 * 24.0 ** (torch.arange(half, dtype=t.dtype, device=t.device) / max(half - 1, 1))
    angles = t[:, None] * freqs[None, :]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)


def _spectral_weights(c_in: int, c_out: int, modes: int) -> nn.Parameter:
    """Complex weights (c_in, c_out, K), stored as real (2, c_in, c_out, K) = [real, imag]."""
    scale = 1.0 / (c_in * c_out)
    return nn.Parameter(scale * torch.rand(2, c_in, c_out, modes))


def dft_matrices(p: int, modes: int, dtype=torch.float32, device=None):
    """Truncated real DFT along time as matrices.

    Returns F (2K, P) with rows [Re c_0..Re c_{K-1}, Im c_0..Im c_{K-1}] of the forward transform
    c_k = Σ_q f_q e^{-2πikq/P}, and G (P, 2K), the inverse of the kept modes as ``irfft`` defines it:
    f_q = (1/P) Σ_k a_k (Re c_k cos(2πkq/P) − Im c_k sin(2πkq/P)), a_k = 1 for k = 0 and the
    Nyquist mode, else 2 (so Im of those two modes is dropped, as in irfft). K = min(modes, P//2+1).
    """
    k = min(modes, p // 2 + 1)
    q = torch.arange(p, dtype=torch.float64)
    kk = torch.arange(k, dtype=torch.float64)
    angle = 2 * math.pi * kk[:, None] * q[None, :] / p  # K, P
    forward = torch.cat([torch.cos(angle), -torch.sin(angle)], dim=0)
    weight = torch.full((k,), 2.0, dtype=torch.float64)
    weight[0] = 1.0
    if p % 2 == 0 and k == p // 2 + 1:
        weight[-1] = 1.0
    inverse = torch.cat([torch.cos(angle) * weight[:, None], -torch.sin(angle) * weight[:, None]],
                        dim=0).T / p
    return forward.to(dtype=dtype, device=device), inverse.to(dtype=dtype, device=device)


def complex_as_real(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Complex channel weights w = [wr, wi] (2, K, C_in, C_out) as two real stacks (2K, C_in,
    C_out), A = [wr; wr] and B = [−wi; wi], so that per mode [Re; Im] of (re + i im)(wr + i wi)
    = [re; im] @ A + [im; re] @ B."""
    return torch.cat([w[0], w[0]]), torch.cat([-w[1], w[1]])


def spectral_mix(f: torch.Tensor, fwd4: torch.Tensor, inv: torch.Tensor, a: torch.Tensor,
                 b: torch.Tensor) -> torch.Tensor:
    """irFFT(W · rFFT(f)[:K]) along the leading (time) axis of f (P, R, C): ``fwd4``, ``inv`` from
    ``_TruncatedSpectralMix._matrices``, ``a``, ``b`` from ``complex_as_real``."""
    p, r, c = f.shape
    k2 = a.shape[0]
    spec = (fwd4 @ f.reshape(p, r * c)).view(2, k2, r, c)  # [[re; im], [im; re]]
    mixed = torch.baddbmm(torch.bmm(spec[0], a), spec[1], b)  # [Re; Im] of the mixed modes
    return (inv @ mixed.view(k2, r * c)).view(p, r, c)


def inference_cached(cache: dict, tag, key: tuple, build):
    """``build()``, kept in ``cache`` while autograd records nothing (inference), rebuilt on
    every call otherwise. ``key`` holds the weights' versions and addresses, so an optimiser
    step or a load rebuilds; one entry per ``tag`` (a new key replaces the old)."""
    if torch.is_grad_enabled():
        return build()
    full = (tag, *key)
    if full not in cache:
        for old in [kk for kk in cache if kk[0] == tag]:
            del cache[old]
        cache[full] = build()
    return cache[full]


def _weight_key(*weights: torch.Tensor) -> tuple:
    return tuple((w._version, w.data_ptr()) for w in weights)


class _TruncatedSpectralMix(nn.Module):
    """y = irFFT(W_k · rFFT(f)_k for k < K) along the leading (time) axis; f (P, R, C) -> (P, R, C).

    Computed with the truncated DFT as two small matmuls and a real form of the complex channel
    mix (bmm + baddbmm): for K = 2 modes this is several times faster on a CPU than rfft/irfft
    with complex autograd, and it is the same function (tests compare it with torch.fft and a
    naive DFT).
    """

    def __init__(self, channels: int, modes: int):
        super().__init__()
        self.modes = modes
        self.weight = _spectral_weights(channels, channels, modes)
        self._cache: dict = {}

    def _matrices(self, p: int, ref: torch.Tensor):
        """(F4, G): F4 (4K, P) is the truncated forward DFT F with rows [Re, Im] followed by F
        with rows [Im, Re] (both orders come out of one matmul); G (P, 2K) the inverse."""
        key = (p, ref.dtype, ref.device)
        if key not in self._cache:
            # normal tensors even when first asked for under inference mode: they are reused
            # with autograd (a model that predicted and then trains at the same P)
            with torch.inference_mode(False):
                fwd, inv = dft_matrices(p, self.modes, ref.dtype, ref.device)
                k = fwd.shape[0] // 2
                self._cache[key] = torch.cat([fwd, fwd[k:], fwd[:k]]), inv
        return self._cache[key]

    def _mixers(self, k: int, ref: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``complex_as_real`` of the first k modes' weights (cached at inference)."""
        return inference_cached(
            self._cache, "mix", (k, ref.dtype, ref.device, *_weight_key(self.weight)),
            lambda: complex_as_real(self.weight[..., :k].to(ref).permute(0, 3, 1, 2)))

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        fwd4, inv = self._matrices(f.shape[0], f)
        return spectral_mix(f, fwd4, inv, *self._mixers(fwd4.shape[0] // 4, f))


class SpectralConv(nn.Module):
    """Temporal convolution of scalars: h (P, N, H) -> h + act(irFFT(W · rFFT(h)[:K])).

    rFFT along time, keep the first K modes, mix channels per mode with learned complex weights
    (H_in × H_out × K), inverse rFFT back to P points. With the default FFT scaling (sum forward,
    1/P back) mode k means the same frequency in t/ΔT at any P, so one model runs at any P.
    """

    def __init__(self, channels: int, modes: int, act: nn.Module | None = None):
        super().__init__()
        self.mix = _TruncatedSpectralMix(channels, modes)
        self.act = act if act is not None else FreshLeakyReLU()

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.act(self.mix(h))


class EquivariantSpectralConv(nn.Module):
    """Temporal convolution of vectors: X (P, N, 3, M) -> X + irFFT(W · rFFT(X)[:K]).

    Weights (M_in × M_out × K) mix whole vectors, never their x/y/z components, so the layer
    commutes with rotations and reflections; no nonlinearity touches vectors.
    """

    def __init__(self, channels: int, modes: int):
        super().__init__()
        self.mix = _TruncatedSpectralMix(channels, modes)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        p, n, d, m = X.shape
        return X + self.mix(X.reshape(p, n * d, m)).reshape(p, n, d, m)


def joint_mixers(h_weight: torch.Tensor, x_weight: torch.Tensor, k: int, ref: torch.Tensor):
    """One block's scalar (H × H) and vector (2 × 2) spectral weights as one complex mix over the
    channels [h | x − com | v] (H + 6), in ``complex_as_real`` form: block-diagonal, the vector
    block kron(W_x, I_3) (channel 3m + d is component d of vector m), so a component only ever
    mixes with the same component of the other vector, as in EquivariantSpectralConv."""
    wh = h_weight[..., :k].to(ref).permute(0, 3, 1, 2)  # [re, im], K, H, H
    wx = x_weight[..., :k].to(ref).permute(0, 3, 1, 2).contiguous()  # [re, im], K, 2, 2
    wx = torch.kron(wx, torch.eye(3, dtype=ref.dtype, device=ref.device)[None, None])  # 2, K, 6, 6
    hidden, vec = wh.shape[-1], wx.shape[-1]
    pad = nn.functional.pad
    return complex_as_real(pad(wh, (0, vec, 0, vec)) + pad(wx, (hidden, 0, hidden, 0)))


class FreshSiLU(nn.SiLU):
    """SiLU for inputs that nothing else reads (a Linear's output, a fresh sum): computed in place
    when autograd records nothing, which saves one (E, H) buffer per call at inference (EGNO at
    batch 1 and 100, P = 8: about 10% of a forward pass in `python -m egno bench`-style paired
    runs). With autograd the input is kept for backward, so then it is not overwritten."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.silu(x, inplace=not torch.is_grad_enabled())


class FreshLeakyReLU(nn.LeakyReLU):
    """LeakyReLU, in place without autograd (as FreshSiLU)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.leaky_relu(x, self.negative_slope, inplace=not torch.is_grad_enabled())


def mlp(c_in: int, c_hidden: int, c_out: int, act_last: bool = False, bias_last: bool = True):
    layers = [nn.Linear(c_in, c_hidden), FreshSiLU(), nn.Linear(c_hidden, c_out, bias=bias_last)]
    return nn.Sequential(*layers, FreshSiLU()) if act_last else nn.Sequential(*layers)


def start_still(layers) -> None:
    """Zero the velocity gates of EGNN layers: an untrained stack then moves no node by v."""
    for layer in layers:
        nn.init.zeros_(layer.vel_mlp[-1].weight)
        nn.init.zeros_(layer.vel_mlp[-1].bias)


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
            nn.init.zeros_(self.up_mlp[-1].weight)
            nn.init.zeros_(self.up_mlp[-1].bias)

    def edge_model(self, h, diff, edge_index, edge_attr):
        row, col = edge_index
        radial = (diff * diff).sum(-1, keepdim=True)  # E, 1
        # index_select, not h[row]: its backward is index_add_, several times faster on a CPU
        # than the accumulating index_put_ that advanced indexing differentiates into. The two
        # gathers are summed in place and the edge terms' matmul accumulates into that sum:
        # three passes over (E, H) tensors fewer than separate adds (autograd saves none of them)
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


def time_stacked(edge_index: torch.Tensor, edge_attr: torch.Tensor, p: int, n: int):
    """P copies of an N-node graph as one graph of P·N nodes, copy q at rows qN … qN + N − 1:
    edge_index (2, E) -> (2, P·E), edge_attr (E, d) -> (P·E, d)."""
    if p == 1:
        return edge_index, edge_attr
    shift = torch.arange(p, device=edge_index.device)[:, None] * n  # P, 1
    return (edge_index[:, None, :] + shift).reshape(2, -1), edge_attr.repeat(p, 1)


def centre_of_mass(x: torch.Tensor, graph: torch.Tensor, num_graphs: int) -> torch.Tensor:
    """Per-node centre of its graph: x (..., N, 3) -> (..., N, 3)."""
    com = segment_mean(x, graph, num_graphs, dim=x.dim() - 2)
    return com.index_select(x.dim() - 2, graph)


UP_FEATURES = 2  # node features up_inputs adds: height and vertical displacement along up


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


class EGNO(nn.Module):
    """Equivariant Graph Neural Operator: GraphBatch at one time -> positions (P, N, 3) at times t.

    With ``config.time_conv = False`` this is the one-shot EGNN baseline: the same EGNN stack and
    time embedding, each target time predicted independently.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = c = config
        node_in = c.node_features + UP_FEATURES * c.up_vector
        self.embed = nn.Linear(node_in + c.time_emb_dim, c.hidden)
        self.layers = nn.ModuleList(EGNNLayer(c.hidden, c.edge_features, c.norm_diff, c.up_vector)
                                    for _ in range(c.layers))
        if c.time_conv:
            self.h_convs = nn.ModuleList(SpectralConv(c.hidden, c.modes) for _ in range(c.layers))
            self.x_convs = nn.ModuleList(EquivariantSpectralConv(2, c.modes) for _ in range(c.layers))
            if c.vector_conv_init == "zero":
                for conv in self.x_convs:
                    nn.init.zeros_(conv.mix.weight)
        if c.still_start:
            start_still(self.layers)
        self._cache: dict = {}

    def forward(self, batch: GraphBatch, t: torch.Tensor | None = None) -> torch.Tensor:
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
        return x

    def _temporal(self, i, h, x, v, com):
        """Block i's temporal convolutions, h_convs[i] on h and x_convs[i] on [x − com, v], as one
        spectral mix over the channels [h | x − com | v] (``joint_mixers``): the same function as
        the two layers one after the other (a test compares them), with one DFT pair instead
        of two and no stacking of vectors, about 14% of EGNO's forward pass at batch 1, P = 8."""
        h_conv, x_conv = self.h_convs[i], self.x_convs[i]
        hidden = h.shape[-1]
        fwd4, inv = h_conv.mix._matrices(h.shape[0], h)
        k = fwd4.shape[0] // 4
        a, b = inference_cached(
            self._cache, ("joint", i),
            (k, h.dtype, h.device, *_weight_key(h_conv.mix.weight, x_conv.mix.weight)),
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
