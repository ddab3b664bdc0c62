"""Loss functions written from scratch (notebook 04), and the loss explorer.

Every loss here follows PyTorch's conventions, so it can be checked against
``torch.nn``: predictions first, targets second, ``reduction`` one of
``"mean"``, ``"sum"`` or ``"none"``. The explorer's figure is a pure function
(``loss_explorer_figure``); ``LossExplorer`` is the thin widget shell around it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from course_utils.widgets import Explorer

REDUCTIONS = ("mean", "sum", "none")
REGRESSION, BINARY = "regression", "binary"
EXPLORER_KINDS = (REGRESSION, BINARY)


# --------------------------------------------------------------------------- input checks


def reduce(values: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Reduce per-element losses the way ``reduction=`` does in ``torch.nn``."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {', '.join(REDUCTIONS)}; got {reduction!r}.")
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    return values


def _same_shape(prediction: torch.Tensor, target: torch.Tensor, name: str) -> None:
    for label, value in (("prediction", prediction), ("target", target)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name}: the {label} must be a torch.Tensor; got {type(value).__name__}.")
    if prediction.shape != target.shape:
        raise ValueError(
            f"{name}: prediction shape {tuple(prediction.shape)} and target shape {tuple(target.shape)} differ. "
            "PyTorch would broadcast them (with only a warning) and compute the wrong loss: reshape one of them, "
            "e.g. target.unsqueeze(1) or prediction.squeeze(1)."
        )
    if not (prediction.is_floating_point() and target.is_floating_point()):
        raise TypeError(
            f"{name}: predictions and targets must be floating point; got {prediction.dtype} and {target.dtype}. "
            "Convert with .float()."
        )


# --------------------------------------------------------------------------- regression


def mse(prediction: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Mean squared error: (ŷ - y)², like ``nn.MSELoss``."""
    _same_shape(prediction, target, "mse")
    return reduce((prediction - target) ** 2, reduction)


