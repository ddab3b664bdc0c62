"""Small model builders shared by several notebooks: one activation registry, one MLP builder.

``mlp([8, 16, 16, 2], "relu")`` is ``Linear(8, 16), ReLU, Linear(16, 16), ReLU, Linear(16, 2)``:
an activation between layers and none after the last (the loss takes the raw outputs), unless
``final_activation=True``. Layers are created in order, so a seeded build is reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "elu": nn.ELU,
    "linear": nn.Identity,
}


def activation(name: str, allowed: Sequence[str] | None = None) -> nn.Module:
    """A new activation module by name (``allowed`` narrows the choice for one use)."""
    names = tuple(allowed) if allowed is not None else tuple(ACTIVATIONS)
    if name not in names or name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(repr(n) for n in names)}; got {name!r}.")
    return ACTIVATIONS[name]()


def mlp(sizes: Sequence[int], activation_name: str = "relu", *, final_activation: bool = False,
        allowed: Sequence[str] | None = None) -> nn.Sequential:
    """Linear layers of the given sizes with an activation between them (and after the last one
    only when ``final_activation``)."""
    if len(sizes) < 2 or any(not isinstance(s, int) or isinstance(s, bool) or s < 1 for s in sizes):
        raise ValueError(f"mlp needs at least two positive layer sizes; got {list(sizes)}.")
    activation(activation_name, allowed)  # fail early on an unknown name
    layers: list[nn.Module] = []
    n_linear = len(sizes) - 1
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < n_linear - 1 or final_activation:
            layers.append(activation(activation_name, allowed))
    return nn.Sequential(*layers)


def moving_average(model: nn.Module, decay: float) -> AveragedModel:
    """An exponential moving average of ``model``'s weights, starting from its current weights.

    After each optimizer step call ``.update_parameters(model)``: every weight moves to
    ``decay · average + (1 − decay) · current``. ``.module`` is the averaged copy. Buffers are
    not averaged: each update copies them from ``model`` (it matters for BatchNorm statistics).
    """
    if not 0.0 < decay < 1.0:
        raise ValueError(f"decay must lie in (0, 1); got {decay}.")
    averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay))
    averaged.update_parameters(model)  # the first call copies the weights
    return averaged
