"""Tests for course_utils.topics.initialization: deep stacks, init schemes, per-layer statistics, figures, explorer."""

import math

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

from course_utils.topics import initialization


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_deep_mlp_structure():
    stack = initialization.deep_mlp(3, 8, activation="tanh")
    assert [type(m) for m in stack] == [nn.Linear, nn.Tanh] * 3
    clf = initialization.deep_mlp(3, 8, in_features=5, out_features=2, activation="relu")
    assert [type(m) for m in clf] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    assert clf[0].in_features == 5 and clf[-1].out_features == 2
    assert clf(torch.randn(4, 5)).shape == (4, 2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"depth": 0, "width": 8}, "depth must be a positive int"),
     ({"depth": 2, "width": 2.5}, "width must be a positive int"),
     ({"depth": 2, "width": 8, "activation": "gelu"}, "activation must be one of"),
     ({"depth": 2, "width": 8, "out_features": 0}, "out_features")],
)
def test_deep_mlp_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        initialization.deep_mlp(**kwargs)


def test_schemes_give_the_documented_weights():
    net = initialization.deep_mlp(2, 400, in_features=300)
    first = net[0]

    initialization.initialise_(net, "zeros")
    assert first.weight.abs().max() == 0 and first.bias.abs().max() == 0
    initialization.initialise_(net, "constant", value=0.3)
    assert torch.all(first.weight == 0.3) and torch.all(first.bias == 0)
    initialization.initialise_(net, "normal", std=0.02, generator=_gen())
    assert first.weight.std().item() == pytest.approx(0.02, rel=0.02)
    initialization.initialise_(net, "uniform01", generator=_gen())
    assert first.weight.min() >= 0 and first.weight.max() < 1
    initialization.initialise_(net, "he", generator=_gen())
    assert first.weight.std().item() == pytest.approx(math.sqrt(2 / 300), rel=0.02)
    initialization.initialise_(net, "xavier", generator=_gen())
    assert first.weight.std().item() == pytest.approx(math.sqrt(2 / 700), rel=0.02)
    initialization.initialise_(net, "orthogonal", generator=_gen())
    w = first.weight.detach()  # (400, 300): orthonormal columns
    assert torch.allclose(w.T @ w, torch.eye(300), atol=1e-4)
    initialization.initialise_(net, "default", generator=_gen())
    bound = 1 / math.sqrt(300)
    assert first.weight.abs().max() <= bound and first.weight.abs().max() > 0.99 * bound
    assert first.bias.abs().max() <= bound and first.bias.abs().max() > 0


def test_default_scheme_matches_what_nn_linear_does():
    ours = initialization.initialise_(nn.Sequential(nn.Linear(200, 300)), "default", generator=_gen())[0].weight
    theirs = nn.Linear(200, 300).weight
    summary = initialization.distribution_summary
    assert torch.allclose(summary(ours), summary(theirs), atol=3e-3)


def test_initialise_bad_input():
    with pytest.raises(ValueError, match="scheme must be one of"):
        initialization.initialise_(initialization.deep_mlp(2, 4), "lecun")
    with pytest.raises(ValueError, match="std must be positive"):
        initialization.initialise_(initialization.deep_mlp(2, 4), "normal", std=0)
    with pytest.raises(ValueError, match="no nn.Linear"):
        initialization.initialise_(nn.Sequential(nn.ReLU()), "he")


def test_formula_helpers():
    assert initialization.he_std(256) == pytest.approx(0.0883883, rel=1e-6)
    assert initialization.xavier_std(256, 256) == pytest.approx(0.0625)
    with pytest.raises(ValueError, match="fan_in"):
        initialization.he_std(0)
    with pytest.raises(ValueError, match="fan_out"):
        initialization.xavier_std(3, -1)


def test_distribution_summary():
    s = initialization.distribution_summary(torch.arange(101.0))
    assert s.shape == (7,) and s[0] == 50 and s[4] == 50  # mean and median
    with pytest.raises(ValueError, match="at least two"):
        initialization.distribution_summary(torch.ones(1))
    with pytest.raises(ValueError, match="quantiles"):
        initialization.distribution_summary(torch.ones(5), qs=(1.5,))


