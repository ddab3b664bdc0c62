"""Activation functions written from scratch, their derivatives, and the figures of notebook 03.

The functions here use only elementary tensor operations (``exp``, ``where``, ``erf``),
so a notebook can compare each one with PyTorch's own version. The derivative
formulas are written out by hand, so they can be checked against autograd.

Layout: pure functions first (activations, derivatives, softmax, helpers such as the
linear pieces of a ReLU network), then the
figure functions (each returns a Figure), then ``ActivationExplorer``, the thin
ipywidgets shell around ``activation_figure``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import nn

from course_utils.widgets import Explorer

# --------------------------------------------------------------------------- activations


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """σ(x) = 1 / (1 + e^(-x)); squashes any number into (0, 1).

    Computed without ever exponentiating a large positive number: with z = e^(-|x|) ≤ 1,
    σ(x) = 1 / (1 + z) for x ≥ 0 and z / (1 + z) for x < 0. (The plain formula gives the
    same values, but its autograd derivative is NaN for x below about -88 in float32.)
    """
    negative = x < 0
    z = torch.exp(torch.where(negative, x, -x))
    return torch.where(negative, z / (1.0 + z), 1.0 / (1.0 + z))


def tanh(x: torch.Tensor) -> torch.Tensor:
    """tanh(x) = (e^x - e^(-x)) / (e^x + e^(-x)), computed as 2σ(2x) - 1.

    The two forms are equal; the second never divides infinity by infinity for large |x|.
    """
    return 2.0 * sigmoid(2.0 * x) - 1.0


def relu(x: torch.Tensor) -> torch.Tensor:
    """ReLU(x) = max(0, x)."""
    return torch.where(x > 0, x, torch.zeros_like(x))


def leaky_relu(x: torch.Tensor, negative_slope: float = 0.01) -> torch.Tensor:
    """LeakyReLU(x) = x for x > 0, negative_slope · x otherwise."""
    return torch.where(x > 0, x, negative_slope * x)


def elu(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """ELU(x) = x for x > 0, α(e^x - 1) otherwise."""
    return torch.where(x > 0, x, alpha * (torch.exp(torch.clamp(x, max=0.0)) - 1.0))


def standard_normal_cdf(x: torch.Tensor) -> torch.Tensor:
    """Φ(x), the probability that a standard normal variable is ≤ x."""
    return 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


def standard_normal_pdf(x: torch.Tensor) -> torch.Tensor:
    """φ(x), the standard normal density."""
    return torch.exp(-0.5 * x**2) / math.sqrt(2.0 * math.pi)


def gelu(x: torch.Tensor) -> torch.Tensor:
    """GELU(x) = x · Φ(x) (the exact form, PyTorch's default ``approximate='none'``)."""
    return x * standard_normal_cdf(x)


def silu(x: torch.Tensor) -> torch.Tensor:
    """SiLU(x) = x · σ(x), also called Swish (it has no trainable parameter)."""
    return x * sigmoid(x)


# --------------------------------------------------------------------------- derivatives (by hand)


def sigmoid_derivative(x: torch.Tensor) -> torch.Tensor:
    """σ'(x) = σ(x)(1 - σ(x)); its largest value is 0.25, at x = 0."""
    s = sigmoid(x)
    return s * (1.0 - s)


def tanh_derivative(x: torch.Tensor) -> torch.Tensor:
    """tanh'(x) = 1 - tanh(x)²."""
    return 1.0 - tanh(x) ** 2


def relu_derivative(x: torch.Tensor) -> torch.Tensor:
    """ReLU'(x) = 1 for x > 0, else 0 (PyTorch also uses 0 at x = 0)."""
    return (x > 0).to(x.dtype)


def leaky_relu_derivative(x: torch.Tensor, negative_slope: float = 0.01) -> torch.Tensor:
    """LeakyReLU'(x) = 1 for x > 0, else negative_slope (PyTorch's choice at x = 0 too)."""
    return torch.where(x > 0, torch.ones_like(x), torch.full_like(x, negative_slope))


def elu_derivative(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """ELU'(x) = 1 for x > 0, else α e^x."""
    return torch.where(x > 0, torch.ones_like(x), alpha * torch.exp(torch.clamp(x, max=0.0)))


def gelu_derivative(x: torch.Tensor) -> torch.Tensor:
    """GELU'(x) = Φ(x) + x φ(x) (product rule)."""
    return standard_normal_cdf(x) + x * standard_normal_pdf(x)


def silu_derivative(x: torch.Tensor) -> torch.Tensor:
    """SiLU'(x) = σ(x) + x σ(x)(1 - σ(x)) (product rule)."""
    s = sigmoid(x)
    return s + x * s * (1.0 - s)


def autograd_derivative(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """The derivative of an element-wise function at every point of ``x``, from autograd.

    For an element-wise ``fn``, d(sum(fn(x)))/dx_i = fn'(x_i), so one backward pass
    gives all the derivatives at once.
    """
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor; got {type(x).__name__} "
                        f"{getattr(x, 'dtype', '')}. Use torch.linspace(...) or .float().")
    point = x.detach().clone().requires_grad_(True)
    out = fn(point)
    if out.shape != point.shape:
        raise ValueError(f"fn must be element-wise (same output shape as input); got {tuple(out.shape)} "
                         f"from {tuple(point.shape)}.")
    (grad,) = torch.autograd.grad(out.sum(), point)
    return grad


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Activation:
    """One activation: from-scratch function, hand-written derivative and PyTorch module.

    ``param`` is the negative slope (Leaky ReLU) or α (ELU); other activations ignore it.
    """

    name: str
    formula: str
    fn: Callable[[torch.Tensor, float], torch.Tensor]
    derivative: Callable[[torch.Tensor, float], torch.Tensor]
    module: Callable[[float], nn.Module]
    param_name: str | None = None
    default_param: float | None = None

    def __call__(self, x: torch.Tensor, param: float | None = None) -> torch.Tensor:
        return self.fn(x, self._param(param))

    def grad(self, x: torch.Tensor, param: float | None = None) -> torch.Tensor:
        """The hand-written derivative."""
        return self.derivative(x, self._param(param))

    def torch_module(self, param: float | None = None) -> nn.Module:
        """PyTorch's module for this activation (with the same parameter)."""
        return self.module(self._param(param))

    def _param(self, param: float | None) -> float:
        if param is None or self.param_name is None:
            return float(self.default_param or 0.0)
        if isinstance(param, bool) or not isinstance(param, int | float) or not math.isfinite(param) or param < 0:
            raise ValueError(f"{self.param_name} must be a finite number ≥ 0; got {param!r}.")
        return float(param)


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("sigmoid", r"$\sigma(x)=\frac{1}{1+e^{-x}}$", lambda x, _: sigmoid(x),
                   lambda x, _: sigmoid_derivative(x), lambda _: nn.Sigmoid()),
        Activation("tanh", r"$\tanh(x)=\frac{e^x-e^{-x}}{e^x+e^{-x}}$", lambda x, _: tanh(x),
                   lambda x, _: tanh_derivative(x), lambda _: nn.Tanh()),
        Activation("relu", r"$\max(0,x)$", lambda x, _: relu(x), lambda x, _: relu_derivative(x),
                   lambda _: nn.ReLU()),
        Activation("leaky_relu", r"$x$ if $x>0$ else $a\,x$", leaky_relu, leaky_relu_derivative,
                   lambda a: nn.LeakyReLU(negative_slope=a), "negative slope", 0.01),
        Activation("elu", r"$x$ if $x>0$ else $\alpha(e^x-1)$", elu, elu_derivative,
                   lambda a: nn.ELU(alpha=a), "alpha", 1.0),
        Activation("gelu", r"$x\,\Phi(x)$", lambda x, _: gelu(x), lambda x, _: gelu_derivative(x),
                   lambda _: nn.GELU()),
        Activation("silu", r"$x\,\sigma(x)$", lambda x, _: silu(x), lambda x, _: silu_derivative(x),
                   lambda _: nn.SiLU()),
    )
}
NAMES = tuple(ACTIVATIONS)


