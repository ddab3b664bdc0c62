"""Helpers for notebook 02 (layers): the loan perceptron and its explorer.

* ``loan_scores`` (pure): z = X @ w + b for every 0/1 applicant, and who is approved (z > 0).
* ``loan_figure`` (draws): the eight scores as bars, green when approved.
* ``LoanExplorer``: the thin widget shell, three weight sliders and a bias slider.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from course_utils.data.toys import binary_inputs
from course_utils.widgets import Explorer

LOAN_FACTS = ("income", "credit", "low debt")


def loan_scores(weights: Sequence[float], bias: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """All 0/1 applicants X (2**k, k), their scores z = X @ w + b (2**k,), and approved = z > 0."""
    weights = [float(v) for v in weights]
    if not weights:
        raise ValueError("weights needs at least one number, one per yes/no fact.")
    X = binary_inputs(len(weights))
    z = X @ torch.tensor(weights, dtype=torch.float32) + float(bias)
    return X, z, z > 0


def loan_figure(weights: Sequence[float], bias: float) -> Figure:
    """z = w·x + b for every applicant as a bar, green when approved (z > 0)."""
    X, z, approved = loan_scores(weights, bias)
    fig, ax = plt.subplots(figsize=(7, 2.6))
    labels = ["".join(str(int(v)) for v in row) for row in X.tolist()]
    ax.bar(labels, z.numpy(), color=["C2" if a else "C7" for a in approved.tolist()])
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xlabel("applicant (" + ", ".join(LOAN_FACTS[: X.shape[1]]) + ")")
    ax.set_ylabel("z = w·x + b")
    shown = ", ".join(f"{v:.1f}" for v in weights)
    ax.set_title(f"w = ({shown}), b = {bias:.1f}: {int(approved.sum())} of {len(z)} approved (green)", fontsize=10)
    return fig


def describe_rule(approved: torch.Tensor, X: torch.Tensor) -> str:
    """Name the rule that the approved rows follow: a count of the conditions met, or one condition alone."""
    met = X.sum(dim=1)
    k = X.shape[1]
    if approved.all():
        return "everybody is approved"
    if not approved.any():
        return "nobody is approved"
    for m in range(1, k + 1):
        if torch.equal(approved, met >= m):
            return f"only applicants meeting all {k} conditions" if m == k else f"at least {m} of the {k} conditions"
    for m in range(k):
        if torch.equal(approved, met <= m):
            return f"at most {m} of the {k} conditions" if m else "only applicants meeting none of the conditions"
    for i in range(k):
        if torch.equal(approved, X[:, i] > 0.5):
            name = f" ({LOAN_FACTS[i]})" if k == len(LOAN_FACTS) else ""
            return f"exactly condition {i + 1}{name} decides: the others do not matter"
    return "not a count rule: which conditions are met matters, not just how many"


class LoanExplorer(Explorer):
    """Sliders for the weights and the bias of the loan perceptron; bars show who is approved.

    Tests set ``.sliders["b"].value`` (or ``"w1"``...) and read ``.redraws``, ``.fig``,
    ``.approved`` and ``.status.value``.
    """

    description = "sliders for the three weights w1, w2, w3 and the bias b"

    def __init__(self, weights: Sequence[float] = (0.8, 0.6, 0.9), bias: float = -1.2) -> None:
        import ipywidgets as w

        if len(weights) != 3:
            raise ValueError(f"the loan perceptron has three weights, one per fact; got {len(weights)}.")
        values = [*(float(v) for v in weights), float(bias)]
        if not all(-3.0 <= v <= 3.0 for v in values):
            raise ValueError(f"weights and bias must lie in [-3, 3], the sliders' range; got {values}.")
        self.sliders = {name: w.FloatSlider(value=value, min=-3.0, max=3.0, step=0.1, description=name,
                                            continuous_update=False)
                        for name, value in zip(("w1", "w2", "w3", "b"), values, strict=True)}
        self.start(*self.sliders.values())

    def _settings(self) -> tuple[list[float], float]:
        s = self.sliders
        return [s["w1"].value, s["w2"].value, s["w3"].value], s["b"].value

    def figure(self) -> Figure:
        weights, bias = self._settings()
        X, z, self.approved = loan_scores(weights, bias)
        self.rule = describe_rule(self.approved, X)
        closest = int(z.abs().argmin())
        self.closest = ("".join(str(int(v)) for v in X[closest].tolist()), float(z[closest]))
        return loan_figure(weights, bias)

    def on_redraw(self) -> None:
        applicant, score = self.closest
        self.status.value = (f"{int(self.approved.sum())} of 8 approved: {self.rule}; "
                             f"closest call: applicant {applicant} at z = {score:+.2f}")
