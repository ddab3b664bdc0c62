"""Evaluation, class imbalance and tuning, from scratch (notebook 16).

* Counting: ``confusion_matrix``, ``precision_recall_f1`` (the same numbers as scikit-learn,
  with 0 where a ratio is undefined).
* Ranking: ``roc_curve``, ``precision_recall_curve``, ``auc`` (trapezoids) and
  ``average_precision`` (steps), equal to scikit-learn's ``roc_curve`` (with
  ``drop_intermediate=False``), ``precision_recall_curve``, ``roc_auc_score`` and
  ``average_precision_score``.
* Calibration: ``reliability_bins`` (the bins of ``sklearn.calibration.calibration_curve``),
  ``expected_calibration_error`` and ``fit_temperature``.
* Resampling: ``kfold_indices``, ``stratified_kfold_indices``, ``mcnemar_exact`` and
  ``paired_bootstrap``.
* Training small models: ``fit_full_batch`` (one optimizer, full-batch steps, an optional
  callback per step) and ``digits_mlp``.
* Pictures: ``confusion_heatmap`` (seaborn), ``threshold_figure`` and ``reliability_figure``;
  ``ThresholdExplorer`` is the thin widget shell around ``threshold_figure``.

Everything except ``ThresholdExplorer`` is pure. Labels are 0/1 (or class indices), scores
are any real numbers where larger means "more likely positive".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from course_utils.widgets import Explorer

# --------------------------------------------------------------------------- input checks


def _vector(values, name: str) -> torch.Tensor:
    if not isinstance(values, torch.Tensor):
        try:
            values = torch.as_tensor(np.asarray(values))
        except Exception as error:
            raise ValueError(f"{name} must be a 1-D tensor (or array); got {type(values).__name__}.") from error
    if values.dim() != 1:
        raise ValueError(f"{name} must be 1-D, one value per sample; got shape {tuple(values.shape)}. "
                         "Flatten it with .flatten() or pick the column you mean.")
    return values.detach().cpu()


def _vectors(first, second, names: tuple[str, str], dtype: torch.dtype,
             rule: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Two 1-D inputs of equal length, as ``dtype``; ``rule`` is the error's first half."""
    a, b = _vector(first, names[0]).to(dtype), _vector(second, names[1]).to(dtype)
    if len(a) != len(b):
        rule = rule or f"{names[0]} and {names[1]} must have the same length"
        raise ValueError(f"{rule}; got {len(a)} and {len(b)}.")
    return a, b


_SAME_SAMPLES = "both models must be scored on the same samples"