def get(name: str) -> Activation:
    """Look an activation up by name (``sigmoid``, ``tanh``, ``relu``, ``leaky_relu``, ``elu``, ``gelu``, ``silu``)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(NAMES)}.")
    return ACTIVATIONS[name]


# --------------------------------------------------------------------------- softmax


def naive_softmax(z: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """softmax straight from the formula e^(z_i) / Σ_j e^(z_j): overflows for large logits."""
    e = torch.exp(z)
    return e / e.sum(dim=dim, keepdim=True)


def softmax(z: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Numerically stable softmax: subtract the largest logit first.

    softmax(z) = softmax(z - c) for any constant c; with c = max(z) the largest
    exponent is e^0 = 1, so nothing overflows and the sum is at least 1.
    """
    if not isinstance(z, torch.Tensor) or not z.is_floating_point():
        raise TypeError(f"softmax needs a floating-point tensor of logits; got {type(z).__name__} "
                        f"{getattr(z, 'dtype', '')}.")
    if z.dim() == 0:
        raise ValueError("softmax needs at least one dimension to normalise over; got a 0-d tensor.")
    shifted = z - z.amax(dim=dim, keepdim=True)
    e = torch.exp(shifted)
    return e / e.sum(dim=dim, keepdim=True)


# --------------------------------------------------------------------------- helpers for the notebook


