"""The model: symmetries (the centre of the suite), the spectral layers, resolution changes."""
from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from egno.nn.config import preset
from egno.data import collate, uniform_times
from egno.data.nbody import build_windows, simulate
from egno.nn.model import time_embedding
from egno.nn.spectral import EquivariantSpectralConv, SpectralConv, dft_matrices
from egno.nn.zoo import EQUIVARIANT, build_model
from helpers import random_orthogonal

ALL = ("egno", "egnn", "egnn-r", "egnn-s", "gnn", "linear")


def make_batch(n_samples=3, timesteps=5, seed=0):
    d = simulate(n_samples, seed=seed, steps=400, save_every=100)
    w = build_windows(d["loc"][:, 1], d["vel"][:, 1], d["charges"], d["loc"][:, 2:2 + 1].repeat(
        timesteps, axis=1), uniform_times(timesteps))
    return collate(w).to(dtype=torch.float64)


def make_model(name, seed=0, spread=True):
    torch.manual_seed(seed)
    mc, _ = preset("nbody", name)
    model = build_model(mc).double().eval()
    if spread:  # move weights off their initial values so every layer does real work here
        for p in model.parameters():
            p.data += 0.05 * torch.randn_like(p)
    return model


def transformed(batch, R=None, shift=None, turn_up=True):
    R = torch.eye(3, dtype=torch.float64) if R is None else R
    shift = torch.zeros(3, dtype=torch.float64) if shift is None else shift
    up = batch.up if batch.up is None or not turn_up else batch.up @ R.T
    return replace(batch, x=batch.x @ R.T + shift, v=batch.v @ R.T, up=up)


UP_MODELS = ("egno", "egnn", "egnn-r", "egnn-s")  # the models that read an up vector (motion)


def with_up(batch, seed=0):
    """The batch with a random unit up vector per graph (as Windows.up reaches a GraphBatch)."""
    g = torch.Generator().manual_seed(seed)
    up = torch.randn(batch.num_graphs, 3, generator=g, dtype=torch.float64)
    return replace(batch, up=(up / up.norm(dim=-1, keepdim=True))[batch.graph])


def make_up_model(name, seed=0):
    torch.manual_seed(seed)
    mc, _ = preset("nbody", name)
    model = build_model(replace(mc, up_vector=True)).double().eval()
    for p in model.parameters():  # smaller than make_model's: the random rollout stays bounded
        p.data += 0.02 * torch.randn_like(p)
    return model


@pytest.mark.parametrize("name", EQUIVARIANT)
@pytest.mark.parametrize("reflect", [False, True])
def test_equivariant_models_follow_rotations_reflections_translations(name, reflect):
    batch, model = make_batch(), make_model(name)
    R = random_orthogonal(1 + reflect, reflect=reflect)
    shift = torch.tensor([3.0, -2.0, 0.5], dtype=torch.float64)
    with torch.no_grad():
        out = model(batch)
        out_t = model(transformed(batch, R, shift))
    assert out.abs().max() > 0.1
    torch.testing.assert_close(out_t, out @ R.T + shift, atol=1e-9, rtol=1e-9)


@pytest.mark.parametrize("name", ALL)
def test_models_are_permutation_equivariant(name):
    batch, model = make_batch(n_samples=1), make_model(name)
    n = batch.x.shape[0]
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(3))
    inv = torch.argsort(perm)
    permuted = replace(batch, h=batch.h[perm], x=batch.x[perm], v=batch.v[perm],
                       edge_index=inv[batch.edge_index])
    with torch.no_grad():
        torch.testing.assert_close(model(permuted), model(batch)[:, perm], atol=1e-9, rtol=1e-9)


def test_gnn_baseline_fails_the_rotation_test():
    batch, model = make_batch(), make_model("gnn")
    R = random_orthogonal(5)
    with torch.no_grad():
        out = model(batch)
        out_r = model(transformed(batch, R))
    deviation = (out_r - out @ R.T).abs().max()
    assert deviation > 1e-2, f"the non-equivariant gnn followed a rotation (deviation {deviation})"


