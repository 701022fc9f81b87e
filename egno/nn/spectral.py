"""Temporal spectral convolutions: rFFT along time, keep K modes, mix channels, inverse rFFT.

Letters: P time points, N nodes, R rows (nodes × components), C channels, H hidden channels,
M vector channels, K Fourier modes kept.
"""
from __future__ import annotations

import math

import torch
from torch import nn


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
    ``TruncatedSpectralMix.matrices``, ``a``, ``b`` from ``complex_as_real``."""
    p, r, c = f.shape
    k2 = a.shape[0]
    spec = (fwd4 @ f.reshape(p, r * c)).view(2, k2, r, c)  # [[re; im], [im; re]]
    mixed = torch.baddbmm(torch.bmm(spec[0], a), spec[1], b)  # [Re; Im] of the mixed modes
    return (inv @ mixed.view(k2, r * c)).view(p, r, c)


def inference_cached(cache: dict, tag, key: tuple, build):
    """``build()``, kept in ``cache`` while autograd records nothing (inference), rebuilt on
    every call otherwise. ``key`` holds the weights' versions and addresses, so a load or a plain
    optimiser step rebuilds (a fused step does not bump versions: ``InferenceCache`` keeps a
    training module from caching); one entry per ``tag`` (a new key replaces the old)."""
    if torch.is_grad_enabled():
        return build()
    full = (tag, *key)
    if full not in cache:
        for old in [kk for kk in cache if kk[0] == tag]:
            del cache[old]
        cache[full] = build()
    return cache[full]


def weight_key(*weights: torch.Tensor) -> tuple:
    """Versions and addresses of ``weights``: changes whenever one is updated or replaced."""
    return tuple((w._version, w.data_ptr()) for w in weights)


class FreshLeakyReLU(nn.LeakyReLU):
    """LeakyReLU for inputs nothing else reads: in place when autograd records nothing."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.leaky_relu(x, self.negative_slope, inplace=not torch.is_grad_enabled())


class InferenceCache(nn.Module):
    """A module with ``_cache``, tensors built from its weights and kept only at inference: in
    training mode ``cached`` builds on every call, since unrolls without autograd come between
    fused optimiser steps that leave the weights' versions as they were, and a switch of mode
    empties the cache."""

    def __init__(self):
        super().__init__()
        self._cache: dict = {}

    def train(self, mode: bool = True):
        if mode != self.training:
            self._cache.clear()
        return super().train(mode)

    def cached(self, tag, key: tuple, build):
        return build() if self.training else inference_cached(self._cache, tag, key, build)


class TruncatedSpectralMix(InferenceCache):
    """y = irFFT(W_k · rFFT(f)_k for k < K) along the leading (time) axis; f (P, R, C) -> (P, R, C).

    Computed with the truncated DFT as two small matmuls and a real form of the complex channel
    mix (bmm + baddbmm): faster on a CPU than rfft/irfft with complex autograd for a few modes,
    and the same function (tests compare it with torch.fft and a naive DFT).
    """

    def __init__(self, channels: int, modes: int):
        super().__init__()
        self.modes = modes
        self.weight = _spectral_weights(channels, channels, modes)

    def matrices(self, p: int, ref: torch.Tensor):
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
        return self.cached("mix", (k, ref.dtype, ref.device, *weight_key(self.weight)),
                           lambda: complex_as_real(self.weight[..., :k].to(ref).permute(0, 3, 1, 2)))

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        fwd4, inv = self.matrices(f.shape[0], f)
        return spectral_mix(f, fwd4, inv, *self._mixers(fwd4.shape[0] // 4, f))


class SpectralConv(nn.Module):
    """Temporal convolution of scalars: h (P, N, H) -> h + act(irFFT(W · rFFT(h)[:K])).

    rFFT along time, keep the first K modes, mix channels per mode with learned complex weights
    (H_in × H_out × K), inverse rFFT back to P points. With the default FFT scaling (sum forward,
    1/P back) mode k means the same frequency in t/ΔT at any P, so one model runs at any P.
    """

    def __init__(self, channels: int, modes: int, act: nn.Module | None = None):
        super().__init__()
        self.mix = TruncatedSpectralMix(channels, modes)
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
        self.mix = TruncatedSpectralMix(channels, modes)

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