def _binary(labels, scores, *, need_both: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    y, s = _vector(labels, "labels"), _vector(scores, "scores").to(torch.float64)
    if len(y) != len(s):
        raise ValueError(f"labels and scores must have the same length; got {len(y)} and {len(s)}.")
    if len(y) == 0:
        raise ValueError("labels and scores are empty: pass at least one sample.")
    values = set(torch.unique(y).tolist())
    if not values <= {0, 1}:
        raise ValueError(f"labels must be 0 (negative) or 1 (positive); found {sorted(values)}. "
                         "For a class k against the rest, pass (y == k).")
    if need_both and len(values) < 2:
        raise ValueError("labels hold only one class: a curve needs at least one positive and one negative.")
    if torch.isnan(s).any():
        raise ValueError("scores contain NaN: check the model's outputs.")
    return y.to(torch.int64), s


# --------------------------------------------------------------------------- counting


def confusion_matrix(y_true, y_pred, n_classes: int | None = None) -> torch.Tensor:
    """Counts ``C[i, j]`` of samples of true class ``i`` predicted as ``j`` (int64, like scikit-learn)."""
    t, p = _vectors(y_true, y_pred, ("y_true", "y_pred"), torch.int64)
    if len(t) and min(t.min().item(), p.min().item()) < 0:
        raise ValueError("class labels must be non-negative integers 0, 1, 2, ...")
    k = n_classes if n_classes is not None else int(max(t.max().item(), p.max().item())) + 1 if len(t) else 0
    if len(t) and max(t.max().item(), p.max().item()) >= k:
        raise ValueError(f"a label is {max(t.max().item(), p.max().item())}, but n_classes is {k}.")
    return torch.bincount(t * k + p, minlength=k * k).view(k, k)


def _ratio(top: float, bottom: float) -> float:
    return top / bottom if bottom else 0.0


def precision_recall_f1(y_true, y_pred) -> tuple[float, float, float]:
    """Precision TP/(TP+FP), recall TP/(TP+FN) and F1, their harmonic mean (0 when undefined)."""
    (tn, fp), (fn, tp) = confusion_matrix(y_true, y_pred, n_classes=2).tolist()
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return precision, recall, _ratio(2 * precision * recall, precision + recall)


def metrics_at(labels, scores, threshold: float) -> dict[str, float]:
    """Accuracy, precision, recall, F1 and the confusion counts when ``score >= threshold`` says positive."""
    y, s = _binary(labels, scores, need_both=False)
    predicted = (s >= threshold).to(torch.int64)
    (tn, fp), (fn, tp) = confusion_matrix(y, predicted, n_classes=2).tolist()
    precision, recall, f1 = precision_recall_f1(y, predicted)
    return {"accuracy": (tp + tn) / len(y), "precision": precision, "recall": recall, "f1": f1,
            "tp": tp, "fp": fp, "fn": fn, "tn": tn}


# --------------------------------------------------------------------------- ranking curves


def _cumulative_counts(labels, scores) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """False and true positives when the threshold is each distinct score, from the highest down."""
    y, s = _binary(labels, scores)
    order = torch.argsort(s, descending=True, stable=True)
    s, y = s[order], y[order]
    last_of_each_score = torch.cat([torch.nonzero(s[1:] != s[:-1]).flatten(), torch.tensor([len(s) - 1])])
    tps = torch.cumsum(y, 0)[last_of_each_score]
    fps = (last_of_each_score + 1) - tps
    return fps.to(torch.float64), tps.to(torch.float64), s[last_of_each_score]


def roc_curve(labels, scores) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """False-positive rate, true-positive rate and thresholds, starting at (0, 0) with threshold +inf."""
    fps, tps, thresholds = _cumulative_counts(labels, scores)
    fpr = torch.cat([torch.zeros(1, dtype=torch.float64), fps / fps[-1]])
    tpr = torch.cat([torch.zeros(1, dtype=torch.float64), tps / tps[-1]])
    return fpr, tpr, torch.cat([torch.tensor([math.inf], dtype=torch.float64), thresholds])


def precision_recall_curve(labels, scores) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Precision, recall and thresholds in scikit-learn's order: thresholds rising, recall falling,
    and a last point (recall 0, precision 1) with no threshold."""
    fps, tps, thresholds = _cumulative_counts(labels, scores)
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    one, zero = torch.ones(1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)
    return torch.cat([precision.flip(0), one]), torch.cat([recall.flip(0), zero]), thresholds.flip(0)


def auc(x: torch.Tensor, y: torch.Tensor) -> float:
    """Area under a curve through the points (x, y) by the trapezoid rule (x sorted either way)."""
    x, y = _vector(x, "x").to(torch.float64), _vector(y, "y").to(torch.float64)
    if len(x) != len(y) or len(x) < 2:
        raise ValueError(f"auc needs two equally long vectors with at least 2 points; got {len(x)} and {len(y)}.")
    area = torch.trapezoid(y, x).item()
    return abs(area)


def average_precision(labels, scores) -> float:
    """AP = Σ (R_n − R_{n−1}) P_n: the precision at each threshold, weighted by the recall it adds."""
    precision, recall, _ = precision_recall_curve(labels, scores)
    return float(-(torch.diff(recall) * precision[:-1]).sum())


# --------------------------------------------------------------------------- calibration


def reliability_bins(confidences, correct, n_bins: int = 10) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per equal-width bin of confidence: mean confidence, fraction correct, count (empty bins: NaN, NaN, 0).

    A confidence ``c`` falls in bin ``k`` when ``edge[k] < c <= edge[k+1]`` (0 goes in the first bin),
    the convention of ``sklearn.calibration.calibration_curve``.
    """
    if not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive int; got {n_bins!r}.")
    c, ok = _vectors(confidences, correct, ("confidences", "correct"), torch.float64)
    if len(c) and (c.min() < 0 or c.max() > 1):
        raise ValueError("confidences must be probabilities in [0, 1]: apply sigmoid/softmax to the logits first.")
    edges = torch.linspace(0, 1, n_bins + 1, dtype=torch.float64)
    which = torch.bucketize(c, edges[1:-1])
    count = torch.bincount(which, minlength=n_bins).to(torch.float64)
    conf_sum = torch.bincount(which, weights=c, minlength=n_bins)
    ok_sum = torch.bincount(which, weights=ok, minlength=n_bins)
    return conf_sum / count, ok_sum / count, count.to(torch.int64)


def expected_calibration_error(confidences, correct, n_bins: int = 10) -> float:
    """ECE = Σ_k (n_k / n) · |accuracy_k − confidence_k| over equal-width confidence bins."""
    mean_conf, accuracy, count = reliability_bins(confidences, correct, n_bins)
    used = count > 0
    weights = count[used].to(torch.float64) / count.sum()
    return float((weights * (accuracy[used] - mean_conf[used]).abs()).sum())


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor, max_iter: int = 100) -> float:
    """The temperature T > 0 that minimises the cross-entropy of ``logits / T`` (LBFGS on log T)."""
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2:
        raise ValueError("logits must be a (N, classes) tensor of raw scores (before softmax).")
    if not isinstance(labels, torch.Tensor) or labels.shape != logits.shape[:1]:
        raise ValueError(f"labels must be a (N,) tensor of class indices matching logits {tuple(logits.shape)}.")
    z = logits.detach().to(torch.float64)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.5, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(z / log_t.exp(), labels)
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(log_t.exp().item())


