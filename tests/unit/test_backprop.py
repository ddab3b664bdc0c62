"""course_utils.topics.backprop: the tiny autograd engine, finite differences, the graph drawing, per-layer gradient norms and their explorer."""

import math

import matplotlib.pyplot as plt
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from course_utils.topics import backprop


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 6))
def test_numerical_gradient_matches_autograd(seed, n):
    gen = torch.Generator().manual_seed(seed)
    A = torch.randn(n, n, generator=gen, dtype=torch.float64)
    x = torch.randn(n, generator=gen, dtype=torch.float64)

    def f(v):
        return torch.sin(v) @ A @ v + (v**3).sum()

    leaf = x.clone().requires_grad_(True)
    f(leaf).backward()
    numerical = backprop.numerical_gradient(f, x)
    assert torch.allclose(numerical, leaf.grad, atol=1e-6)


def test_numerical_gradient_leaves_its_input_alone():
    x = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
    before = x.clone()
    grad = backprop.numerical_gradient(lambda v: (v**2).sum(), x)
    assert torch.equal(x, before)
    assert torch.allclose(grad, 2 * x)


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: backprop.numerical_gradient(lambda v: v.sum(), torch.ones(3)), TypeError, "float64"),
        (lambda: backprop.numerical_gradient(lambda v: v, torch.ones(3, dtype=torch.float64)), ValueError,
         "scalar"),
        (lambda: backprop.numerical_gradient(lambda v: v.sum(), [1.0]), TypeError, "torch.Tensor"),
        (lambda: backprop.numerical_gradient(lambda v: v.sum(), torch.ones(1, dtype=torch.float64), eps=0),
         ValueError, "eps"),
        (lambda: backprop.relative_error(torch.ones(2), torch.ones(3)), ValueError, "shapes differ"),
        (lambda: backprop.graph_layout(["a"], [("a", "b")]), ValueError, "not in the graph"),
        (lambda: backprop.graph_layout(["a", "b"], [("a", "b"), ("b", "a")]), ValueError, "cycle"),
        (lambda: backprop.draw_graph([], []), ValueError, "no nodes"),
        (lambda: backprop.draw_graph([backprop.GraphNode("a", "a", 1.0)] * 2, []), ValueError, "unique"),
        (lambda: backprop.deep_mlp(0, "relu"), ValueError, "depth"),
        (lambda: backprop.deep_mlp(2, "gelu"), ValueError, "sigmoid, tanh, relu"),
        (lambda: backprop.deep_mlp(2, "relu", gain=0), ValueError, "gain"),
        (lambda: backprop.layer_grad_norms(nn.ReLU()), ValueError, "no nn.Linear"),
        (lambda: backprop.layer_grad_norms(nn.Linear(2, 2)), ValueError, "backward"),
        (lambda: backprop.gradient_norms("relu", 2, torch.ones(4), torch.zeros(4, dtype=torch.int64)), ValueError,
         "(N, features)"),
        (lambda: backprop.gradient_norm_figure({}), ValueError, "no curves"),
        (lambda: backprop.spread([1.0]), ValueError, "two layers"),
    ],
)
def test_bad_input_gets_a_clear_error(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)


def test_relative_error():
    assert backprop.relative_error(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])) == 0.0
    assert backprop.relative_error(torch.tensor([1.0, 2.2]), torch.tensor([1.0, 2.0])) == pytest.approx(0.2 / 2.2)


def test_layout_puts_each_input_just_before_its_consumer():
    edges = [("x", "u"), ("w", "u"), ("u", "z"), ("b", "z"), ("z", "L")]
    xy = backprop.graph_layout(["x", "w", "u", "b", "z", "L"], edges)
    assert xy["x"][0] == xy["w"][0] == 0.0
    assert xy["u"][0] == xy["b"][0] == 1.0  # b feeds z (column 2), so it sits in column 1
    assert xy["z"][0] == 2.0 and xy["L"][0] == 3.0
    assert xy["x"][1] != xy["w"][1]


def test_draw_graph_shows_values_and_gradients():
    nodes = [backprop.GraphNode("w", "w", 0.8, -0.2207), backprop.GraphNode("L", "L = w²", 0.64, 1.0)]
    fig = backprop.draw_graph(nodes, [("w", "L")], title="tiny")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "w\n= 0.8000" in texts and "∂L/∂w = -0.2207" in texts
    assert fig.axes[0].get_title() == "tiny"
    plt.close(fig)


