"""The training loop of notebook 06, packaged for later notebooks: ``fit`` and ``evaluate``.

Nothing is hidden: ``fit`` runs exactly the loop notebook 06 writes by hand
(``zero_grad`` -> forward -> loss -> ``backward`` -> ``step``), adds a progress
bar, a history, optional early stopping, and stops with a clear message when the
loss stops being a finite number.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.data import DataLoader


class TrainingDiverged(RuntimeError):
    """The loss became inf or NaN: the learning rate is usually too high."""

    def __init__(self, step: int, last_finite_loss: float | None, lr: float | None = None) -> None:
        self.step = step
        self.last_finite_loss = last_finite_loss
        last = "none" if last_finite_loss is None else f"{last_finite_loss:.4g}"
        advice = f" Lower the learning rate (it was {lr:g}) and run again." if lr else " Lower the learning rate."
        super().__init__(f"Training diverged at step {step}: the loss became inf/NaN (last finite loss {last}).{advice}")


@dataclass
class History:
    """Per-epoch figures of a ``fit`` run."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_metric: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False

    def as_dict(self) -> dict[str, list[float]]:
        curves = {"train": self.train_loss}
        if self.val_loss:
            curves["validation"] = self.val_loss
        return curves


def accuracy(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Fraction of rows whose largest logit is the target class."""
    if logits.dim() != 2 or targets.dim() != 1 or len(logits) != len(targets):
        raise ValueError(
            f"accuracy needs logits (N, classes) and integer targets (N,); got {tuple(logits.shape)} "
            f"and {tuple(targets.shape)}."
        )
    return (logits.argmax(dim=1) == targets).float().mean().item()


def _current_lr(optimizer: torch.optim.Optimizer) -> float:
    return float(optimizer.param_groups[0]["lr"])


@torch.no_grad()
def predict(
    model: nn.Module, loader: DataLoader, device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """All outputs and targets of a loader, in eval mode and without gradients.

    Returns ``(outputs, targets)`` concatenated over the batches; the model's train/eval mode is
    put back as it was.
    """
    was_training = model.training
    model.eval()
    try:
        outputs, targets = [], []
        for xb, yb in loader:
            outputs.append(model(xb.to(device)))
            targets.append(yb.to(device))
    finally:
        model.train(was_training)
    if not outputs:
        raise ValueError("got an empty loader: there is nothing to predict (check the data split).")
    return torch.cat(outputs), torch.cat(targets)


def evaluate(model: nn.Module, loader: DataLoader, loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
             metric: Callable[[torch.Tensor, torch.Tensor], float] | None = accuracy,
             device: torch.device | str = "cpu") -> tuple[float, float | None]:
    """Mean loss and metric over a loader, from ``predict`` (eval mode, no gradients).

    ``loss_fn`` must average over examples (the default ``reduction="mean"``).
    """
    outputs, targets = predict(model, loader, device)
    value = metric(outputs, targets) if metric is not None else None
    return loss_fn(outputs, targets).item(), value


def fit(model: nn.Module, train_loader: DataLoader, loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        optimizer: torch.optim.Optimizer, epochs: int, *, val_loader: DataLoader | None = None,
        metric: Callable[[torch.Tensor, torch.Tensor], float] | None = accuracy,
        scheduler: torch.optim.lr_scheduler.LRScheduler | None = None, patience: int | None = None,
        device: torch.device | str = "cpu", progress: bool = True, description: str = "training") -> History:
    """Train ``model`` for ``epochs`` epochs and return the per-epoch history.

    Args:
        patience: stop when the validation loss has not improved for this many epochs,
            and restore the best weights (needs ``val_loader``).
        scheduler: stepped once per epoch (``ReduceLROnPlateau`` gets the validation loss).
        progress: show a ``tqdm`` progress bar over epochs.

    Raises:
        TrainingDiverged: the loss became inf or NaN (says at which step).
    """
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int; got {epochs!r}.")
    if patience is not None and val_loader is None:
        raise ValueError("early stopping (patience=...) needs a val_loader to watch.")
    history = History()
    best_loss, best_state, bad_epochs, step = math.inf, None, 0, 0
    last_finite: float | None = None
    epoch_iter = range(epochs)
    if progress:
        from tqdm.auto import tqdm

        epoch_iter = tqdm(epoch_iter, desc=description, leave=False)
    for epoch in epoch_iter:
        model.train()
        running, seen = 0.0, 0
        for xb, yb in train_loader:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            step += 1
            if not torch.isfinite(loss):
                raise TrainingDiverged(step, last_finite, _current_lr(optimizer))
            loss.backward()
            optimizer.step()
            last_finite = loss.item()
            running += last_finite * len(yb)
            seen += len(yb)
        history.train_loss.append(running / seen)
        if val_loader is not None:
            val_loss, val_metric = evaluate(model, val_loader, loss_fn, metric, device)
            history.val_loss.append(val_loss)
            if val_metric is not None:
                history.val_metric.append(val_metric)
            if val_loss < best_loss:
                best_loss, bad_epochs, history.best_epoch = val_loss, 0, epoch + 1
                if patience is not None:
                    best_state = copy.deepcopy(model.state_dict())
            else:
                bad_epochs += 1
        if scheduler is not None:
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(history.val_loss[-1] if history.val_loss else history.train_loss[-1])
            else:
                scheduler.step()
        if patience is not None and bad_epochs >= patience:
            history.stopped_early = True
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    return history
