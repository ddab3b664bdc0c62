"""Gradients you can check (notebook 05): a tiny scalar autograd engine (``Value``), finite
differences, a drawn computational graph, per-layer gradient norms of deep networks, and the
gradient-norm explorer.

The numerical parts are pure; the drawing functions return a Figure;
``GradientNormExplorer`` is the thin widget shell around ``gradient_norm_figure``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from torch import nn

from course_utils import models
from course_utils.widgets import Explorer

# --------------------------------------------------------------------------- a tiny autograd engine


class Value:
    """A scalar that remembers how it was computed: the smallest possible autograd engine.

    Every operation returns a new ``Value`` that knows its inputs (``parents``) and a
    ``_backward`` closure that adds its share of the gradient to them. ``backward()`` visits
    the graph in reverse topological order, so a node passes its gradient on only after every
    use of it has added its part (a value used twice collects both: gradients add at a fork).
    """

    def __init__(self, data: float, parents: tuple[Value, ...] = (), op: str = "", label: str = "") -> None:
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise ValueError(f"a Value holds one Python number (int or float); got {type(data).__name__}. "
                             "For a 0-d tensor use Value(t.item()).")
        self.data = float(data)
        self.grad = 0.0
        self.parents = parents
        self.op = op
        self.label = label
        self._backward: Callable[[], None] = lambda: None

    @property
    def name(self) -> str:
        """The label of a leaf, the operation of a computed node, or the number of a constant."""
        return self.label or self.op or f"{self.data:g}"

    def __repr__(self) -> str:
        name = f"{self.label}=" if self.label else ""
        return f"Value({name}{self.data:.4g}, grad={self.grad:.4g})"

    @staticmethod
    def lift(other: Value | float) -> Value:
        return other if isinstance(other, Value) else Value(other)

    def __add__(self, other: Value | float) -> Value:
        other = Value.lift(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward() -> None:
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other: Value | float) -> Value:
        other = Value.lift(other)
        out = Value(self.data * other.data, (self, other), "*")
        out._backward = lambda: mul_backward(self, other, out)
        return out

    def __pow__(self, power: float) -> Value:
        if isinstance(power, bool) or not isinstance(power, int | float):
            raise ValueError("Value ** k needs a plain number k (the engine has no Value ** Value).")
        out = Value(self.data**power, (self,), f"**{power:g}")

        def _backward() -> None:
            self.grad += power * self.data ** (power - 1) * out.grad

        out._backward = _backward
        return out

    def __neg__(self) -> Value:
        return self._unary(-self.data, -1.0, "neg")

    def __sub__(self, other: Value | float) -> Value:
        other = Value.lift(other)
        out = Value(self.data - other.data, (self, other), "-")

        def _backward() -> None:
            self.grad += out.grad
            other.grad -= out.grad

        out._backward = _backward
        return out

    def __truediv__(self, other: Value | float) -> Value:
        return self * Value.lift(other) ** -1

    __radd__ = __add__
    __rmul__ = __mul__

    def __rsub__(self, other: float) -> Value:
        return Value.lift(other) - self

    def __rtruediv__(self, other: float) -> Value:
        return Value.lift(other) / self

    def _unary(self, data: float, local: float, op: str) -> Value:
        out = Value(data, (self,), op)

        def _backward() -> None:
            self.grad += local * out.grad

        out._backward = _backward
        return out

    def exp(self) -> Value:
        e = math.exp(self.data)
        return self._unary(e, e, "exp")

    def log(self) -> Value:
        if self.data <= 0:
            raise ValueError(f"log needs a positive number; got {self.data}.")
        return self._unary(math.log(self.data), 1.0 / self.data, "log")

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        return self._unary(t, 1.0 - t * t, "tanh")

    def sigmoid(self) -> Value:
        s = 1.0 / (1.0 + math.exp(-self.data)) if self.data >= 0 else math.exp(self.data) / (1.0 + math.exp(self.data))
        return self._unary(s, s * (1.0 - s), "sigmoid")

    def relu(self) -> Value:
        return self._unary(max(self.data, 0.0), 1.0 if self.data > 0 else 0.0, "relu")

    def backward(self) -> list[Value]:
        """Fill ``.grad`` of every node with d(self)/d(node); return the nodes in the order visited.

        Gradients are reset first, so calling it twice gives the same result (unlike PyTorch,
        whose ``.grad`` accumulates across calls).
        """
        order = topological_order(self)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            node._backward()
        return list(reversed(order))


def mul_backward(a: Value, b: Value, out: Value) -> None:
    """The backward step of ``out = a * b``: d out/da = b, d out/db = a, each times ``out.grad``, ADDED."""
    a.grad += b.data * out.grad
    b.grad += a.data * out.grad


def topological_order(root: Value) -> list[Value]:
    """Every node of ``root``'s graph, each after all of its inputs (depth-first, post-order)."""
    if not isinstance(root, Value):
        raise ValueError(f"topological_order needs a Value; got {type(root).__name__}.")
    order: list[Value] = []
    seen: set[int] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:  # iterative, so that long chains do not hit Python's recursion limit
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((parent, False) for parent in reversed(node.parents) if id(parent) not in seen)
    return order