def test_layer_stats_shapes_and_clean_grads():
    net = initialization.deep_mlp(4, 16, in_features=8, out_features=3)
    stats = initialization.layer_stats(net, torch.randn(32, 8), torch.randint(0, 3, (32,)), nn.CrossEntropyLoss())
    assert stats.depth == 4 and len(stats.gradient_std) == 4 and len(stats.gradient_norm) == 4
    assert len(stats.samples) == 4 and stats.samples[-1].numel() == 32 * 3
    assert all(p.grad is None for p in net.parameters())


def test_layer_stats_bad_input():
    net = initialization.deep_mlp(2, 4)
    with pytest.raises(TypeError, match="nn.Sequential"):
        initialization.layer_stats(nn.Linear(4, 4), torch.randn(2, 4))
    with pytest.raises(ValueError, match="both y and loss_fn"):
        initialization.layer_stats(net, torch.randn(2, 4), torch.zeros(2))


@pytest.mark.parametrize(
    ("activation", "scheme", "std", "verdict"),
    [("relu", "normal", 0.01, "vanishes"), ("relu", "he", 0.0, "stays in range"),
     ("relu", "uniform01", 0.0, "explodes"), ("tanh", "normal", 1.0, "saturates"),
     ("tanh", "xavier", 0.0, "stays in range")],
)
def test_stack_verdicts(activation, scheme, std, verdict):
    stats = initialization.stack_stats(10, 128, activation, scheme, std=std or 0.01, n_samples=64)
    assert stats.verdict() == verdict


def test_zero_init_gives_zero_weight_gradients():
    stats = initialization.stack_stats(3, 8, "tanh", "zeros", n_samples=4)
    assert stats.gradient_std == [0.0, 0.0, 0.0] and stats.activation_std == [0.0, 0.0, 0.0]
    assert initialization.spread_verdict([0.0, 0.0]) == "vanishes"


def test_spread_verdict_edges():
    assert initialization.spread_verdict([1.0, math.inf]) == "explodes"
    assert initialization.spread_verdict([1.0, 0.5], [0.0, 0.9]) == "saturates"
    with pytest.raises(ValueError, match="at least one"):
        initialization.spread_verdict([])


def test_hidden_unit_spread():
    layer = nn.Linear(3, 4)
    nn.init.constant_(layer.weight, 0.1)
    assert initialization.hidden_unit_spread(layer) == 0
    with torch.no_grad():
        layer.weight[2, 1] = 0.6
    assert initialization.hidden_unit_spread(layer) == pytest.approx(0.5)
    with pytest.raises(TypeError, match="nn.Linear"):
        initialization.hidden_unit_spread(nn.ReLU())


def test_figures():
    runs = {"a": initialization.stack_stats(4, 16, "relu", "he", n_samples=16),
            "b": initialization.stack_stats(4, 16, "relu", "normal", n_samples=16)}
    fig = initialization.std_per_layer_figure(runs, title="t")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert len(initialization.std_per_layer_figure(runs, gradients=False).axes) == 1
    fig = initialization.histogram_figure(runs, layers=[1, 4])
    assert len(fig.axes) == 4
    fig = initialization.activation_spread_figure(5, 32, "relu", 0.25, n_samples=32)
    assert len(fig.axes) == 4  # the std plot and histograms of layers 1, 3 and 5
    assert "He std 0.25" in fig.get_suptitle()
    assert "signal" in fig.axes[0].get_title()
    plt.close("all")


def test_figure_bad_input():
    with pytest.raises(ValueError, match="at least one run"):
        initialization.std_per_layer_figure({})
    runs = {"a": initialization.stack_stats(3, 8, "relu", "he", n_samples=8)}
    with pytest.raises(ValueError, match="layer numbers go from 1 to 3"):
        initialization.histogram_figure(runs, layers=[4])
    with pytest.raises(ValueError, match="std must be positive"):
        initialization.activation_spread_figure(3, 8, "relu", 0.0)


