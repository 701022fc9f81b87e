"""Any-resolution training (TrainConfig.time_sampling): the random-time path is the fixed path
when it draws the fixed grid."""
from __future__ import annotations

import copy

import pytest
import torch

from egno import get_dataset, preset
from egno.data import collate
from egno.run.train import make_optimizer, sample_times, time_subset, train_step
from egno.nn.zoo import build_model


@pytest.mark.parametrize("model", ["egno", "egnn"])
def test_random_time_path_equals_fixed_path_on_the_fixed_grid(tiny_nbody, model):
    family = get_dataset("nbody", tiny_nbody)
    fine, fixed = family.load("train", 10), family.load("train", 5)
    index = torch.arange(8)
    sub = time_subset(collate(fine, index), torch.tensor([1, 3, 5, 7, 9]))  # the P = 5 grid
    ref = collate(fixed, index)
    torch.testing.assert_close(sub.t, ref.t)
    torch.testing.assert_close(sub.target, ref.target)
    mc, tc = preset("nbody", model)
    mc.hidden, mc.layers = 16, 2
    torch.manual_seed(0)
    a = build_model(mc)
    b = copy.deepcopy(a)
    loss_a = train_step(a, make_optimizer(list(a.parameters()), tc), sub, tc.grad_clip)
    loss_b = train_step(b, make_optimizer(list(b.parameters()), tc), ref, tc.grad_clip)
    torch.testing.assert_close(loss_a, loss_b)
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q)


def test_sampled_times_are_uniform_grids_or_sorted_points_ending_at_the_window():
    g = torch.Generator().manual_seed(0)
    seen = set()
    for _ in range(50):
        index = sample_times(10, "random-p", 5, g)
        p = len(index)
        assert 10 % p == 0 and index.tolist() == [(10 // p) * (k + 1) - 1 for k in range(p)]
        seen.add(p)
        points = sample_times(10, "random-points", 5, g)
        assert len(points) == 5 and points[-1] == 9 and (points.diff() > 0).all()
    assert seen == {1, 2, 5, 10}