# --------------------------------------------------------------------------- finite differences


def numerical_gradient(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Central differences (f(x + eps·e_i) - f(x - eps·e_i)) / (2·eps) for every entry i of ``x``.

    ``f`` maps a tensor shaped like ``x`` to a scalar. ``x`` is not modified. Use
    float64: in float32 the rounding error of f (about 1e-7 relative) divided by
    2·eps swamps the result.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"numerical_gradient: x must be a torch.Tensor; got {type(x).__name__}.")
    if x.dtype != torch.float64:
        raise TypeError(
            f"numerical_gradient: x is {x.dtype}; finite differences need float64 to be accurate. "
            "Convert your parameters and data with .double() first."
        )
    if not eps > 0:
        raise ValueError(f"numerical_gradient: eps must be positive; got {eps!r}.")
    point = x.detach().clone()
    flat = point.view(-1)
    gradient = torch.zeros_like(flat)
    with torch.no_grad():
        for i in range(flat.numel()):
            original = flat[i].item()
            flat[i] = original + eps
            up = f(point)
            flat[i] = original - eps
            down = f(point)
            flat[i] = original
            if up.numel() != 1:
                raise ValueError(f"numerical_gradient: f must return a scalar; got shape {tuple(up.shape)}.")
            gradient[i] = (up.item() - down.item()) / (2 * eps)
    return gradient.view_as(x)


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a - b| / max(max |a|, max |b|, 1e-12): a scale-free way to compare two gradients."""
    if a.shape != b.shape:
        raise ValueError(f"relative_error: shapes differ, {tuple(a.shape)} vs {tuple(b.shape)}.")
    a, b = a.detach().double(), b.detach().double()
    scale = max(a.abs().max().item(), b.abs().max().item(), 1e-12) if a.numel() else 1.0
    return (a - b).abs().max().item() / scale if a.numel() else 0.0


# --------------------------------------------------------------------------- a computational graph, drawn


@dataclass(frozen=True)
class GraphNode:
    """One node of a small computational graph: its name, the operation, the forward value, ∂L/∂node."""

    key: str
    label: str
    value: float
    grad: float | None = None


def graph_layout(keys: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, tuple[float, float]]:
    """Columns by longest path from the inputs; rows spread evenly inside a column."""
    known = set(keys)
    for a, b in edges:
        if a not in known or b not in known:
            raise ValueError(f"edge ({a!r}, {b!r}) names a node that is not in the graph {sorted(known)}.")
    column = {k: 0 for k in keys}
    for _ in range(len(keys)):  # longest path by relaxation (graphs here are tiny and acyclic)
        changed = False
        for a, b in edges:
            if column[b] < column[a] + 1:
                column[b] = column[a] + 1
                changed = True
        if not changed:
            break
    else:
        raise ValueError("the graph has a cycle: a computational graph must be acyclic.")
    has_input = {b for _, b in edges}
    for k in keys:  # an input sits just before its first consumer, so no arrow jumps over a column
        consumers = [column[b] for a, b in edges if a == k]
        if k not in has_input and consumers:
            column[k] = min(consumers) - 1
    positions = {}
    for c in set(column.values()):
        members = [k for k in keys if column[k] == c]
        for row, k in enumerate(members):
            positions[k] = (float(c), (len(members) - 1) / 2 - row)
    return positions


def draw_graph(nodes: Sequence[GraphNode], edges: Sequence[tuple[str, str]], *, title: str | None = None,
               figsize: tuple[float, float] = (9.0, 3.2)) -> Figure:
    """Boxes for the nodes, arrows for the edges; forward values in black, gradients ∂L/∂node in red."""
    if not nodes:
        raise ValueError("draw_graph got no nodes.")
    keys = [n.key for n in nodes]
    if len(set(keys)) != len(keys):
        raise ValueError(f"node keys must be unique; got {keys}.")
    xy = graph_layout(keys, edges)
    scale_x, scale_y = 1.6, 1.25
    fig, ax = plt.subplots(figsize=figsize)
    for a, b in edges:
        (xa, ya), (xb, yb) = xy[a], xy[b]
        ax.annotate("", xy=(xb * scale_x - 0.45, yb * scale_y), xytext=(xa * scale_x + 0.45, ya * scale_y),
                    arrowprops={"arrowstyle": "->", "color": "0.4", "lw": 1.2})
    for node in nodes:
        x, y = xy[node.key]
        x, y = x * scale_x, y * scale_y
        ax.text(x, y, f"{node.label}\n= {node.value:.4f}", ha="center", va="center", fontsize=8.5,
                bbox={"boxstyle": "round,pad=0.35", "facecolor": "#eef3fb", "edgecolor": "#4a6fa5"})
        if node.grad is not None:
            ax.text(x, y - 0.52, f"∂L/∂{node.key} = {node.grad:.4f}", ha="center", va="top", fontsize=8,
                    color="#b22222")
    xs = [p[0] * scale_x for p in xy.values()]
    ys = [p[1] * scale_y for p in xy.values()]
    ax.set_xlim(min(xs) - 0.8, max(xs) + 0.8)
    ax.set_ylim(min(ys) - 1.0, max(ys) + 0.6)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- per-layer gradient norms

ACTIVATIONS: dict[str, type[nn.Module]] = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


def deep_mlp(depth: int, activation: str, *, width: int = 64, in_features: int = 64, out_features: int = 10,
             gain: float = math.sqrt(2.0), seed: int = 0) -> nn.Sequential:
    """``depth`` hidden Linear+activation blocks, then a Linear output layer.

    Hidden weights are drawn from N(0, gain²/fan_in) and biases are 0
    (gain √2 is He/Kaiming initialisation for ReLU). The global random state is untouched.
    """
    if not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth must be a positive int; got {depth!r}.")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}; got {activation!r}.")
    if not gain > 0:
        raise ValueError(f"gain must be positive; got {gain!r}.")
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # nn.Linear's default init draws from the global generator
        model = models.mlp([in_features, *[width] * depth, out_features], activation, allowed=tuple(ACTIVATIONS))
    linears = [layer for layer in model if isinstance(layer, nn.Linear)]
    with torch.no_grad():
        for layer in linears:
            std = (gain if layer is not linears[-1] else 1.0) / math.sqrt(layer.in_features)
            layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator) * std)
            layer.bias.zero_()
    return model


def layer_grad_norms(model: nn.Module) -> list[float]:
    """The norm of each ``nn.Linear`` weight gradient, from the input side to the output side."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError("layer_grad_norms: the model has no nn.Linear layers.")
    norms = []
    for number, layer in enumerate(linears, start=1):
        if layer.weight.grad is None:
            raise ValueError(f"layer {number} has no gradient yet: run loss.backward() first.")
        norms.append(layer.weight.grad.norm().item())
    return norms