def compose_linear(layers: Sequence[nn.Linear]) -> nn.Linear:
    """The single ``nn.Linear`` equal to a stack of linear layers with no activation between them.

    For y = W2(W1 x + b1) + b2: W = W2 W1 and b = W2 b1 + b2, and so on for longer stacks.
    """
    if not layers:
        raise ValueError("compose_linear needs at least one nn.Linear.")
    for i, layer in enumerate(layers):
        if not isinstance(layer, nn.Linear):
            raise TypeError(f"layer {i} is a {type(layer).__name__}; compose_linear only merges nn.Linear layers "
                            "(an activation in between is exactly what prevents the merge).")
    for i, (a, b) in enumerate(zip(layers, layers[1:], strict=False)):
        if a.out_features != b.in_features:
            raise ValueError(f"layer {i} gives {a.out_features} features but layer {i + 1} expects "
                             f"{b.in_features}: the stack cannot run, so it cannot be merged.")
    with torch.no_grad():
        weight = layers[0].weight.clone()
        bias = layers[0].bias.clone() if layers[0].bias is not None else torch.zeros(layers[0].out_features)
        for layer in layers[1:]:
            weight = layer.weight @ weight
            bias = layer.weight @ bias + (layer.bias if layer.bias is not None else 0.0)
        merged = nn.Linear(layers[0].in_features, layers[-1].out_features)
        merged.weight.copy_(weight)
        merged.bias.copy_(bias)
    return merged


def dead_units(pre_activations: torch.Tensor) -> torch.Tensor:
    """Which units of a ReLU layer are dead: their pre-activation is ≤ 0 for every row.

    ``pre_activations`` has shape (samples, units); returns a bool tensor of shape (units,).
    A dead unit outputs 0 and passes back a zero gradient for all these inputs.
    """
    if not isinstance(pre_activations, torch.Tensor) or pre_activations.dim() != 2:
        raise ValueError(f"pre_activations must be a (samples, units) tensor; got "
                         f"{tuple(getattr(pre_activations, 'shape', ()))}.")
    if pre_activations.shape[0] == 0:
        raise ValueError("pre_activations has no rows: pass at least one sample.")
    return (pre_activations <= 0).all(dim=0)


def relu_regions(model: nn.Sequential, points: torch.Tensor) -> torch.Tensor:
    """Which linear piece of a ReLU network each point lies in: one region id per row of ``points``.

    Every ``nn.ReLU`` in ``model`` is either on (input > 0) or off for a given point; points
    with the same on/off pattern of all units are mapped by one and the same affine function.
    Returns int64 ids 0, 1, ... (numbered in the order the patterns first appear).
    """
    if not isinstance(model, nn.Sequential):
        raise ValueError(f"relu_regions needs an nn.Sequential; got {type(model).__name__}.")
    if not any(isinstance(m, nn.ReLU) for m in model):
        raise ValueError("the model has no nn.ReLU: a network without ReLUs is one linear piece.")
    if not isinstance(points, torch.Tensor) or points.dim() != 2 or len(points) == 0:
        raise ValueError(f"points must be a non-empty (N, features) tensor; got {tuple(getattr(points, 'shape', ()))}.")
    patterns, h = [], points
    with torch.no_grad():
        for module in model:
            if isinstance(module, nn.ReLU):
                patterns.append(h > 0)
            h = module(h)
    codes = torch.cat(patterns, dim=1)
    _, first_seen, inverse = _unique_rows(codes)
    order = torch.argsort(first_seen)
    rank = torch.empty_like(order)
    rank[order] = torch.arange(len(order))
    return rank[inverse]


