"""Weight initialisation, measured: deep stacks, init schemes and per-layer statistics (notebook 07).

The pure core builds a deep MLP (``deep_mlp``), initialises it with a named scheme
(``initialise_``), pushes a batch through it and records, per layer, the spread of
the activations and of the weight gradients (``layer_stats``). Figures are drawn
by ``std_per_layer_figure`` and ``activation_spread_figure``; ``InitExplorer`` is
the thin widget shell around the latter (depth, width, activation, init std).
``across_input_std`` separates the part of each layer's activations that depends on the input.
``forward_backward_std`` measures the forward and backward spread of a ReLU stack whose widths
change (fan_in vs fan_out), and ``residual_stream_std`` the growth of a residual stream with
and without scaled branches.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import nn

from course_utils import models, plots, runtime
from course_utils.widgets import Explorer

ACTIVATIONS = ("relu", "tanh", "linear")  # the choices of this notebook, from models.ACTIVATIONS
ACTIVATION_TYPES = (nn.ReLU, nn.Tanh, nn.Identity)  # a Linear followed by one of these ends a block
SCHEMES = ("zeros", "constant", "normal", "uniform01", "default", "xavier", "he", "orthogonal")

# Below this ratio (last layer std / first layer std) the signal is said to vanish, above its inverse to explode.
VANISH_RATIO = 0.1
TANH_SATURATION = 0.99


def _check_choice(name: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}.")


def _check_positive_int(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int; got {value!r}.")


def deep_mlp(depth: int, width: int, *, activation: str = "relu", in_features: int | None = None,
             out_features: int | None = None) -> nn.Sequential:
    """A stack of ``depth`` Linear layers, each hidden one followed by the activation.

    Without ``out_features`` every Linear is followed by the activation (a pure
    "signal propagation" stack); with it, the last Linear maps to ``out_features``
    logits and has no activation after it.
    """
    _check_positive_int("depth", depth)
    _check_positive_int("width", width)
    _check_choice("activation", activation, ACTIVATIONS)
    in_features = width if in_features is None else in_features
    _check_positive_int("in_features", in_features)
    sizes = [in_features] + [width] * depth
    if out_features is not None:
        _check_positive_int("out_features", out_features)
        sizes[-1] = out_features
    return models.mlp(sizes, activation, final_activation=out_features is None)


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    """The ``nn.Linear`` layers of a model, in order."""
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


@torch.no_grad()
def initialise_(model: nn.Module, scheme: str, *, std: float = 0.01, value: float = 0.1,
                generator: torch.Generator | None = None) -> nn.Module:
    """Re-initialise every ``nn.Linear`` of ``model`` in place and return the model.

    Schemes: ``zeros``; ``constant`` (every weight = ``value``); ``normal`` (N(0, std²));
    ``uniform01`` (U(0, 1), a counter-example); ``default`` (what ``nn.Linear`` does
    itself: U(±1/√fan_in) for weights and biases); ``xavier`` (Glorot normal);
    ``he`` (Kaiming normal for ReLU, fan_in); ``orthogonal``. Every scheme except
    ``default`` sets the biases to zero.
    """
    _check_choice("scheme", scheme, SCHEMES)
    if scheme == "normal" and not std > 0:
        raise ValueError(f"std must be positive for the normal scheme; got {std!r}.")
    layers = linear_layers(model)
    if not layers:
        raise ValueError("initialise_ found no nn.Linear layer in the model.")
    for layer in layers:
        w = layer.weight
        if scheme == "default":
            bound = 1.0 / math.sqrt(w.shape[1])
            nn.init.uniform_(w, -bound, bound, generator=generator)
            if layer.bias is not None:
                nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
            continue
        if scheme == "zeros":
            nn.init.zeros_(w)
        elif scheme == "constant":
            nn.init.constant_(w, value)
        elif scheme == "normal":
            nn.init.normal_(w, 0.0, std, generator=generator)
        elif scheme == "uniform01":
            nn.init.uniform_(w, 0.0, 1.0, generator=generator)
        elif scheme == "xavier":
            nn.init.xavier_normal_(w, generator=generator)
        elif scheme == "he":
            nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu", generator=generator)
        elif scheme == "orthogonal":
            nn.init.orthogonal_(w, generator=generator)
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
    return model


def he_std(fan_in: int) -> float:
    """He (Kaiming) normal std for ReLU: sqrt(2 / fan_in)."""
    _check_positive_int("fan_in", fan_in)
    return math.sqrt(2.0 / fan_in)


def xavier_std(fan_in: int, fan_out: int) -> float:
    """Xavier (Glorot) normal std: sqrt(2 / (fan_in + fan_out))."""
    _check_positive_int("fan_in", fan_in)
    _check_positive_int("fan_out", fan_out)
    return math.sqrt(2.0 / (fan_in + fan_out))


def distribution_summary(weights: torch.Tensor, qs: Sequence[float] = (0.05, 0.25, 0.5, 0.75, 0.95)) -> torch.Tensor:
    """Mean, std and a few quantiles of all entries: two samplers agree in distribution when these agree."""
    if not isinstance(weights, torch.Tensor) or weights.numel() < 2:
        raise ValueError("distribution_summary needs a tensor with at least two entries.")
    if not all(0.0 <= q <= 1.0 for q in qs):
        raise ValueError(f"quantiles must lie in [0, 1]; got {tuple(qs)}.")
    flat = weights.detach().flatten().double()
    return torch.cat([flat.mean().view(1), flat.std().view(1), torch.quantile(flat, torch.tensor(qs, dtype=flat.dtype))])


@dataclass(frozen=True)
class LayerStats:
    """Per-layer figures of one forward and backward pass (layer 1 is the first)."""

    activation_std: list[float]
    activation_mean: list[float]
    saturated: list[float]  # fraction of |activation| > 0.99 (meaningful for tanh)
    gradient_std: list[float]  # std of dLoss/dW of each Linear layer
    gradient_norm: list[float]  # Frobenius norm of dLoss/dW of each Linear layer
    samples: list[torch.Tensor]  # a flattened copy of each layer's activations, for histograms

    @property
    def depth(self) -> int:
        return len(self.activation_std)

    def verdict(self) -> str:
        """'vanishes', 'explodes', 'saturates' or 'stays in range' for the activations."""
        return spread_verdict(self.activation_std, self.saturated)


def spread_verdict(activation_std: Sequence[float], saturated: Sequence[float] | None = None) -> str:
    """Say what happens to the signal from the first to the last layer."""
    if not activation_std:
        raise ValueError("spread_verdict needs at least one layer's std.")
    first, last = activation_std[0], activation_std[-1]
    if not math.isfinite(last) or (first > 0 and last / first > 1 / VANISH_RATIO):
        return "explodes"
    if first == 0 or last / first < VANISH_RATIO:
        return "vanishes"
    if saturated is not None and saturated and saturated[-1] > 0.5:
        return "saturates"
    return "stays in range"


def layer_stats(model: nn.Sequential, x: torch.Tensor, y: torch.Tensor | None = None, loss_fn: nn.Module | None = None,
                *, keep_samples: int = 2000, seed: int | None = None) -> LayerStats:
    """Activation statistics after each block and weight-gradient statistics per Linear layer.

    A block ends at each activation module, or at a Linear with no activation after it.
    With ``y`` and ``loss_fn`` the gradients are those of that loss; without them a
    fixed Gaussian gradient (seeded by ``seed``; ``None``: the seed given to ``setup``) is
    sent back from the output, which measures how the network itself scales gradients.
    The model's ``.grad`` fields are cleared afterwards.
    """
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"layer_stats walks an nn.Sequential layer by layer; got {type(model).__name__}.")
    if (y is None) != (loss_fn is None):
        raise ValueError("pass both y and loss_fn (to use a real loss) or neither (to use a random output gradient).")
    model.zero_grad(set_to_none=True)
    modules = list(model)
    outputs: list[torch.Tensor] = []
    h = x
    for i, module in enumerate(modules):
        h = module(h)
        nxt = modules[i + 1] if i + 1 < len(modules) else None
        ends_block = not isinstance(module, nn.Linear) or not isinstance(nxt, ACTIVATION_TYPES)
        if ends_block:
            outputs.append(h)
    if y is not None and loss_fn is not None:
        loss = loss_fn(h, y)
    else:
        g = runtime.torch_generator(seed)
        loss = (h * torch.randn(h.shape, generator=g)).sum()
    loss.backward()
    act_std, act_mean, saturated, samples = [], [], [], []
    for out in outputs:
        flat = out.detach().flatten()
        act_std.append(flat.std().item() if flat.numel() > 1 else 0.0)
        act_mean.append(flat.mean().item())
        saturated.append((flat.abs() > TANH_SATURATION).float().mean().item())
        samples.append(flat[:keep_samples].clone())
    grad_std, grad_norm = [], []
    for layer in linear_layers(model):
        grad = layer.weight.grad if layer.weight.grad is not None else torch.zeros_like(layer.weight)
        grad_std.append(grad.std().item())
        grad_norm.append(grad.norm().item())
    model.zero_grad(set_to_none=True)
    return LayerStats(act_std, act_mean, saturated, grad_std, grad_norm, samples)


def stack_stats(depth: int, width: int, activation: str, scheme: str, *, std: float = 0.01, n_samples: int = 256,
                seed: int | None = None) -> LayerStats:
    """Statistics of a fresh ``deep_mlp(depth, width)`` fed standard-normal inputs.

    ``seed`` draws the weights, the inputs and the output gradient; ``None`` uses the seed given
    to ``setup`` (0 before it), so a seed sweep varies the stack too.
    """
    _check_positive_int("n_samples", n_samples)
    g = runtime.torch_generator(seed)
    model = deep_mlp(depth, width, activation=activation)
    initialise_(model, scheme, std=std, generator=g)
    x = torch.randn(n_samples, width, generator=g)
    return layer_stats(model, x, seed=seed)


def _safe_log_values(values: Sequence[float]) -> list[float]:
    """Zeros cannot be drawn on a log axis: show them as NaN (a gap)."""
    return [v if v > 0 and math.isfinite(v) else math.nan for v in values]


def std_per_layer_figure(
    stats: Mapping[str, LayerStats], *, title: str | None = None, gradients: bool = True
) -> Figure:
    """One line per run: activation std per layer (left) and weight-gradient std per layer (right)."""
    if not stats:
        raise ValueError("std_per_layer_figure needs at least one run, e.g. {'He': layer_stats(...)}.")
    ncols = 2 if gradients else 1
    fig, axes = plt.subplots(1, ncols, figsize=(4.3 * ncols, 3.2), squeeze=False)
    panels = [("activation std", "activation_std")] + ([("weight-gradient std", "gradient_std")] if gradients else [])
    for ax, (label, field) in zip(axes[0], panels, strict=True):
        for name, s in stats.items():
            values = getattr(s, field)
            ax.plot(range(1, len(values) + 1), _safe_log_values(values), marker="o", ms=3, label=name)
        ax.set_yscale("log")
        ax.set_xlabel("layer")
        ax.set_title(label, fontsize=10)
    axes[0][0].legend(fontsize=8)
    return plots.finish(fig, title)


def histogram_figure(
    stats: Mapping[str, LayerStats], layers: Sequence[int], *, title: str | None = None, bins: int = 40
) -> Figure:
    """Histograms of the activations: one row per run, one column per chosen layer (1-based)."""
    if not stats or not layers:
        raise ValueError("histogram_figure needs at least one run and one layer number.")
    depth = min(s.depth for s in stats.values())
    for layer in layers:
        if not 1 <= layer <= depth:
            raise ValueError(f"layer numbers go from 1 to {depth}; got {layer}.")
    fig, axes = plt.subplots(
        len(stats), len(layers), figsize=(2.2 * len(layers) + 0.6, 1.5 * len(stats) + 0.5), squeeze=False
    )
    for row, (name, s) in enumerate(stats.items()):
        for col, layer in enumerate(layers):
            ax = axes[row][col]
            values = s.samples[layer - 1].numpy()
            ax.hist(values, bins=bins, color=f"C{row}")
            ax.set_yticks([])
            if row == 0:
                ax.set_title(f"layer {layer}", fontsize=9)
            if col == 0:
                ax.set_ylabel(name, fontsize=8)
            ax.tick_params(labelsize=7)
    return plots.finish(fig, title)


def activation_spread_figure(depth: int = 10, width: int = 256, activation: str = "tanh", std: float = 0.05, *,
                             n_samples: int = 256, seed: int | None = None, stats: LayerStats | None = None) -> Figure:
    """The explorer's picture: per-layer activation/gradient std, and histograms of the first, middle and last layer.

    Weights are N(0, std²), biases zero, inputs standard normal. The title names the
    He and Xavier std for this width, to compare with the chosen ``std``. Pass ``stats`` (from
    ``stack_stats`` with the same settings) to draw statistics already computed.
    """
    if not std > 0:
        raise ValueError(f"std must be positive; got {std!r}.")
    if stats is None:
        stats = stack_stats(depth, width, activation, "normal", std=std, n_samples=n_samples, seed=seed)
    chosen = sorted({1, max(1, (depth + 1) // 2), depth})
    fig, axes = plt.subplots(
        1, 1 + len(chosen), figsize=(9.0, 3.2), gridspec_kw={"width_ratios": [2.2] + [1] * len(chosen)}
    )
    ax = axes[0]
    layers = range(1, depth + 1)
    ax.plot(layers, _safe_log_values(stats.activation_std), marker="o", ms=3, label="activation std")
    ax.plot(layers, _safe_log_values(stats.gradient_std), marker="s", ms=3, ls="--", label="weight-grad std")
    ax.set_yscale("log")
    ax.set_xlabel("layer")
    ax.legend(fontsize=8)
    ax.set_title(f"{activation}, {depth} layers of {width}: signal {stats.verdict()}", fontsize=9)
    for k, (hax, layer) in enumerate(zip(axes[1:], chosen, strict=True)):
        hax.hist(stats.samples[layer - 1].numpy(), bins=30, color=f"C{k + 2}")
        hax.set_yticks([])
        hax.tick_params(labelsize=7)
        hax.set_title(f"layer {layer} activations", fontsize=8)
    fig.suptitle(
        f"weights N(0, {std:.3g}²) | for this width: He std {he_std(width):.3g}, Xavier std {xavier_std(width, width):.3g}",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def spread_status(depth: int, width: int, activation: str, std: float, *, seed: int | None = None,
                  stats: LayerStats | None = None) -> str:
    """One line for the explorer: first and last layer activation std and the verdict."""
    s = stats if stats is not None else stack_stats(depth, width, activation, "normal", std=std, seed=seed)
    return (
        f"std {std:.3g}: activation std {s.activation_std[0]:.3g} at layer 1, "
        f"{s.activation_std[-1]:.3g} at layer {depth}: the signal {s.verdict()}."
    )


def hidden_unit_spread(layer: nn.Linear) -> float:
    """Largest difference between two hidden units' incoming weights (0 means all units are identical)."""
    if not isinstance(layer, nn.Linear):
        raise TypeError(f"hidden_unit_spread takes an nn.Linear; got {type(layer).__name__}.")
    w = layer.weight.detach()
    return (w.max(dim=0).values - w.min(dim=0).values).max().item()


