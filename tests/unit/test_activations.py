import math

import matplotlib.pyplot as plt
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from torch import nn

from course_utils.topics import activations as A

GRID = torch.linspace(-30.0, 30.0, 2001)
# ReLU, Leaky ReLU and ELU have a kink at 0, where any one-sided slope is a valid derivative and PyTorch's
# vectorised and plain kernels pick different ones: derivatives are compared away from it.
SMOOTH_GRID = GRID[GRID != 0]


@pytest.mark.parametrize("name", A.NAMES)
@pytest.mark.parametrize("param", [None, 0.05, 1.5])
def test_from_scratch_matches_pytorch(name, param):
    act = A.get(name)
    module = act.torch_module(param)
    assert torch.allclose(act(GRID, param), module(GRID), atol=2e-6, rtol=1e-6)


@pytest.mark.parametrize("name", A.NAMES)
def test_hand_derivative_matches_autograd(name):
    act = A.get(name)
    module = act.torch_module(0.2)
    by_autograd = A.autograd_derivative(module, SMOOTH_GRID)
    assert torch.allclose(act.grad(SMOOTH_GRID, 0.2), by_autograd, atol=1e-6)
    # the from-scratch function is differentiable by autograd too, with the same result
    assert torch.allclose(A.autograd_derivative(lambda t: act(t, 0.2), SMOOTH_GRID), by_autograd, atol=2e-6)


def test_from_scratch_functions_stay_finite_far_out():
    x = torch.tensor([-1000.0, -100.0, 100.0, 1000.0])
    for name in A.NAMES:
        act = A.get(name)
        assert torch.isfinite(act(x)).all(), name
        assert torch.isfinite(A.autograd_derivative(lambda t, a=act: a(t), x)).all(), name


def test_known_values():
    assert A.sigmoid(torch.tensor(2.4)).item() == pytest.approx(0.9168, abs=1e-4)
    assert A.leaky_relu(torch.tensor(-2.0), 0.05).item() == pytest.approx(-0.1)
    assert A.relu(torch.tensor([2.0, -3.0])).tolist() == [2.0, 0.0]
    assert A.sigmoid_derivative(torch.tensor(0.0)).item() == pytest.approx(0.25)
    assert A.softmax(torch.tensor([1.2, 3.5, 0.8])).tolist() == pytest.approx([0.0859, 0.8566, 0.0576], abs=1e-4)
    assert A.softmax(torch.tensor([2.0, 1.0, 0.1])).tolist() == pytest.approx([0.659, 0.2424, 0.0986], abs=1e-4)


def test_softmax_is_stable_where_the_naive_one_is_not():
    z = torch.tensor([[1000.0, 1001.0, 1002.0], [-1000.0, -1001.0, -1002.0]])
    assert torch.isnan(A.naive_softmax(z)).any()
    assert torch.allclose(A.softmax(z), torch.softmax(z, dim=-1))
    assert torch.allclose(A.softmax(z, dim=0), torch.softmax(z, dim=0))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-500, 500, allow_nan=False, width=32), min_size=1, max_size=8),
       st.floats(-200, 200, allow_nan=False, width=32))
def test_softmax_properties(values, shift):
    z = torch.tensor(values, dtype=torch.float32)
    p = A.softmax(z)
    assert torch.isfinite(p).all() and (p >= 0).all()
    assert p.sum().item() == pytest.approx(1.0, abs=1e-5)
    assert torch.allclose(A.softmax(z + shift), p, atol=1e-4)  # adding a constant changes nothing
    assert torch.allclose(p, torch.softmax(z, dim=-1), atol=1e-6)


@pytest.mark.parametrize("bad", [torch.tensor([1, 2, 3]), [1.0, 2.0], torch.tensor(1.0)])
def test_softmax_bad_input(bad):
    with pytest.raises((TypeError, ValueError), match="softmax"):
        A.softmax(bad)


def test_get_and_param_validation():
    with pytest.raises(ValueError, match="unknown activation 'swish'.*sigmoid"):
        A.get("swish")
    with pytest.raises(ValueError, match="negative slope must be"):
        A.get("leaky_relu")(torch.zeros(3), -0.5)
    # activations without a parameter ignore it
    assert torch.equal(A.get("relu")(GRID, 5.0), A.relu(GRID))


def test_autograd_derivative_bad_input():
    with pytest.raises(TypeError, match="floating-point"):
        A.autograd_derivative(torch.relu, torch.arange(3))
    with pytest.raises(ValueError, match="element-wise"):
        A.autograd_derivative(lambda t: t.sum(), torch.zeros(3))


def test_compose_linear_equals_the_stack():
    torch.manual_seed(0)
    layers = [nn.Linear(4, 8), nn.Linear(8, 5), nn.Linear(5, 3)]
    merged = A.compose_linear(layers)
    x = torch.randn(50, 4)
    with torch.no_grad():
        assert torch.allclose(merged(x), nn.Sequential(*layers)(x), atol=1e-5)
    assert merged.weight.shape == (3, 4)
    no_bias = A.compose_linear([nn.Linear(2, 3, bias=False), nn.Linear(3, 2, bias=False)])
    assert torch.allclose(no_bias.bias, torch.zeros(2))


