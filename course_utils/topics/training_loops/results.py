"""Look at what a trained model predicts: metrics, a predicted-vs-true scatter, a prediction browser.

The outputs come from ``training.predict``. The metrics and the table are pure functions; ``show_results`` draws; ``PredictionBrowser`` is a thin widget shell
that shows one row of a prediction table at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from torch import nn
from torch.utils.data import DataLoader

from course_utils.training import predict


def _as_array(values: torch.Tensor | np.ndarray | Sequence[float]) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=np.float64)


def regression_metrics(
    y_true: torch.Tensor | np.ndarray | Sequence[float], y_pred: torch.Tensor | np.ndarray | Sequence[float]
) -> dict[str, float]:
    """MSE, MAE and R² (1 - SS_res / SS_tot) of predictions; R² can be negative on held-out data."""
    t, p = _as_array(y_true).ravel(), _as_array(y_pred).ravel()
    if t.shape != p.shape:
        raise ValueError(
            f"y_true has {t.size} values but y_pred has {p.size}: pass one prediction per target "
            "(squeeze a (N, 1) output to (N,))."
        )
    if t.size < 2:
        raise ValueError("R² needs at least two targets.")
    residual = t - p
    ss_tot = float(((t - t.mean()) ** 2).sum())
    if ss_tot == 0:
        raise ValueError("all targets are equal, so R² is undefined (it divides by their variance).")
    return {
        "mse": float((residual**2).mean()),
        "mae": float(np.abs(residual).mean()),
        "r2": 1.0 - float((residual**2).sum()) / ss_tot,
    }


def predicted_vs_true(y_true: torch.Tensor | np.ndarray | Sequence[float],
                      y_pred: torch.Tensor | np.ndarray | Sequence[float], *, title: str | None = None, unit: str = "",
                      ax=None) -> Figure:
    """Scatter predictions against the truth, with the diagonal (perfect predictions) and R² in the title."""
    t, p = _as_array(y_true).ravel(), _as_array(y_pred).ravel()
    metrics = regression_metrics(t, p)
    fig = ax.figure if ax is not None else plt.subplots(figsize=(4.2, 3.8))[0]
    ax = ax if ax is not None else fig.axes[0]
    ax.scatter(t, p, s=8, alpha=0.5, edgecolors="none")
    low, high = float(min(t.min(), p.min())), float(max(t.max(), p.max()))
    ax.plot([low, high], [low, high], color="k", lw=1, ls="--", label="perfect prediction")
    suffix = f" ({unit})" if unit else ""
    ax.set_xlabel(f"true{suffix}")
    ax.set_ylabel(f"predicted{suffix}")
    ax.set_title(f"{title + ': ' if title else ''}R² = {metrics['r2']:.3f}", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def show_results(model: nn.Module, loader: DataLoader, *,
                 to_original: Callable[[torch.Tensor], torch.Tensor] | None = None, title: str | None = None,
                 unit: str = "") -> Figure:
    """Predict a loader with a regression model and draw predicted vs true.

    ``to_original`` maps outputs and targets back to the original units (e.g. undo a standardised
    log target) before plotting.
    """
    outputs, targets = predict(model, loader)
    outputs, targets = outputs.reshape(-1), targets.reshape(-1)
    if to_original is not None:
        outputs, targets = to_original(outputs), to_original(targets)
    return predicted_vs_true(targets, outputs, title=title, unit=unit)


def prediction_table(frame: pd.DataFrame, y_true: torch.Tensor | np.ndarray | Sequence,
                     y_pred: torch.Tensor | np.ndarray | Sequence, *, class_names: Sequence[str] | None = None,
                     columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The rows of ``frame`` with their true and predicted values, worst first.

    With ``class_names`` (classification: integer labels) the mistakes come first; otherwise
    (regression) rows are sorted by absolute error, largest first. The index of ``frame`` is kept.
    """
    t, p = np.asarray(_as_array(y_true)).ravel(), np.asarray(_as_array(y_pred)).ravel()
    if not len(frame) == len(t) == len(p):
        raise ValueError(f"frame has {len(frame)} rows, y_true {len(t)} and y_pred {len(p)}: they must match.")
    table = frame.loc[:, list(columns)].copy() if columns is not None else frame.copy()
    if class_names is not None:
        names = list(class_names)
        table["true"] = [names[int(i)] for i in t]
        table["predicted"] = [names[int(i)] for i in p]
        table["correct"] = t.astype(int) == p.astype(int)
        return table.sort_values("correct", kind="stable")
    table["true"] = t
    table["predicted"] = p
    table["abs_error"] = np.abs(t - p)
    return table.sort_values("abs_error", ascending=False, kind="stable")


class PredictionBrowser:
    """Step through a prediction table one row at a time (a slider; the row is an ordinary output).

    It follows the course's widget protocol (``course_utils.widgets``): the constructor shows
    nothing; ``browser.show()`` displays the slider and the row. The row is text, not a figure, so
    it is not an ``Explorer``; ``redraws`` counts row changes and ``text`` is the row shown.
    """

    def __init__(self, table: pd.DataFrame) -> None:
        import ipywidgets as w

        if len(table) == 0:
            raise ValueError("PredictionBrowser got an empty table: pass prediction_table(...) of at least one row.")
        self.table = table
        self.slider = w.IntSlider(value=0, min=0, max=len(table) - 1, description="row", continuous_update=False)
        self.text = self.row_text(0)
        self.redraws = 0
        self._handle = None
        self.slider.observe(lambda change: self.show_row(change["new"]), names="value")

    def show(self) -> None:
        """Display the slider (with a plain-text fallback) and the current row. Returns None."""
        from IPython.display import display

        from course_utils.widgets import show_controls

        show_controls(self.slider, f"a slider that steps through the {len(self.table)} rows, worst first")
        self._handle = display({"text/plain": self.text}, raw=True, display_id=True)

    def row_text(self, position: int) -> str:
        """One row as 'column: value' lines."""
        row = self.table.iloc[position]
        lines = [f"row {position + 1} of {len(self.table)} (index {self.table.index[position]})"]
        for name, value in row.items():
            shown = f"{value:.4g}" if isinstance(value, float | np.floating) else str(value)
            lines.append(f"  {name}: {shown}")
        return "\n".join(lines)

    def show_row(self, position: int) -> None:
        self.text = self.row_text(position)
        self.redraws += 1
        if self._handle is not None:
            self._handle.update({"text/plain": self.text}, raw=True)