def test_deep_mlp_shape_init_and_random_state():
    state = torch.random.get_rng_state()
    model = backprop.deep_mlp(3, "tanh", width=200, gain=2.0, seed=1)
    assert torch.equal(state, torch.random.get_rng_state())  # the global generator was not used
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert len(linears) == 4 and isinstance(model[1], nn.Tanh)
    assert linears[1].weight.std().item() == pytest.approx(2.0 / math.sqrt(200), rel=0.05)
    assert linears[-1].weight.std().item() == pytest.approx(1.0 / math.sqrt(200), rel=0.1)
    assert all((m.bias == 0).all() for m in linears)
    again = backprop.deep_mlp(3, "tanh", width=200, gain=2.0, seed=1)
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), again.parameters(), strict=True))


def _toy_batch():
    gen = torch.Generator().manual_seed(0)
    return torch.rand(64, 16, generator=gen), torch.randint(0, 4, (64,), generator=gen)


def test_gradient_norms_show_vanishing_for_sigmoid_and_not_for_relu_with_he_init():
    X, y = _toy_batch()
    sigmoid = backprop.gradient_norms("sigmoid", 12, X, y, width=32)
    relu = backprop.gradient_norms("relu", 12, X, y, width=32)
    assert len(sigmoid) == len(relu) == 13
    assert backprop.spread(sigmoid) > 1e4
    assert backprop.spread(relu) < 20
    assert backprop.gradient_norms("relu", 12, X, y, width=32) == relu  # deterministic


def test_gradient_norm_figure_uses_a_log_scale():
    fig = backprop.gradient_norm_figure({"a": [1e-8, 1e-4, 1.0], "b": [0.0, 1.0, 1.0]}, title="t")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and len(ax.lines) == 2 and ax.get_title() == "t"
    plt.close(fig)


def test_gradient_norm_explorer_redraws_when_a_control_moves(capsys):
    X, y = _toy_batch()
    explorer = backprop.GradientNormExplorer(X, y, depth=5, activation="relu")
    assert explorer.show() is None
    capsys.readouterr()
    assert len(explorer.norms) == 6 and explorer.redraws == 0
    explorer.depth.value = 8
    assert len(explorer.norms) == 9 and explorer.redraws == 1
    assert explorer.status.value.startswith("relu, depth 8, gain 1.41")
    explorer.activation.value = "sigmoid"
    assert explorer.redraws == 2
    assert explorer.live.fig.axes[0].get_title().startswith("sigmoid, depth 8")
    plt.close("all")


# --------------------------------------------------------------------------- the tiny autograd engine


def test_engine_matches_torch_autograd_on_a_small_expression():
    a, b, c = backprop.Value(0.7), backprop.Value(-1.3), backprop.Value(2.0)
    out = ((a * b + c).tanh() * a - (b / c).exp() + (a ** 2).sigmoid() + (c.log() * b).relu()) * 1.5
    out.backward()
    ta, tb, tc = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (0.7, -1.3, 2.0))
    t_out = (torch.tanh(ta * tb + tc) * ta - torch.exp(tb / tc) + torch.sigmoid(ta**2)
             + torch.relu(torch.log(tc) * tb)) * 1.5
    t_out.backward()
    assert out.data == pytest.approx(t_out.item(), abs=1e-12)
    for v, t in ((a, ta), (b, tb), (c, tc)):
        assert v.grad == pytest.approx(t.grad.item(), abs=1e-12)


def test_engine_adds_gradients_at_a_fork_and_backward_is_repeatable():
    x = backprop.Value(3.0)
    y = x * x + x  # x is used three times
    y.backward()
    assert x.grad == pytest.approx(7.0)
    y.backward()  # the engine resets before each pass
    assert x.grad == pytest.approx(7.0)


def test_topological_order_puts_every_node_after_its_inputs():
    a, b = backprop.Value(1.0, label="a"), backprop.Value(2.0, label="b")
    out = (a * b) + a
    order = backprop.topological_order(out)
    position = {id(node): i for i, node in enumerate(order)}
    assert order[-1] is out and len(order) == 4
    for node in order:
        assert all(position[id(p)] < position[id(node)] for p in node.parents)


def test_long_chain_needs_no_recursion():
    x = backprop.Value(1.0)
    y = x
    for _ in range(5000):
        y = y + 0.0
    y.backward()
    assert x.grad == 1.0


@pytest.mark.parametrize("bad", [torch.tensor(1.0), "1", True, [1.0]])
def test_value_rejects_non_numbers_with_a_sentence(bad):
    with pytest.raises(ValueError, match="one Python number"):
        backprop.Value(bad)


def test_engine_rejects_bad_operands_with_a_sentence():
    with pytest.raises(ValueError, match="plain number"):
        backprop.Value(2.0) ** backprop.Value(2.0)
    with pytest.raises(ValueError, match="positive"):
        backprop.Value(-1.0).log()
    with pytest.raises(ValueError, match="needs a Value"):
        backprop.topological_order(1.0)