def _unique_rows(codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    unique, inverse = torch.unique(codes, dim=0, return_inverse=True)
    first = torch.full((len(unique),), len(codes), dtype=torch.long)
    first.scatter_reduce_(0, inverse, torch.arange(len(codes)), reduce="amin")
    return unique, first, inverse


def linear_regions_figure(model: nn.Sequential, X: torch.Tensor, y: torch.Tensor, *, resolution: int = 300,
                          padding: float = 0.3, title: str | None = None) -> tuple[Figure, int]:
    """The plane coloured by linear piece of a 2-input ReLU network, its decision boundary (black)
    for one or two outputs, and the data on top.

    Returns the figure and the number of pieces that appear in the window.
    """
    if X.dim() != 2 or X.shape[1] != 2:
        raise ValueError(f"linear_regions_figure needs 2-D points of shape (N, 2); got {tuple(X.shape)}.")
    lo, hi = (X.min(0).values - padding).tolist(), (X.max(0).values + padding).tolist()
    gx, gy = torch.meshgrid(torch.linspace(lo[0], hi[0], resolution), torch.linspace(lo[1], hi[1], resolution),
                            indexing="xy")
    regions = relu_regions(model, torch.stack([gx.ravel(), gy.ravel()], dim=1)).reshape(gx.shape)
    count = int(regions.max()) + 1
    shuffled = torch.randperm(count, generator=torch.Generator().manual_seed(0))[regions]
    fig, ax = plt.subplots(figsize=(4.4, 3.8))
    ax.imshow(shuffled.numpy(), origin="lower", extent=(lo[0], hi[0], lo[1], hi[1]), cmap="tab20",
              interpolation="nearest", aspect="auto", alpha=0.8)
    with torch.no_grad():
        out = model(torch.stack([gx.ravel(), gy.ravel()], dim=1))
    if out.shape[1] in (1, 2):  # the decision boundary: the logit (difference) crosses 0
        score = (out[:, -1] - out[:, 0] if out.shape[1] == 2 else out[:, 0]).reshape(gx.shape)
        if score.min() < 0 < score.max():
            ax.contour(gx.numpy(), gy.numpy(), score.numpy(), levels=[0.0], colors="k", linewidths=1.2)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", s=10, edgecolors="k", linewidths=0.3)
    ax.set_title(title or f"{count} linear pieces in this window", fontsize=10)
    fig.tight_layout()
    return fig, count


def _grid(x_min: float, x_max: float, points: int) -> torch.Tensor:
    for label, v in (("x_min", x_min), ("x_max", x_max)):
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ValueError(f"{label} must be a finite number; got {v!r}.")
    if not x_min < x_max:
        raise ValueError(f"the input range needs x_min < x_max; got [{x_min}, {x_max}].")
    if not isinstance(points, int) or points < 2:
        raise ValueError(f"points must be an int ≥ 2; got {points!r}.")
    return torch.linspace(float(x_min), float(x_max), points)


SATURATION_LEVEL = 0.01


def summary(name: str, x_min: float = -5.0, x_max: float = 5.0, param: float | None = None,
            points: int = 401) -> str:
    """One line describing an activation's gradient on a range (the explorer's status text)."""
    act = get(name)
    x = _grid(x_min, x_max, points)
    grad = autograd_derivative(lambda t: act(t, param), x)
    flat = (grad.abs() < SATURATION_LEVEL).float().mean().item()
    setting = f", {act.param_name} {act._param(param):.2f}" if act.param_name else ""
    return (
        f"{name}{setting} on [{x_min:.1f}, {x_max:.1f}]: gradient from {grad.min().item():.4f} "
        f"to {grad.max().item():.4f}; {flat:.0%} of the range has |gradient| < {SATURATION_LEVEL}"
    )


# --------------------------------------------------------------------------- figures


def activation_figure(name: str, x_min: float = -5.0, x_max: float = 5.0, param: float | None = None,
                      points: int = 401) -> Figure:
    """Two panels: the activation f(x) and its derivative f'(x) from autograd.

    Regions where |f'(x)| < 0.01 (saturated, or dead for ReLU) are shaded: little or no
    gradient flows back through them.
    """
    act = get(name)
    x = _grid(x_min, x_max, points)
    y = act(x, param)
    grad = autograd_derivative(lambda t: act(t, param), x)
    fig, (ax_f, ax_g) = plt.subplots(1, 2, figsize=(8.4, 3.0))
    ax_f.plot(x, y, color="C0", lw=2)
    ax_f.set_title(f"{name}: {act.formula}", fontsize=10)
    ax_g.plot(x, grad, color="C3", lw=2)
    ax_g.set_title(f"derivative (autograd), max {grad.max().item():.3f}", fontsize=10)
    flat = (grad.abs() < SATURATION_LEVEL).numpy()
    for ax in (ax_f, ax_g):
        ax.axhline(0, color="k", lw=0.6)
        ax.axvline(0, color="k", lw=0.6)
        ax.set_xlabel("x")
        ax.fill_between(x.numpy(), 0, 1, where=flat, color="grey", alpha=0.15,
                        transform=ax.get_xaxis_transform(), label=f"|f'| < {SATURATION_LEVEL}")
    ax_f.set_ylabel("f(x)")
    ax_g.set_ylabel("f'(x)")
    if flat.any():
        ax_g.legend(loc="best", fontsize=8)
    if act.param_name:
        fig.suptitle(f"{act.param_name} = {act._param(param):.2f}", fontsize=9)
    fig.tight_layout()
    return fig


def activation_gallery(names: Sequence[str] = ("sigmoid", "tanh", "relu", "leaky_relu", "gelu", "silu"),
                       x_min: float = -4.0, x_max: float = 4.0, param: float | None = 0.1,
                       ncols: int = 3) -> Figure:
    """Small multiples: each activation (solid) with its autograd derivative (dashed)."""
    if not names:
        raise ValueError("activation_gallery needs at least one activation name.")
    acts = [get(n) for n in names]
    x = _grid(x_min, x_max, 401)
    nrows = math.ceil(len(acts) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(9.0, 2.4 * nrows), sharex=True, squeeze=False)
    for ax in axes.ravel()[len(acts):]:
        ax.axis("off")
    for ax, act in zip(axes.ravel(), acts, strict=False):
        ax.plot(x, act(x, param), lw=2, label="f(x)")
        ax.plot(x, autograd_derivative(lambda t, a=act: a(t, param), x), "--", lw=1.5, label="f'(x)")
        ax.axhline(0, color="k", lw=0.5)
        suffix = f" (slope {act._param(param):g})" if act.name == "leaky_relu" else ""
        ax.set_title(act.name + suffix, fontsize=10)
        ax.set_ylim(-1.5, 3.0)
    axes[0, 0].legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- widget shell


class ActivationExplorer(Explorer):
    """Dropdown (activation), input-range slider and slope/α slider around ``activation_figure``.

    ``show()`` displays the controls, a status line and the figure (an ordinary output,
    redrawn in place). Tests drive it by setting ``.name.value`` etc. and reading
    ``.redraws``, ``.status.value`` and ``.fig``.
    """

    description = "an activation dropdown, a slope/alpha slider (Leaky ReLU, ELU) and an input-range slider"

    def __init__(self, name: str = "sigmoid", x_range: tuple[float, float] = (-5.0, 5.0),
                 param: float = 0.1) -> None:
        import ipywidgets as w

        get(name)
        self.name = w.Dropdown(options=list(NAMES), value=name, description="activation")
        self.x_range = w.FloatRangeSlider(value=x_range, min=-10.0, max=10.0, step=0.5, description="input x",
                                          continuous_update=False, readout_format=".1f")
        self.param = w.FloatSlider(value=param, min=0.0, max=2.0, step=0.01, description="slope / α",
                                   continuous_update=False, readout_format=".2f")
        self.start((self.name, self.param), self.x_range)

    def _args(self) -> tuple[str, float, float, float]:
        lo, hi = self.x_range.value
        return self.name.value, float(lo), float(hi), float(self.param.value)

    def figure(self) -> Figure:
        return activation_figure(*self._args())

    def on_redraw(self) -> None:
        self.status.value = summary(*self._args())