def test_explorer_redraws_when_a_control_changes():
    explorer = initialization.InitExplorer(depth=6, width=32, activation="relu", std=0.01)
    assert "vanishes" in explorer.status.value
    explorer.show()  # outside a kernel the figure is printed, not displayed
    assert explorer.redraws == 0
    explorer.std.value = initialization.he_std(32)
    assert explorer.redraws == 1 and "stays in range" in explorer.status.value
    explorer.activation.value = "tanh"
    explorer.depth.value = 8
    assert explorer.redraws == 3
    assert explorer.fig.axes[0].get_title().startswith("tanh, 8 layers of 32")
    assert explorer.settings()[:3] == (8, 32, "tanh")
    plt.close("all")


def test_forward_backward_std_fan_modes():
    widths = [32, 64, 128, 256]
    fwd_in, bwd_in = initialization.forward_backward_std(widths, "fan_in")
    fwd_out, bwd_out = initialization.forward_backward_std(widths, "fan_out")
    assert len(fwd_in) == len(bwd_in) == 3
    assert fwd_in[-1] / fwd_in[0] > 0.8 and bwd_in[0] / bwd_in[-1] > 1.6  # about sqrt(2)^2 = 2
    assert fwd_out[-1] / fwd_out[0] < 0.6 and 0.8 < bwd_out[0] / bwd_out[-1] < 1.25


@pytest.mark.parametrize(("kwargs", "match"), [({"widths": [8]}, "at least two"), ({"widths": [8, 0]}, "positive"),
                                               ({"widths": [8, 8], "mode": "fan"}, "mode must be")])
def test_forward_backward_std_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        initialization.forward_backward_std(**kwargs)


def test_residual_stream_std_grows_like_sqrt_n():
    plain = initialization.residual_stream_std(16, 128)
    scaled = initialization.residual_stream_std(16, 128, branch_scale=0.25)
    assert len(plain) == 17 and abs(plain[0] - 1) < 0.05
    assert abs(plain[-1] - math.sqrt(17)) < 0.4
    assert abs(scaled[-1] - math.sqrt(2)) < 0.15


@pytest.mark.parametrize(("kwargs", "match"), [({"n_branches": 0}, "positive"),
                                               ({"n_branches": 2, "branch_scale": 0.0}, "branch_scale")])
def test_residual_stream_std_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        initialization.residual_stream_std(**kwargs)


def test_across_input_std_separates_the_bias_part():
    net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    with torch.no_grad():
        net[0].weight.zero_()
        net[0].bias.copy_(torch.tensor([1.0, 2.0, 3.0]))  # the hidden units differ, but not with the input
        net[2].weight.normal_()
    x = torch.randn(50, 4)
    assert initialization.across_input_std(net, x) == [0.0, 0.0]
    assert initialization.layer_stats(net, x).activation_std[0] > 0.5  # the total std counts the biases
    he = initialization.initialise_(initialization.deep_mlp(3, 32, in_features=4), "he", generator=_gen())
    spread = initialization.across_input_std(he, x)
    assert len(spread) == 3 and all(s > 0.1 for s in spread)


def test_across_input_std_bad_input():
    with pytest.raises(TypeError, match="nn.Sequential"):
        initialization.across_input_std(nn.Linear(4, 4), torch.randn(3, 4))
    with pytest.raises(ValueError, match="at least two examples"):
        initialization.across_input_std(nn.Sequential(nn.Linear(4, 4)), torch.randn(1, 4))


def test_seed_none_follows_setup_and_an_explicit_seed_wins():
    from course_utils import runtime

    before = runtime._current
    try:
        runtime._current = None
        base = initialization.stack_stats(3, 16, "tanh", "he", n_samples=8)
        assert base.activation_std == initialization.stack_stats(3, 16, "tanh", "he", n_samples=8, seed=0).activation_std
        runtime._current = type("Info", (), {"seed": 3})()
        moved = initialization.stack_stats(3, 16, "tanh", "he", n_samples=8)
        assert moved.activation_std == initialization.stack_stats(3, 16, "tanh", "he", n_samples=8, seed=3).activation_std
        assert moved.activation_std != base.activation_std
        assert initialization.residual_stream_std(2, 8) == initialization.residual_stream_std(2, 8, seed=3)
    finally:
        runtime._current = before