def gradient_norms(activation: str, depth: int, X: torch.Tensor, y: torch.Tensor, *, gain: float = math.sqrt(2.0),
                   width: int = 64, seed: int = 0) -> list[float]:
    """Per-layer weight-gradient norms of a fresh ``deep_mlp`` after one cross-entropy backward pass on (X, y)."""
    if X.dim() != 2 or y.dim() != 1 or len(X) != len(y):
        raise ValueError(f"X must be (N, features) and y (N,); got {tuple(X.shape)} and {tuple(y.shape)}.")
    model = deep_mlp(depth, activation, width=width, in_features=X.shape[1],
                     out_features=int(y.max()) + 1, gain=gain, seed=seed)
    loss = nn.functional.cross_entropy(model(X), y)
    loss.backward()
    return layer_grad_norms(model)


def gradient_norm_figure(
    curves: Mapping[str, Sequence[float]], *, title: str | None = None, figsize: tuple[float, float] = (7.0, 3.4)
) -> Figure:
    """One line per network: gradient norm (log scale) against the layer number (1 = input side)."""
    if not curves:
        raise ValueError("gradient_norm_figure got no curves: pass e.g. {'sigmoid': [...], 'relu': [...]}.")
    fig, ax = plt.subplots(figsize=figsize)
    for name, norms in curves.items():
        values = [max(float(v), 1e-30) for v in norms]
        ax.plot(range(1, len(values) + 1), values, marker="o", ms=3, label=name)
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("layer (1 = next to the input, last = output layer)")
    ax.set_ylabel("‖∂L/∂W‖ (log scale)")
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def spread(norms: Sequence[float]) -> float:
    """How many times larger the output-side gradient norm is than the input-side one (last / first)."""
    if len(norms) < 2:
        raise ValueError("spread needs the norms of at least two layers.")
    return float(norms[-1]) / max(float(norms[0]), 1e-300)