def mae(prediction: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Mean absolute error: |ŷ - y|, like ``nn.L1Loss``."""
    _same_shape(prediction, target, "mae")
    return reduce((prediction - target).abs(), reduction)


def huber(
    prediction: torch.Tensor, target: torch.Tensor, delta: float = 1.0, reduction: str = "mean"
) -> torch.Tensor:
    """Huber loss, like ``nn.HuberLoss(delta=...)``: ½e² for |e| ≤ δ, δ(|e| - ½δ) beyond."""
    _same_shape(prediction, target, "huber")
    if not delta > 0:
        raise ValueError(f"huber: delta must be positive; got {delta!r}.")
    error = (prediction - target).abs()
    values = torch.where(error <= delta, 0.5 * error**2, delta * (error - 0.5 * delta))
    return reduce(values, reduction)


# --------------------------------------------------------------------------- binary


def bce_on_probabilities(probabilities: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Binary cross-entropy on probabilities, the textbook formula WITHOUT any protection.

    Kept to show the problem: a probability that rounds to exactly 0 or 1 gives
    ``inf`` (or ``nan``). ``nn.BCELoss`` clamps each log at -100 instead.
    """
    _same_shape(probabilities, targets, "bce_on_probabilities")
    p, y = probabilities, targets
    return reduce(-(y * torch.log(p) + (1 - y) * torch.log(1 - p)), reduction)


def bce_with_logits(logits: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Binary cross-entropy on raw scores, like ``nn.BCEWithLogitsLoss``, in its stable form.

    With p = σ(z): -[y log p + (1-y) log(1-p)] = softplus(z) - y·z, and
    softplus(z) = log(1 + e^z) = max(z, 0) + log(1 + e^-|z|), which never overflows.
    Targets may be soft (any value in [0, 1]).
    """
    _same_shape(logits, targets, "bce_with_logits")
    positive = logits.clamp(min=0)
    # logits - 2·max(z, 0) is -|z|; written this way autograd also gets the slope at z = 0 right (σ(0) = 0.5)
    softplus = positive + torch.log1p(torch.exp(logits - 2 * positive))
    return reduce(softplus - targets * logits, reduction)


# --------------------------------------------------------------------------- multi-class


def log_softmax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """log softmax with the max subtracted first (the log-sum-exp trick), so exp never overflows."""
    shifted = logits - logits.amax(dim=dim, keepdim=True)
    return shifted - torch.log(torch.exp(shifted).sum(dim=dim, keepdim=True))


def one_hot(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Float one-hot rows for int64 class indices (what ``F.one_hot(...).float()`` gives)."""
    if labels.dtype != torch.int64:
        raise TypeError(f"one_hot: labels must be int64 class indices; got {labels.dtype}. Use .long().")
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"one_hot: labels must lie in 0..{num_classes - 1}; got {labels.min()}..{labels.max()}.")
    rows = torch.zeros(*labels.shape, num_classes)
    return rows.scatter_(-1, labels.unsqueeze(-1), 1.0)


def cross_entropy(
    logits: torch.Tensor, targets: torch.Tensor, reduction: str = "mean", label_smoothing: float = 0.0
) -> torch.Tensor:
    """Cross-entropy like ``nn.CrossEntropyLoss`` for logits (B, C).

    ``targets`` are either int64 class indices of shape (B,) (the usual case) or
    float class probabilities of shape (B, C) (soft labels). ``label_smoothing`` ε
    mixes the index targets with the uniform distribution: (1-ε)·one_hot + ε/C.
    """
    if logits.dim() != 2:
        raise ValueError(f"cross_entropy: logits must have shape (batch, classes); got {tuple(logits.shape)}.")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must lie in [0, 1]; got {label_smoothing!r}.")
    batch, classes = logits.shape
    log_p = log_softmax(logits, dim=1)
    if targets.dtype == torch.int64:
        if tuple(targets.shape) != (batch,):
            raise ValueError(
                f"cross_entropy: class-index targets must have shape ({batch},); got {tuple(targets.shape)}. "
                "One-hot rows of int64 are not accepted: pass the indices (rows.argmax(dim=1))."
            )
        probabilities = one_hot(targets, classes)
    elif targets.is_floating_point():
        if targets.shape != logits.shape:
            raise ValueError(
                f"cross_entropy: probability targets must have the logits' shape {tuple(logits.shape)}; "
                f"got {tuple(targets.shape)}. Class indices must be int64 (use .long())."
            )
        probabilities = targets
    else:
        raise TypeError(f"cross_entropy: targets must be int64 indices or float probabilities; got {targets.dtype}.")
    if label_smoothing:
        probabilities = (1 - label_smoothing) * probabilities + label_smoothing / classes
    return reduce(-(probabilities * log_p).sum(dim=1), reduction)


# --------------------------------------------------------------------------- the loss explorer (pure)


def explorer_curves(
    kind: str, grid: torch.Tensor, target: float, delta: float = 1.0
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Loss and its gradient (by autograd) for one prediction at each point of ``grid``.

    ``kind="regression"``: the grid holds predictions ŷ; curves MSE, MAE, Huber(δ).
    ``kind="binary"``: the grid holds logits z; curves BCE with logits and, for
    comparison, the squared error of the probability σ(z).
    """
    if kind not in EXPLORER_KINDS:
        raise ValueError(f"kind must be one of {', '.join(EXPLORER_KINDS)}; got {kind!r}.")
    if kind == BINARY and not 0.0 <= target <= 1.0:
        raise ValueError(f"binary targets are probabilities in [0, 1]; got {target!r}.")
    x = grid.detach().to(torch.float64).clone().requires_grad_(True)
    y = torch.full_like(x, float(target))
    if kind == REGRESSION:
        named = {
            "MSE": lambda: mse(x, y, "none"),
            "MAE": lambda: mae(x, y, "none"),
            f"Huber (δ={delta:g})": lambda: huber(x, y, delta, "none"),
        }
    else:
        named = {
            "BCE with logits": lambda: bce_with_logits(x, y, "none"),
            "squared error of σ(z)": lambda: mse(torch.sigmoid(x), y, "none"),
        }
    curves = {}
    for name, loss in named.items():
        values = loss()
        (gradient,) = torch.autograd.grad(values.sum(), x)
        curves[name] = (values.detach(), gradient.detach())
    return curves


def explorer_summary(kind: str, value: float, target: float, delta: float = 1.0) -> str:
    """One line with every loss and gradient at a single prediction (or logit)."""
    curves = explorer_curves(kind, torch.tensor([float(value)]), target, delta)
    symbol = "ŷ" if kind == REGRESSION else "z"
    parts = [f"{name}: {loss.item():.4f} (grad {grad.item():+.4f})" for name, (loss, grad) in curves.items()]
    head = f"{symbol} = {value:.2f}, y = {target:.2f}"
    if kind == BINARY:
        head += f", σ(z) = {torch.sigmoid(torch.tensor(float(value))).item():.4f}"
    return head + " | " + "; ".join(parts)


def loss_explorer_figure(
    kind: str = REGRESSION, value: float = 2.0, target: float = 1.0, delta: float = 1.0, span: float = 6.0
) -> Figure:
    """Two panels: each loss against the prediction (or logit), and its gradient; the point marked."""
    if span <= 0:
        raise ValueError(f"span must be positive; got {span!r}.")
    centre = float(target) if kind == REGRESSION else 0.0
    grid = torch.linspace(centre - span, centre + span, 401)
    curves = explorer_curves(kind, grid, target, delta)
    here = explorer_curves(kind, torch.tensor([float(value)]), target, delta)
    fig, (ax_loss, ax_grad) = plt.subplots(1, 2, figsize=(9, 3.3))
    for (name, (loss, grad)), colour in zip(curves.items(), ("C0", "C1", "C2"), strict=False):
        ax_loss.plot(grid, loss, color=colour, label=name)
        ax_grad.plot(grid, grad, color=colour, label=name)
        point_loss, point_grad = here[name]
        ax_loss.plot([value], [point_loss.item()], "o", color=colour, ms=6)
        ax_grad.plot([value], [point_grad.item()], "o", color=colour, ms=6)
    xlabel = "prediction ŷ" if kind == REGRESSION else "logit z"
    for ax in (ax_loss, ax_grad):
        ax.axvline(value, color="gray", lw=0.8, ls=":")
        ax.set_xlabel(xlabel)
    if kind == REGRESSION:
        ax_loss.set_ylim(-0.2, min(12.0, float(max(c[0].max() for c in curves.values()))) + 0.2)
        ax_loss.axvline(target, color="k", lw=0.8)
    ax_loss.set_ylabel("loss")
    ax_grad.set_ylabel("d loss / d " + ("ŷ" if kind == REGRESSION else "z"))
    ax_grad.axhline(0, color="k", lw=0.6)
    ax_loss.legend(fontsize=8)
    symbol = "ŷ" if kind == REGRESSION else "z"
    ax_loss.set_title(f"{symbol} = {value:.2f}, target y = {target:.2f}", fontsize=10)
    ax_grad.set_title("gradient (slope of the loss)", fontsize=10)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- the widget shell


class LossExplorer(Explorer):
    """Sliders for one prediction (or logit), its target and Huber's δ; redraws ``loss_explorer_figure``.

    State for tests: ``redraws``, ``status.value`` and the titles of ``fig`` (and ``live.fig``).
    """

    description = "task (regression or binary), the prediction or logit, the target and Huber's delta"

    def __init__(self, kind: str = REGRESSION, value: float = 2.0, target: float = 1.0, delta: float = 1.0):
        import ipywidgets as w

        if kind not in EXPLORER_KINDS:
            raise ValueError(f"kind must be one of {', '.join(EXPLORER_KINDS)}; got {kind!r}.")
        self.kind = w.ToggleButtons(
            options=[("regression: MSE / MAE / Huber", REGRESSION), ("binary: BCE on a logit", BINARY)],
            value=kind, description="task",
        )
        self.value = w.FloatSlider(value=value, min=-6.0, max=6.0, step=0.1, description="ŷ or z",
                                   continuous_update=False)
        self.target = w.FloatSlider(value=target, min=0.0, max=1.0, step=0.05, description="target y",
                                    continuous_update=False)
        self.delta = w.FloatSlider(value=delta, min=0.1, max=3.0, step=0.1, description="Huber δ",
                                   continuous_update=False)
        self.start(self.kind, (self.value, self.target), self.delta)

    def summary(self) -> str:
        return explorer_summary(self.kind.value, self.value.value, self.target.value, self.delta.value)

    def figure(self) -> Figure:
        return loss_explorer_figure(self.kind.value, self.value.value, self.target.value, self.delta.value)

    def on_redraw(self) -> None:
        self.status.value = self.summary()