def naive_truncated_dft_conv(f, weight, modes):
    """Reference: y_q = (1/P) Σ_k a_k Re[(W_k ĉ_k) e^{2πikq/P}], ĉ_k = Σ_q f_q e^{-2πikq/P}."""
    p = f.shape[0]
    k_kept = min(modes, p // 2 + 1)
    w = torch.complex(weight[0], weight[1])  # C, C, K
    out = torch.zeros_like(f, dtype=torch.complex128)
    for k in range(k_kept):
        basis = torch.exp(-2j * math.pi * k * torch.arange(p, dtype=torch.float64) / p)
        c = torch.einsum("q,qrc->rc", basis.to(torch.complex128), f.to(torch.complex128))
        mixed = c @ w[:, :, k]
        a = 1.0 if k == 0 or (p % 2 == 0 and k == p // 2) else 2.0
        if a == 1.0:
            mixed = mixed.real.to(torch.complex128)  # irfft ignores Im of DC and Nyquist
        out += a * torch.einsum("q,rc->qrc", basis.conj(), mixed)
    return (out.real / p)


@pytest.mark.parametrize("p", [2, 3, 5, 8, 50])
def test_spectral_layers_match_dense_dft_and_torch_fft(p):
    torch.manual_seed(p)
    conv = SpectralConv(4, modes=2, act=torch.nn.Identity()).double()
    conv.mix.weight.data.normal_()
    h = torch.randn(p, 6, 4, dtype=torch.float64)
    got = conv(h) - h
    ref = naive_truncated_dft_conv(h, conv.mix.weight.data, 2)
    torch.testing.assert_close(got, ref, atol=1e-10, rtol=1e-10)
    # and against torch.fft.rfft / irfft
    w = torch.complex(conv.mix.weight.data[0], conv.mix.weight.data[1])
    spec = torch.fft.rfft(h, dim=0)
    k = min(2, p // 2 + 1)
    out = torch.zeros_like(spec)
    out[:k] = torch.einsum("kri,iok->kro", spec[:k], w[..., :k])
    torch.testing.assert_close(got, torch.fft.irfft(out, n=p, dim=0), atol=1e-10, rtol=1e-10)


def test_vector_spectral_conv_mixes_whole_vectors():
    torch.manual_seed(0)
    conv = EquivariantSpectralConv(2, modes=2).double()
    conv.mix.weight.data.normal_()
    X = torch.randn(5, 7, 3, 2, dtype=torch.float64)
    R = random_orthogonal(9, reflect=True)
    rotated = torch.einsum("ij,pnjm->pnim", R, X)
    torch.testing.assert_close(conv(rotated), torch.einsum("ij,pnjm->pnim", R, conv(X)))
    ref = naive_truncated_dft_conv(X.reshape(5, 21, 2), conv.mix.weight.data, 2).reshape(5, 7, 3, 2)
    torch.testing.assert_close(conv(X) - X, ref, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("p", [1, 2, 5, 8, 12])
def test_joint_temporal_convolution_equals_the_two_layers(p):
    """EGNO runs each block's scalar and vector temporal convolutions as one mix over
    [h | x − com | v]; it must equal SpectralConv on h and EquivariantSpectralConv on the stacked
    vectors, with autograd and without (cached weights), in float64."""
    model = make_model("egno")
    for conv in model.x_convs:  # the vector weights start at zero: give them something to do
        conv.mix.weight.data = 0.3 * torch.randn_like(conv.mix.weight)
    g = torch.Generator().manual_seed(p)
    h, x, v = (torch.randn(p, 7, c, generator=g, dtype=torch.float64) for c in (64, 3, 3))
    com = torch.randn(7, 3, generator=g, dtype=torch.float64)
    for i in range(len(model.layers)):
        X = model.x_convs[i](torch.stack([x - com, v], dim=-1))
        expected = (model.h_convs[i](h), X[..., 0] + com, X[..., 1])
        for grad in (True, False):
            with torch.set_grad_enabled(grad):
                got = model._temporal(i, h, x, v, com)
            for a, b in zip(got, expected):
                torch.testing.assert_close(a, b.detach(), atol=1e-12, rtol=1e-12)


def test_inference_cache_follows_weight_updates():
    """The spectral weights' real form is cached at inference; loading other weights or an
    optimiser step must be seen by the next prediction (the cache is keyed on weight versions)."""
    batch, model, other = make_batch(), make_model("egno"), make_model("egno", seed=1)
    t = torch.tensor(uniform_times(8))
    with torch.inference_mode():
        before = model(batch, t)
        model.load_state_dict(other.state_dict())
        loaded, expected = model(batch, t), other(batch, t)
    torch.testing.assert_close(loaded, expected, atol=1e-12, rtol=1e-12)
    assert not torch.allclose(before, loaded)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model(batch).pow(2).mean().backward()
    opt.step()
    recorded = model(batch, t).detach()  # with autograd: nothing cached
    with torch.no_grad():
        torch.testing.assert_close(model(batch, t), recorded, atol=1e-12, rtol=1e-12)


def test_unrolls_and_validation_between_fused_adam_steps_use_the_current_weights():
    """Training's fused Adam updates weights without bumping their versions: a pushforward unroll
    (train mode, no autograd) and the validation after an epoch (eval mode) must both see the
    weights of the last step, as a fresh model loaded with them does."""
    import copy

    from egno.run.train import make_optimizer, train_step

    batch, model = make_batch(), make_model("egno").train()
    t = torch.tensor(uniform_times(8))
    opt = make_optimizer(model.parameters(), replace(preset("nbody", "egno")[1], lr=0.05))
    for _ in range(2):
        with torch.no_grad():
            model(batch, t)  # the unroll before the step: what a stale cache would keep
        model.eval()
        with torch.no_grad():
            model(batch, t)  # a validation before the step
        model.train()
        assert train_step(model, opt, batch, grad_clip=None) is not None
        fresh = copy.deepcopy(model).eval()
        fresh._cache.clear()  # a copy made without the fix would carry the stale entries
        with torch.no_grad():
            expected = fresh(batch, t)
            torch.testing.assert_close(model(batch, t), expected, atol=1e-12, rtol=1e-12)  # unroll
            model.eval()
            torch.testing.assert_close(model(batch, t), expected, atol=1e-12, rtol=1e-12)  # validation
        model.train()
    conv = SpectralConv(4, 2).double().train()  # the layer on its own keeps the same rule
    f = torch.randn(8, 3, 4, dtype=torch.float64)
    opt = make_optimizer(conv.parameters(), replace(preset("nbody", "egno")[1], lr=0.05))
    with torch.no_grad():
        conv(f)
    conv(f).pow(2).mean().backward()
    opt.step()
    fresh = copy.deepcopy(conv).eval()
    fresh.mix._cache.clear()
    with torch.no_grad():
        torch.testing.assert_close(conv(f), fresh(f), atol=1e-12, rtol=1e-12)


def test_dft_matrices_invert_kept_modes():
    fwd, inv = dft_matrices(8, 5, torch.float64)  # all 5 rfft modes of P = 8: exact inverse
    torch.testing.assert_close(inv @ fwd, torch.eye(8, dtype=torch.float64), atol=1e-12, rtol=0)


@pytest.mark.parametrize("name", ["egno", "egnn", "egnn-r", "gnn", "linear"])
@pytest.mark.parametrize("p", [2, 10, 50])
def test_models_run_at_other_resolutions(name, p):
    batch, model = make_batch(), make_model(name, spread=False)
    with torch.no_grad():
        out = model(batch, torch.tensor(uniform_times(p)))
    assert out.shape == (p, batch.x.shape[0], 3) and torch.isfinite(out).all()


def test_egno_output_at_shared_times_is_close_across_resolutions():
    """Same physical time, different P: the frames the two grids share agree closely."""
    batch, model = make_batch(), make_model("egno")
    with torch.no_grad():
        coarse = model(batch, torch.tensor(uniform_times(5)))
        fine = model(batch, torch.tensor(uniform_times(10)))[1::2]
    scale = (coarse - batch.x).abs().mean()
    assert (coarse - fine).abs().mean() < 0.5 * scale


def test_egnn_s_refuses_other_resolutions():
    batch, model = make_batch(), make_model("egnn-s")
    with pytest.raises(ValueError, match="exactly 5 frames"):
        model(batch, torch.tensor(uniform_times(8)))


def test_time_embedding_is_smooth_in_time():
    t = torch.linspace(0.01, 1, 200, dtype=torch.float64)
    emb = time_embedding(t, 32)
    assert emb.shape == (200, 32)
    assert (emb[1:] - emb[:-1]).abs().max() < 0.1


def test_graphs_of_different_sizes_batch_together():
    d3 = simulate(1, seed=1, n_balls=3, steps=300)
    d6 = simulate(1, seed=2, n_balls=6, steps=300)
    locs = [d3["loc"][0, 1], d6["loc"][0, 1]]
    vels = [d3["vel"][0, 1], d6["vel"][0, 1]]
    from egno.data.base import Windows
    from egno.data.nbody import fully_connected
    h = [torch.ones(3, 1).numpy(), torch.ones(6, 1).numpy()]
    ei = [fully_connected(3), fully_connected(6)]
    ea = [torch.ones(6, 2).numpy(), torch.ones(30, 2).numpy()]
    w = Windows.from_arrays(h, locs, vels, ei, ea, None, uniform_times(4), 1.0)
    model = make_model("egno").float()
    with torch.no_grad():
        both = model(collate(w))
        alone = model(collate(w, [1]))
    torch.testing.assert_close(both[:, 3:], alone, atol=1e-5, rtol=1e-5)


def test_chunked_inference_equals_one_pass(monkeypatch):
    import egno.nn.model as model_module

    batch, model = make_batch(n_samples=4), make_model("egno")
    with torch.no_grad():
        whole = model(batch, torch.tensor(uniform_times(8)))
        monkeypatch.setattr(model_module, "EDGE_ROWS_PER_CHUNK", 3 * batch.edge_index.shape[1])
        chunked = model(batch, torch.tensor(uniform_times(8)))  # chunks of 3, 3, 2 time points
    torch.testing.assert_close(chunked, whole, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("name", ALL)
def test_inference_path_equals_the_autograd_path(name):
    """Without autograd the activations work in place and EGNO runs in time chunks; the
    prediction must be the one the training-mode forward gives (nothing read after overwriting)."""
    batch, model = make_batch(n_samples=3), make_model(name)
    t = torch.tensor(uniform_times(5))
    recorded = model(batch, t)
    with torch.inference_mode():
        fast = model(batch, t)
    torch.testing.assert_close(fast, recorded.detach(), atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("name", ("egno", "egnn-r"))
def test_gradients_match_finite_differences(name):
    """The EGNN layer forms its edge pre-activations in place (training speed): autograd's
    gradients through it, to positions, velocities, edge features and weights, must still equal
    central finite differences (float64, a small model, P = 3 time copies in one graph)."""
    from torch.func import functional_call

    torch.manual_seed(0)
    mc, _ = preset("nbody", name)
    model = build_model(replace(mc, hidden=8, layers=2, time_emb_dim=4)).double()
    for p in model.parameters():
        p.data += 0.1 * torch.randn_like(p)
    batch = make_batch(n_samples=2, timesteps=3)
    prefix = "layers.0" if name == "egno" else "step.layers.0"
    names = [f"{prefix}.edge_src.weight", f"{prefix}.edge_rest.weight", f"{prefix}.edge_out.1.weight"]
    weights = tuple(dict(model.named_parameters())[n].detach().clone().requires_grad_() for n in names)

    def out(x, v, attr, *w):
        return functional_call(model, dict(zip(names, w)), (replace(batch, x=x, v=v, edge_attr=attr),))

    inputs = tuple(a.detach().clone().requires_grad_() for a in (batch.x, batch.v, batch.edge_attr))
    assert torch.autograd.gradcheck(out, inputs + weights, eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("name", UP_MODELS)
@pytest.mark.parametrize("reflect", [False, True])
def test_up_vector_models_are_equivariant_when_up_turns_with_the_input(name, reflect):
    """A motion model reads gravity's direction as an input vector: turning the body and the up
    vector together turns the prediction (exactly), and so does turning the body about up alone
    (a yaw leaves gravity where it is). Turning the body but not up is a different input: the
    model must see it (it does use gravity), which this test would catch if up were ignored."""
    batch, model = with_up(make_batch()), make_up_model(name)
    R = random_orthogonal(7 + reflect, reflect=reflect)
    shift = torch.tensor([1.0, 2.0, -3.0], dtype=torch.float64)
    with torch.no_grad():
        out = model(batch)
        assert out.isfinite().all() and (out - batch.x).abs().max() > 0.1
        torch.testing.assert_close(model(transformed(batch, R, shift)), out @ R.T + shift,
                                   atol=1e-9, rtol=1e-9)
        ignored = (model(transformed(batch, R, turn_up=False)) - out @ R.T).abs().max()
        one = replace(batch, up=torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64).expand(
            batch.x.shape[0], 3))
        yaw = torch.tensor([[0.6, 0.0, 0.8], [0.0, 1.0, 0.0], [-0.8, 0.0, 0.6]], dtype=torch.float64)
        torch.testing.assert_close(model(transformed(one, yaw, turn_up=False)), model(one) @ yaw.T,
                                   atol=1e-9, rtol=1e-9)
    assert ignored > 1e-3, f"{name} gave the same prediction whatever the up vector ({ignored})"


def test_up_vector_model_needs_samples_with_up():
    with pytest.raises(ValueError, match="up \\(gravity\\) direction"):
        make_up_model("egno")(make_batch())


def test_motion_preset_gives_up_to_the_equivariant_models_only():
    assert all(preset("mocap", m)[0].up_vector for m in UP_MODELS)
    assert not any(preset("mocap", m)[0].up_vector for m in ("gnn", "linear"))
    assert not preset("nbody", "egno")[0].up_vector


def test_untrained_egno_starts_as_the_one_shot_egnn():
    """Vector temporal mixing starts at identity (vector_conv_init 'zero'): with the scalar mixing
    also zero, EGNO is exactly egnn with the same EGNN weights; 'random' is not."""
    mc, _ = preset("nbody", "egno")
    batch = make_batch(timesteps=mc.timesteps)
    torch.manual_seed(0)
    egno = build_model(mc).double().eval()
    for conv in egno.h_convs:
        torch.nn.init.zeros_(conv.mix.weight)
    egnn = build_model(replace(mc, model="egnn", time_conv=False)).double().eval()
    missing = egnn.load_state_dict(egno.state_dict(), strict=False)
    assert not missing.missing_keys
    with torch.no_grad():
        torch.testing.assert_close(egno(batch), egnn(batch), rtol=0, atol=1e-12)  # x - com + com
        egno_random = build_model(replace(mc, vector_conv_init="random")).double().eval()
        egno_random.load_state_dict(egno.state_dict(), strict=False)
        for conv in egno_random.x_convs:
            torch.nn.init.uniform_(conv.mix.weight, 0.0, 0.25)
        assert (egno_random(batch) - egnn(batch)).abs().max() > 1e-3
