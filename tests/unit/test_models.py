"""course_utils.models: the shared activation registry, MLP builder and weight average."""

import copy

import pytest
import torch
from torch import nn

from course_utils import models, runtime


def test_mlp_puts_activations_between_layers_only():
    net = models.mlp([3, 5, 4, 2], "tanh")
    assert [type(m) for m in net] == [nn.Linear, nn.Tanh, nn.Linear, nn.Tanh, nn.Linear]
    assert net(torch.zeros(7, 3)).shape == (7, 2)
    closed = models.mlp([3, 4], "relu", final_activation=True)
    assert [type(m) for m in closed] == [nn.Linear, nn.ReLU]


def test_leaky_relu_has_the_dcgan_slope():
    assert models.activation("leaky_relu").negative_slope == pytest.approx(0.2)


@pytest.mark.parametrize("sizes", [[4], [4, 0], [4, 2.5], []])
def test_mlp_refuses_bad_sizes(sizes):
    with pytest.raises(ValueError, match="at least two positive layer sizes"):
        models.mlp(sizes)


def test_unknown_or_disallowed_activation_names_the_choices():
    with pytest.raises(ValueError, match="'relu'"):
        models.mlp([2, 3], "swish")
    with pytest.raises(ValueError, match="'relu', 'leaky_relu'"):
        models.activation("tanh", allowed=("relu", "leaky_relu"))


def test_seeded_builds_are_reproducible_and_leave_the_global_stream_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    with runtime.seeded(5):
        a = models.mlp([4, 8, 2])
    assert torch.equal(torch.rand(1), before)
    with runtime.seeded(5):
        b = models.mlp([4, 8, 2])
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_moving_average_is_the_exponential_average_of_the_weights():
    net = nn.Linear(3, 2)
    manual = copy.deepcopy(net)
    averaged = models.moving_average(net, decay=0.9)
    for _ in range(5):
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn_like(p))
            for m, p in zip(manual.parameters(), net.parameters(), strict=True):
                m.mul_(0.9).add_(0.1 * p)
        averaged.update_parameters(net)
    for m, a in zip(manual.parameters(), averaged.module.parameters(), strict=True):
        torch.testing.assert_close(a, m)


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.1])
def test_moving_average_refuses_a_decay_outside_0_1(decay):
    with pytest.raises(ValueError, match="decay"):
        models.moving_average(nn.Linear(2, 2), decay)