# --------------------------------------------------------------------------- resampling and comparisons


def kfold_indices(n: int, k: int, seed: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` (train, test) index pairs; the test parts partition 0..n-1 into consecutive blocks
    (the first ``n % k`` one longer), after a seeded shuffle when ``seed`` is given.

    Without ``seed`` this is ``sklearn.model_selection.KFold(k)``."""
    if not isinstance(k, int) or not 2 <= k <= n:
        raise ValueError(f"k must be an int between 2 and the number of samples ({n}); got {k!r}.")
    order = np.arange(n) if seed is None else np.random.default_rng(seed).permutation(n)
    sizes = np.full(k, n // k)
    sizes[: n % k] += 1
    folds, start = [], 0
    for size in sizes:
        test = np.sort(order[start:start + size])
        folds.append((np.setdiff1d(np.arange(n), test), test))
        start += size
    return folds


def stratified_kfold_indices(labels, k: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Like ``kfold_indices``, but each class is shuffled and dealt out over the folds in turn,
    so every fold keeps the class proportions (to within one sample per class)."""
    y = _vector(labels, "labels").numpy()
    counts = np.bincount(y.astype(np.int64))
    if not isinstance(k, int) or k < 2 or counts[counts > 0].min() < k:
        raise ValueError(f"k must be an int ≥ 2 and no larger than the smallest class ({counts[counts > 0].min()}); "
                         f"got {k!r}.")
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(y), dtype=np.int64)
    offset = 0
    for cls in np.flatnonzero(counts):
        members = rng.permutation(np.flatnonzero(y == cls))
        fold_of[members] = (offset + np.arange(len(members))) % k
        offset += len(members)  # the next class starts where this one stopped, so fold sizes stay even
    return [(np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)) for f in range(k)]


def mcnemar_exact(correct_a, correct_b) -> tuple[int, int, float]:
    """McNemar's exact test on paired results: (b, c, two-sided p-value).

    ``b`` counts samples that A gets right and B wrong, ``c`` the reverse; under "both models are
    equally good", b ~ Binomial(b + c, 1/2). Samples that both get right (or wrong) do not count.
    """
    a, b_ = _vectors(correct_a, correct_b, ("correct_a", "correct_b"), torch.bool, _SAME_SAMPLES)
    b, c = int((a & ~b_).sum()), int((~a & b_).sum())
    n = b + c
    if n == 0:
        return b, c, 1.0
    low = min(b, c)
    tail = sum(math.comb(n, i) for i in range(low + 1)) / 2**n
    return b, c, min(1.0, 2 * tail)


def paired_difference_se(b: int, c: int, n: int) -> float:
    """Standard error of accuracy(A) − accuracy(B) on ``n`` paired samples with ``b`` and ``c`` disagreements:
    sqrt((b + c)/n − ((b − c)/n)²) / sqrt(n)."""
    if not all(isinstance(v, int) and v >= 0 for v in (b, c, n)) or b + c > n or n == 0:
        raise ValueError(f"b, c and n must be counts with b + c <= n and n > 0; got b={b!r}, c={c!r}, n={n!r}.")
    if b + c == 0:
        raise ValueError("the two models never disagree (b + c = 0), so the paired difference has no spread: "
                         "compare models that make different mistakes, or use a larger test set.")
    return math.sqrt((b + c) / n - ((b - c) / n) ** 2) / math.sqrt(n)


def paired_bootstrap(correct_a, correct_b, n_resamples: int = 2000, seed: int = 0) -> torch.Tensor:
    """Accuracy(A) − accuracy(B) on ``n_resamples`` resamples of the test set (the same samples for both)."""
    a, b = _vectors(correct_a, correct_b, ("correct_a", "correct_b"), torch.float64, _SAME_SAMPLES)
    if not isinstance(n_resamples, int) or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive int; got {n_resamples!r}.")
    g = torch.Generator().manual_seed(seed)
    picks = torch.randint(len(a), (n_resamples, len(a)), generator=g)
    return (a - b)[picks].mean(dim=1)


# --------------------------------------------------------------------------- small models


def digits_mlp(hidden: int = 32, n_inputs: int = 64, n_outputs: int = 10) -> nn.Sequential:
    """A one-hidden-layer ReLU network for the 8x8 digits."""
    return nn.Sequential(nn.Linear(n_inputs, hidden), nn.ReLU(), nn.Linear(hidden, n_outputs))


def fit_full_batch(model: nn.Module, X: torch.Tensor, y: torch.Tensor,
                   loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], *, steps: int, lr: float,
                   weight_decay: float = 0.0, on_step: Callable[[int, nn.Module], bool | None] | None = None
                   ) -> nn.Module:
    """Train with AdamW on the whole training set at every step; returns the model (in eval mode).

    ``on_step(step, model)`` runs after each step (1-based); when it returns True, training stops.
    A one-output model gets its output squeezed to (N,), the shape ``BCEWithLogitsLoss`` wants.
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int; got {steps!r}.")
    if not lr > 0:
        raise ValueError(f"lr must be positive; got {lr!r}.")
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    model.train()
    for step in range(1, steps + 1):
        optimizer.zero_grad()
        out = model(X)
        loss = loss_fn(out.squeeze(1) if out.dim() == 2 and out.shape[1] == 1 else out, y)
        loss.backward()
        optimizer.step()
        if on_step is not None and on_step(step, model):
            break
    return model.eval()


@torch.no_grad()
def outputs(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """The model's raw outputs in eval mode; a single output column is squeezed to (N,)."""
    model.eval()
    out = model(X)
    return out.squeeze(1) if out.dim() == 2 and out.shape[1] == 1 else out


# --------------------------------------------------------------------------- pictures


def confusion_heatmap(ax, matrix: torch.Tensor, class_names: Sequence[str], title: str = "") -> None:
    """Draw a confusion matrix (rows: true class, columns: predicted) as an annotated seaborn heat map."""
    import seaborn as sns

    counts = matrix.numpy() if isinstance(matrix, torch.Tensor) else np.asarray(matrix)
    sns.heatmap(counts, annot=True, fmt="d", cmap="Blues", cbar=False, ax=ax, linewidths=0.5,
                xticklabels=class_names, yticklabels=class_names, annot_kws={"fontsize": 9})
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.grid(False)
    if title:
        ax.set_title(title, fontsize=10)


def threshold_figure(labels, scores, threshold: float, curves=None) -> Figure:
    """Confusion matrix at ``threshold`` beside the ROC and precision-recall curves, with the
    operating point of that threshold marked on both. ``curves`` = (roc, pr) can be passed in
    to avoid recomputing them."""
    roc, pr = curves if curves is not None else (roc_curve(labels, scores), precision_recall_curve(labels, scores))
    m = metrics_at(labels, scores, threshold)
    y = _vector(labels, "labels")
    positives, negatives = int(y.sum()), len(y) - int(y.sum())
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.2))
    confusion_heatmap(axes[0], torch.tensor([[m["tn"], m["fp"]], [m["fn"], m["tp"]]]), ["no", "yes"],
                      title=f"threshold {threshold:.2f}")
    fpr, tpr, _ = roc
    axes[1].plot(fpr, tpr, color="tab:blue")
    axes[1].plot([0, 1], [0, 1], ls="--", color="gray", lw=1)
    axes[1].plot(m["fp"] / negatives, m["recall"], "o", color="tab:red")
    axes[1].set(xlabel="false-positive rate", ylabel="true-positive rate (recall)", title="ROC")
    precision, recall, _ = pr
    axes[2].step(recall, precision, where="post", color="tab:green")
    axes[2].axhline(positives / len(y), ls="--", color="gray", lw=1)
    if m["tp"] + m["fp"]:
        axes[2].plot(m["recall"], m["precision"], "o", color="tab:red")
    axes[2].set(xlabel="recall", ylabel="precision", title="precision-recall", ylim=(0, 1.03))
    fig.tight_layout()
    return fig


def reliability_figure(panels: Sequence[tuple[str, torch.Tensor, torch.Tensor]], n_bins: int = 10) -> Figure:
    """One reliability diagram per (title, confidences, correct): bars of accuracy per confidence
    bin against the diagonal of perfect calibration, with the ECE in the title."""
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.3), squeeze=False)
    edges = np.linspace(0, 1, n_bins + 1)
    for ax, (title, conf, ok) in zip(axes[0], panels, strict=True):
        mean_conf, accuracy, count = reliability_bins(conf, ok, n_bins)
        used = (count > 0).numpy()
        ax.bar(edges[:-1][used], accuracy.numpy()[used], width=1 / n_bins, align="edge",
               edgecolor="black", color="tab:blue", alpha=0.8, label="accuracy in bin")
        ax.plot(mean_conf.numpy()[used], accuracy.numpy()[used], "o", color="tab:orange", ms=4,
                label="(mean confidence, accuracy)")
        ax.plot([0, 1], [0, 1], ls="--", color="gray", lw=1, label="perfect calibration")
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence", ylabel="accuracy",
               title=f"{title}\nECE = {expected_calibration_error(conf, ok, n_bins):.3f}")
        ax.title.set_fontsize(10)
    axes[0][0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


class ThresholdExplorer(Explorer):
    """A threshold slider over a fixed set of scores: the confusion matrix, the ROC and PR operating
    points and the metrics follow it. Tests set ``.slider.value`` and read ``.redraws``, ``.fig``,
    ``.metrics`` and ``.status.value``."""

    description = "a slider that moves the decision threshold"

    def __init__(self, labels, scores, threshold: float = 0.5) -> None:
        import ipywidgets as w

        self.labels, self.scores = _binary(labels, scores)
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be between 0 and 1 (scores are probabilities); got {threshold}.")
        self.curves = (roc_curve(self.labels, self.scores), precision_recall_curve(self.labels, self.scores))
        self.slider = w.FloatSlider(value=threshold, min=0.0, max=1.0, step=0.01, description="threshold",
                                    continuous_update=False, readout_format=".2f")
        self.metrics: dict[str, float] = {}
        self.start(self.slider)

    def figure(self) -> Figure:
        self.metrics = metrics_at(self.labels, self.scores, self.slider.value)
        return threshold_figure(self.labels, self.scores, self.slider.value, curves=self.curves)

    def on_redraw(self) -> None:
        m = self.metrics
        self.status.value = (
            f"threshold {self.slider.value:.2f}: flagged {m['tp'] + m['fp']} of {len(self.labels)} | "
            f"precision {m['precision']:.3f} · recall {m['recall']:.3f} · F1 {m['f1']:.3f} · "
            f"accuracy {m['accuracy']:.3f}"
        )