@torch.no_grad()
def across_input_std(model: nn.Sequential, x: torch.Tensor) -> list[float]:
    """After each block: the std of each unit over the examples, averaged over the units.

    This is the part of the activation that depends on the input. ``LayerStats.activation_std``
    also counts the differences between units (from the biases, say), which carry no
    information about which example came in. Blocks end as in ``layer_stats``.
    """
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"across_input_std walks an nn.Sequential layer by layer; got {type(model).__name__}.")
    if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.shape[0] < 2:
        raise ValueError("across_input_std needs a batch of at least two examples, shape (examples, features).")
    modules = list(model)
    out, h = [], x
    for i, module in enumerate(modules):
        h = module(h)
        nxt = modules[i + 1] if i + 1 < len(modules) else None
        if not isinstance(module, nn.Linear) or not isinstance(nxt, ACTIVATION_TYPES):
            out.append(h.std(dim=0).mean().item())
    return out


class InitExplorer(Explorer):
    """Widget shell: depth, width, activation and init std -> ``activation_spread_figure``."""

    description = "sliders for depth, width and init std, and an activation menu"

    def __init__(self, depth: int = 10, width: int = 256, activation: str = "tanh", std: float = 0.05) -> None:
        import ipywidgets as w

        style = {"description_width": "70px"}
        self.depth = w.IntSlider(value=depth, min=2, max=30, description="depth", continuous_update=False, style=style)
        self.width = w.IntSlider(
            value=width, min=16, max=512, step=16, description="width", continuous_update=False, style=style
        )
        self.activation = w.Dropdown(options=list(ACTIVATIONS), value=activation, description="activation", style=style)
        self.std = w.FloatLogSlider(
            value=std, base=10, min=-3, max=0.5, step=0.05, description="init std", continuous_update=False,
            readout_format=".3g", style=style,
        )
        self.start((self.depth, self.width), (self.activation, self.std))

    def settings(self) -> tuple[int, int, str, float]:
        return self.depth.value, self.width.value, self.activation.value, float(self.std.value)

    def figure(self) -> Figure:
        depth, width, activation, std = self.settings()
        self.stats = stack_stats(depth, width, activation, "normal", std=std)  # once per redraw
        return activation_spread_figure(depth, width, activation, std, stats=self.stats)

    def on_redraw(self) -> None:
        self.status.value = spread_status(*self.settings(), stats=self.stats)