# --------------------------------------------------------------------------- the widget shell


class GradientNormExplorer(Explorer):
    """Depth, activation and init gain controls over ``gradient_norm_figure`` for a fixed batch (X, y).

    State for tests: ``redraws``, ``status.value``, ``norms`` (of the current setting).
    """

    description = "activation, depth and init gain of a deep network"

    def __init__(self, X: torch.Tensor, y: torch.Tensor, *, depth: int = 20, activation: str = "sigmoid",
                 gain: float = math.sqrt(2.0)):
        import ipywidgets as w

        self.X, self.y = X, y
        self.activation = w.Dropdown(options=list(ACTIVATIONS), value=activation, description="activation")
        self.depth = w.IntSlider(value=depth, min=2, max=40, description="depth", continuous_update=False)
        self.gain = w.FloatLogSlider(value=gain, base=10, min=-0.5, max=0.6, step=0.05, description="init gain",
                                     readout_format=".2f", continuous_update=False)
        self.norms: list[float] = []
        self.start((self.activation, self.depth), self.gain)

    def _summary(self) -> str:
        return (
            f"{self.activation.value}, depth {self.depth.value}, gain {self.gain.value:.2f}: "
            f"last layer / first layer = {spread(self.norms):.3g}"
        )

    def figure(self) -> Figure:
        """Recompute ``norms`` for the current controls and plot them."""
        self.norms = gradient_norms(self.activation.value, self.depth.value, self.X, self.y, gain=self.gain.value)
        label = f"{self.activation.value}, gain {self.gain.value:.2f}"
        return gradient_norm_figure({label: self.norms}, title=self._summary())

    def on_redraw(self) -> None:
        self.status.value = self._summary()
