"""Plots used across the course. Each function draws one figure and returns it.

End the calling line with ``;`` in a notebook so only the picture shows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure


def _as_images(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """(N, H, W), (N, 1, H, W), (N, 3, H, W) or (N, H*W square) -> (N, H, W[, 3]) array."""
    array = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if array.ndim == 2:
        side = int(round(array.shape[1] ** 0.5))
        if side * side != array.shape[1]:
            raise ValueError(
                f"image_grid got a 2-D array of shape {array.shape}: rows must be flattened square images "
                "(e.g. 64 = 8x8), or pass (N, H, W) / (N, C, H, W)."
            )
        return array.reshape(-1, side, side)
    if array.ndim == 3:
        return array
    if array.ndim == 4 and array.shape[1] in (1, 3):
        return array[:, 0] if array.shape[1] == 1 else array.transpose(0, 2, 3, 1)
    raise ValueError(
        f"image_grid expects (N, H, W), (N, 1, H, W), (N, 3, H, W) or flattened square images; "
        f"got shape {tuple(array.shape)}."
    )


def finish(fig: Figure, title: str | None = None) -> Figure:
    """Give a figure its overall title (if any) and a tight layout; return it."""
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def square_frame(ax, limit: float, title: str) -> None:
    """A square panel from -limit to limit on both axes, without ticks, with a small title."""
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)


def image_grid(images: torch.Tensor | np.ndarray, labels: Sequence | None = None, *, ncols: int = 8,
               cmap: str = "gray_r", title: str | None = None, size: float = 0.9) -> Figure:
    """Show images in a grid, with an optional label above each one."""
    pictures = _as_images(images)
    n = len(pictures)
    if n == 0:
        raise ValueError("image_grid got no images.")
    if labels is not None and len(labels) != n:
        raise ValueError(f"image_grid got {n} images but {len(labels)} labels; pass one label per image.")
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.3 if title else 0)))
    axes = np.atleast_1d(axes).ravel()
    for i, ax in enumerate(axes):
        ax.axis("off")
        if i < n:
            ax.imshow(pictures[i], cmap=None if pictures[i].ndim == 3 else cmap)
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=8, pad=2)
    return finish(fig, title)


def loss_curves(history: Mapping[str, Sequence[float]], *, xlabel: str = "epoch", ylabel: str = "loss", title: str | None = None,
                logy: bool = False) -> Figure:
    """Plot one line per named series, e.g. ``{"train": [...], "validation": [...]}``."""
    if not history:
        raise ValueError("loss_curves got an empty history: pass e.g. {'train': [0.9, 0.5, 0.3]}.")
    fig, ax = plt.subplots()
    for name, values in history.items():
        values = [float(v) for v in values]
        ax.plot(range(1, len(values) + 1), values, label=name, marker="o" if len(values) <= 30 else None, ms=3)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig


def decision_boundary(predict: Callable[[torch.Tensor], torch.Tensor], X: torch.Tensor, y: torch.Tensor, *, ax=None,
                      resolution: int = 150, title: str | None = None, padding: float = 0.5) -> Figure:
    """Colour the plane by ``predict`` (points (N, 2) -> class ids (N,)) and scatter the data."""
    if X.dim() != 2 or X.shape[1] != 2:
        raise ValueError(f"decision_boundary needs 2-D points of shape (N, 2); got {tuple(X.shape)}.")
    fig = ax.figure if ax is not None else plt.subplots(figsize=(4.2, 3.6))[0]
    ax = ax if ax is not None else fig.axes[0]
    x_min, y_min = (X.min(0).values - padding).tolist()
    x_max, y_max = (X.max(0).values + padding).tolist()
    gx, gy = torch.meshgrid(
        torch.linspace(x_min, x_max, resolution), torch.linspace(y_min, y_max, resolution), indexing="xy"
    )
    grid = torch.stack([gx.ravel(), gy.ravel()], dim=1)
    with torch.no_grad():
        zz = predict(grid).reshape(gx.shape).float()
    ax.contourf(gx, gy, zz, alpha=0.25, cmap="coolwarm", levels=np.arange(-0.5, int(zz.max()) + 1.5))
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", s=12, edgecolors="k", linewidths=0.3)
    ax.set_xlim(x_min, x_max)
    ax.set_ylim(y_min, y_max)
    if title:
        ax.set_title(title)
    return fig


def confusion_heatmap(y_true: torch.Tensor | np.ndarray | Sequence[int],
                      y_pred: torch.Tensor | np.ndarray | Sequence[int], labels: Sequence | None = None, *,
                      normalize: bool = False, title: str = "Confusion matrix", ax=None) -> Figure:
    """A confusion matrix (rows: true class, columns: predicted class) as a seaborn heat map.

    Counts come from ``sklearn.metrics.confusion_matrix``; with ``normalize`` each row is divided
    by its total, so a cell reads "the fraction of class i predicted as j".
    """
    import seaborn as sns
    from sklearn.metrics import confusion_matrix

    t = np.asarray(y_true.cpu() if isinstance(y_true, torch.Tensor) else y_true).ravel()
    p = np.asarray(y_pred.cpu() if isinstance(y_pred, torch.Tensor) else y_pred).ravel()
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.size} labels but y_pred has {p.size}: pass one prediction per example.")
    classes = np.arange(len(labels)) if labels is not None else np.union1d(t, p)
    matrix = confusion_matrix(t, p, labels=classes).astype(float)
    if normalize:
        matrix = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    if ax is None:
        fig, ax = plt.subplots(figsize=(1.0 + 0.45 * len(classes), 0.6 + 0.4 * len(classes)))
    else:
        fig = ax.figure
    names = list(labels) if labels is not None else [str(c) for c in classes]
    sns.heatmap(matrix, annot=True, fmt=".2f" if normalize else ".0f", cmap="Blues", cbar=False,
                xticklabels=names, yticklabels=names, square=True, ax=ax, annot_kws={"fontsize": 8})
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    return fig