# --------------------------------------------------------------------------- backward pass and residual streams


def forward_backward_std(widths: Sequence[int], mode: str = "fan_in", *, n_samples: int = 512,
                         seed: int | None = None) -> tuple[list[float], list[float]]:
    """Per layer of a ReLU stack with these widths: the std of its output, and of the gradient at its input.

    The weights are Kaiming normal (gain √2) with ``mode`` ``'fan_in'`` (std √2/√n_in) or
    ``'fan_out'`` (std √2/√n_out), the biases 0, the inputs standard normal, and a standard-normal
    gradient is sent back from the last layer. Returns ``(forward, backward)``: ``forward[l]`` is the
    std of layer ``l+1``'s output after its ReLU, ``backward[l]`` the std of ∂L/∂(input of layer ``l+1``).
    ``seed=None`` uses the seed given to ``setup``.
    """
    _check_choice("mode", mode, ("fan_in", "fan_out"))
    if len(widths) < 2:
        raise ValueError(f"widths needs at least two sizes (input and output of one layer); got {list(widths)}.")
    for w in widths:
        _check_positive_int("each width", w)
    _check_positive_int("n_samples", n_samples)
    g = runtime.torch_generator(seed)
    h = torch.randn(n_samples, widths[0], generator=g, requires_grad=True)
    inputs, forward = [], []
    for n_in, n_out in zip(widths[:-1], widths[1:], strict=True):
        fan = n_in if mode == "fan_in" else n_out
        weight = torch.randn(n_out, n_in, generator=g) * math.sqrt(2.0 / fan)
        h.retain_grad()
        inputs.append(h)
        h = torch.relu(h @ weight.T)
        forward.append(h.detach().std().item())
    (h * torch.randn(h.shape, generator=g)).sum().backward()
    return forward, [x.grad.std().item() for x in inputs]


