"""Helpers for notebook 01 (tensors): broadcasting from scratch, tables drawn as boxes, and the explorer.

* ``explain_broadcast`` (pure): the broadcasting rule written out, with a sentence that explains it.
* ``draw_table`` / ``broadcast_figure`` (draw): a 2-D tensor as a grid of boxes; ``a + b`` with the
  copies that broadcasting pretends to make shown faded.
* ``BroadcastExplorer``: the thin widget shell, a menu that picks the shape of ``b``.
* ``memory_offsets`` (pure) / ``strides_figure`` (draws): where in memory each element of a 2-D view lives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from course_utils.widgets import Explorer


def explain_broadcast(shape_a: Sequence[int], shape_b: Sequence[int]) -> tuple[tuple[int, ...] | None, str]:
    """Broadcasting from scratch: (the result shape, or None when it fails; a sentence explaining it)."""
    shape_a, shape_b = tuple(shape_a), tuple(shape_b)
    for shape in (shape_a, shape_b):
        if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
            raise ValueError(f"a shape is a sequence of sizes ≥ 0, like (2, 3); got {shape!r}.")
    n = max(len(shape_a), len(shape_b))
    a = (1,) * (n - len(shape_a)) + shape_a  # rule 1: pad with 1s on the left
    b = (1,) * (n - len(shape_b)) + shape_b
    result = []
    for dim, (p, q) in enumerate(zip(a, b, strict=True)):
        if p != q and 1 not in (p, q):  # rule 2: equal, or one of them is 1
            return None, (f"{shape_a} + {shape_b} fails: aligned on the right, size {p} meets "
                          f"size {q} in dimension {dim}, and neither is 1")
        result.append(q if p == 1 else p)  # rule 3: a 1 is stretched to the other size
    return tuple(result), f"{shape_a} + {shape_b}: as {a} and {b} -> {tuple(result)}"


def draw_table(ax, values: torch.Tensor, left: float, colour: str, faded=None, title: str = "",
               top: float = 0.0) -> None:
    """Draw a 2-D tensor as a grid of boxes whose top-left corner is at (left, top)."""
    if values.dim() != 2:
        raise ValueError(f"draw_table draws 2-D tensors; got shape {tuple(values.shape)}.")
    for (i, j), v in np.ndenumerate(values.numpy()):
        alpha = 0.2 if faded is not None and faded[i][j] else 0.7
        ax.add_patch(plt.Rectangle((left + j, top - i - 1), 1, 1, facecolor=colour, alpha=alpha, edgecolor="black"))
        ax.text(left + j + 0.5, top - i - 0.5, f"{v:g}", ha="center", va="center", fontsize=9)
    ax.text(left + values.shape[1] / 2, top + 0.35, title, ha="center", fontsize=9)


def broadcast_figure(a: torch.Tensor, b: torch.Tensor) -> Figure:
    """Picture of ``a + b`` for a 2-D ``a`` and a ``b`` of at most 2 dimensions.

    ``b`` is padded to 2-D, its stretched copies are faded, and the result is drawn; when the
    shapes do not broadcast, the title says so.
    """
    if a.dim() != 2 or b.dim() > 2:
        raise ValueError(f"broadcast_figure draws a 2-D a and a b of at most 2 dimensions; got shapes "
                         f"{tuple(a.shape)} and {tuple(b.shape)}.")
    b2 = b.reshape((1,) * (2 - b.dim()) + tuple(b.shape))
    fig, ax = plt.subplots(figsize=(7.5, 2.2))
    draw_table(ax, a, 0, "tab:blue", title=f"a {tuple(a.shape)}")
    result_shape, _ = explain_broadcast(a.shape, b.shape)
    if result_shape is None:
        draw_table(ax, b2, a.shape[1] + 1, "tab:red", title=f"b {tuple(b.shape)}")
        ax.set_title(f"{tuple(a.shape)} + {tuple(b.shape)}: cannot broadcast (sizes differ and neither is 1)",
                     color="tab:red", fontsize=10)
        width = a.shape[1] + 1 + b2.shape[1]
    else:
        result = a + b
        stretched = b2.expand_as(result)
        faded = [[(b2.shape[0] == 1 and i > 0) or (b2.shape[1] == 1 and j > 0) for j in range(result.shape[1])]
                 for i in range(result.shape[0])]
        left_b, left_r = a.shape[1] + 1, 2 * result.shape[1] + 2
        draw_table(ax, stretched, left_b, "tab:orange", faded, title=f"b {tuple(b.shape)}, stretched")
        draw_table(ax, result, left_r, "tab:green", title=f"a + b {tuple(result.shape)}")
        ax.text(left_b - 0.5, -1, "+", ha="center", va="center", fontsize=16)
        ax.text(left_r - 0.5, -1, "=", ha="center", va="center", fontsize=16)
        ax.set_title(f"{tuple(a.shape)} + {tuple(b.shape)} -> {tuple(result.shape)}", fontsize=10)
        width = left_r + result.shape[1]
    ax.set_xlim(-0.2, width + 0.2)
    ax.set_ylim(-max(a.shape[0], b2.shape[0]) - 0.2, 0.8)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig


class BroadcastExplorer(Explorer):
    """A menu of tensors ``b``; the figure shows ``a + b`` (or why it fails) and the status explains it.

    Tests set ``.shape_menu.value`` and read ``.redraws``, ``.fig``, ``.result_shape`` and ``.status.value``.
    """

    description = "a menu that picks the shape of b"

    def __init__(self, a: torch.Tensor, choices: Mapping[str, torch.Tensor], start: str | None = None) -> None:
        import ipywidgets as w

        if not choices:
            raise ValueError("choices must name at least one tensor b, e.g. {'(3,)': torch.tensor([1, 2, 3])}.")
        start = next(iter(choices)) if start is None else start
        if start not in choices:
            raise ValueError(f"start must be one of the choices {list(choices)}; got {start!r}.")
        self.a, self.choices = a, dict(choices)
        self.shape_menu = w.Dropdown(options=list(self.choices), value=start, description="shape of b")
        self.start(self.shape_menu)

    def figure(self) -> Figure:
        b = self.choices[self.shape_menu.value]
        self.result_shape, self.sentence = explain_broadcast(self.a.shape, b.shape)
        return broadcast_figure(self.a, b)

    def on_redraw(self) -> None:
        self.status.value = self.sentence


def memory_offsets(view: torch.Tensor) -> torch.Tensor:
    """For a 2-D tensor: the position in its storage of every element, ``offset + i * stride[0] + j * stride[1]``."""
    if view.dim() != 2:
        raise ValueError(f"memory_offsets reads 2-D tensors; got shape {tuple(view.shape)}.")
    rows, cols = view.shape
    s0, s1 = view.stride()
    return view.storage_offset() + torch.arange(rows)[:, None] * s0 + torch.arange(cols)[None, :] * s1


def strides_figure(views: dict[str, torch.Tensor]) -> Figure:
    """One row per 2-D view: the storage cells, coloured by the view's row that reads them, and the view as a grid
    whose cells give the memory position each element is read from."""
    if not views or any(v.dim() != 2 for v in views.values()):
        raise ValueError("strides_figure needs a dict of 2-D tensors, e.g. {'as_grid': g, 'as_grid.T': g.T}.")
    n_cells = max(int(memory_offsets(v).max()) + 1 for v in views.values())
    fig, axes = plt.subplots(len(views), 1, figsize=(9, 1.9 * len(views)))
    axes = np.atleast_1d(axes)
    for ax, (name, view) in zip(axes, views.items(), strict=True):
        offsets = memory_offsets(view)
        row_of = {int(o): i for (i, _), o in np.ndenumerate(offsets.numpy())}
        for k in range(n_cells):
            colour = plt.cm.tab10(row_of[k] % 10) if k in row_of else "white"
            ax.add_patch(plt.Rectangle((k, 0), 1, 1, facecolor=colour, alpha=0.5, edgecolor="black"))
            ax.text(k + 0.5, 0.5, str(k), ha="center", va="center", fontsize=9)
        ax.text(n_cells / 2, 1.3, "memory: 12 cells in a row (colour = the row of the view that reads them)",
                ha="center", fontsize=9)
        left = n_cells + 1.5
        for (i, j), o in np.ndenumerate(offsets.numpy()):
            ax.add_patch(plt.Rectangle((left + j * 0.8, 0.9 - (i + 1) * 0.8 + 0.8), 0.8, 0.8,
                                       facecolor=plt.cm.tab10(i % 10), alpha=0.5, edgecolor="black"))
            ax.text(left + j * 0.8 + 0.4, 0.9 - i * 0.8 + 0.4, str(o), ha="center", va="center", fontsize=8)
        ax.text(left + view.shape[1] * 0.4, 1.9, f"{name}: shape {tuple(view.shape)}, strides {view.stride()}",
                ha="center", fontsize=9)
        ax.set_xlim(-0.2, left + view.shape[1] * 0.8 + 0.5)
        ax.set_ylim(0.9 - (view.shape[0] - 1) * 0.8 - 0.2, 2.3)
        ax.set_aspect("equal")
        ax.axis("off")
    fig.tight_layout()
    return fig