@pytest.mark.parametrize(
    ("layers", "error", "message"),
    [([], ValueError, "at least one"), ([nn.Linear(2, 3), nn.ReLU()], TypeError, "activation in between"),
     ([nn.Linear(2, 3), nn.Linear(4, 1)], ValueError, "gives 3 features but layer 1 expects 4")],
)
def test_compose_linear_bad_input(layers, error, message):
    with pytest.raises(error, match=message):
        A.compose_linear(layers)


def test_dead_units():
    pre = torch.tensor([[-1.0, 2.0, 0.0], [-3.0, -1.0, -0.5]])
    assert A.dead_units(pre).tolist() == [True, False, True]
    with pytest.raises(ValueError, match="samples, units"):
        A.dead_units(torch.zeros(3))
    with pytest.raises(ValueError, match="no rows"):
        A.dead_units(torch.zeros(0, 3))


def test_summary_text():
    assert A.summary("relu", -5, 5) == ("relu on [-5.0, 5.0]: gradient from 0.0000 to 1.0000; "
                                        "50% of the range has |gradient| < 0.01")
    assert "negative slope 0.20" in A.summary("leaky_relu", param=0.2)
    with pytest.raises(ValueError, match="x_min < x_max"):
        A.summary("tanh", 3, -3)
    with pytest.raises(ValueError, match="finite"):
        A.summary("tanh", -math.inf, 3)


def test_figures():
    fig = A.activation_figure("tanh", -6, 6)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert fig.axes[0].get_title().startswith("tanh")
    assert "max 1.000" in fig.axes[1].get_title()
    fig = A.activation_figure("elu", param=0.5)
    assert fig._suptitle.get_text() == "alpha = 0.50"
    gallery = A.activation_gallery(["sigmoid", "relu", "gelu", "silu"], ncols=3)
    assert len(gallery.axes) == 6 and [ax.get_title() for ax in gallery.axes[:4]] == ["sigmoid", "relu", "gelu", "silu"]
    with pytest.raises(ValueError, match="at least one"):
        A.activation_gallery([])
    plt.close("all")


def test_explorer_shell_redraws_on_every_control(capsys):
    ex = A.ActivationExplorer(name="sigmoid", x_range=(-5.0, 5.0), param=0.1)
    assert ex.redraws == 0 and ex.status.value.startswith("sigmoid on [-5.0, 5.0]")
    ex.name.value = "relu"
    assert ex.redraws == 1 and ex.fig.axes[0].get_title().startswith("relu")
    assert "50% of the range" in ex.status.value
    ex.x_range.value = (-2.0, 8.0)
    assert ex.redraws == 2 and "[-2.0, 8.0]" in ex.status.value
    ex.name.value = "leaky_relu"
    ex.param.value = 0.3
    assert ex.redraws == 4 and "negative slope 0.30" in ex.status.value
    assert "gradient from 0.3000" in ex.status.value
    ex.param.value = 5.0  # sliders clamp to their range
    assert ex.param.value == 2.0
    with pytest.raises(ValueError, match="unknown activation"):
        A.ActivationExplorer(name="softplus")
    plt.close("all")


def test_explorer_show_displays_controls_and_figure(capsys):
    ex = A.ActivationExplorer()
    ex.show()
    assert ex.live is not None and ex.live.fig is ex.fig
    ex.name.value = "tanh"
    assert ex.redraws == 1 and ex.live.fig is ex.fig
    plt.close("all")


# --------------------------------------------------------------------------- linear pieces of a ReLU network


def test_relu_regions_of_a_one_unit_network_split_at_minus_b_over_w():
    net = nn.Sequential(nn.Linear(1, 1), nn.ReLU(), nn.Linear(1, 1))
    with torch.no_grad():
        net[0].weight.fill_(2.0)
        net[0].bias.fill_(-1.0)  # switches at x = 0.5
    x = torch.tensor([[-1.0], [0.0], [0.49], [0.51], [3.0]])
    assert A.relu_regions(net, x).tolist() == [0, 0, 0, 1, 1]


def test_relu_regions_are_affine_inside_each_piece():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 1))
    points = torch.rand(400, 2) * 4 - 2
    regions = A.relu_regions(net, points)
    x = points.clone().requires_grad_(True)
    net(x).sum().backward()
    for region in regions.unique():
        grads = x.grad[regions == region]
        assert torch.allclose(grads, grads[0].expand_as(grads), atol=1e-6)  # one linear map per piece


def test_linear_regions_figure_counts_pieces_and_rejects_bad_input():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 2))
    X = torch.randn(50, 2)
    fig, count = A.linear_regions_figure(net, X, torch.zeros(50), resolution=60)
    assert 1 <= count <= 11  # 4 lines cut the plane into at most 1 + 4 + 6 = 11 pieces
    assert fig.axes[0].get_title() == f"{count} linear pieces in this window"
    plt.close(fig)
    with pytest.raises(ValueError, match="no nn.ReLU"):
        A.relu_regions(nn.Sequential(nn.Linear(2, 2)), X)
    with pytest.raises(ValueError, match="nn.Sequential"):
        A.relu_regions(nn.Linear(2, 2), X)
    with pytest.raises(ValueError, match="non-empty"):
        A.relu_regions(net, torch.zeros(0, 2))
    with pytest.raises(ValueError, match="2-D points"):
        A.linear_regions_figure(net, torch.zeros(5, 3), torch.zeros(5))