def residual_stream_std(n_branches: int, width: int = 256, *, branch_scale: float = 1.0, n_samples: int = 512,
                        seed: int | None = None) -> list[float]:
    """Std of the residual stream x_0, x_1, ..., x_n of a pre-norm residual MLP stack at initialisation.

    Each branch adds ``W2 · ReLU(W1 · LayerNorm(x))`` to the stream: W1 is He normal
    (std √(2/width)), W2 has std ``branch_scale``·√(1/width), so each branch adds a term of
    variance about ``branch_scale``²; x_0 is standard normal. GPT-2 sets
    ``branch_scale = 1/√(number of residual branches)`` (two per transformer block).
    ``seed=None`` uses the seed given to ``setup``.
    """
    _check_positive_int("n_branches", n_branches)
    _check_positive_int("width", width)
    _check_positive_int("n_samples", n_samples)
    if not branch_scale > 0:
        raise ValueError(f"branch_scale must be positive; got {branch_scale!r}.")
    g = runtime.torch_generator(seed)
    x = torch.randn(n_samples, width, generator=g)
    stds = [x.std().item()]
    for _ in range(n_branches):
        w1 = torch.randn(width, width, generator=g) * math.sqrt(2.0 / width)
        w2 = torch.randn(width, width, generator=g) * (branch_scale / math.sqrt(width))
        x = x + torch.relu(nn.functional.layer_norm(x, (width,)) @ w1.T) @ w2.T
        stds.append(x.std().item())
    return stds
