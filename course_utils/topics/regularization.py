"""Helpers for notebook 15 (generalization and regularization).

* ``make_wave``, ``polynomial_features``, ``least_squares``, ``mse``: the 1-D polynomial toy
  behind the capacity curve (float64, closed form: no training noise in the picture).
* ``random_relu_features`` and ``double_descent_curve``: minimum-norm least squares on random
  ReLU features of the digits, the model that shows double descent.
* ``small_subset``, ``shift_images``, ``random_shifts``: a stratified small training set and
  pixel-shift augmentation written with tensor ops.
* ``Recipe``, ``make_mlp``, ``train_mlp``: one small training routine with every knob of the
  notebook (dropout, weight decay, augmentation, label smoothing, early stopping on a validation
  set), and ``compare_recipes`` for a mean over seeds.
* Figures (``capacity_figure``, ``curves_figure``, ``double_descent_figure``) and, at the bottom,
  ``RegularizationExplorer``, the widget shell over ``train_mlp``.

Everything except the widget shell is pure (given the torch seed it is called with).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from course_utils.widgets import Explorer

IMAGE_SIDE = 8


# --------------------------------------------------------------------------- polynomial toy

def make_wave(n: int, noise: float = 0.2, *, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` points of y = sin(2πx) + N(0, noise²) with x uniform in [0, 1] (float64)."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int; got {n!r}.")
    if noise < 0:
        raise ValueError(f"noise is a standard deviation and cannot be negative; got {noise!r}.")
    x = torch.rand(n, generator=generator, dtype=torch.float64)
    y = torch.sin(2 * math.pi * x) + noise * torch.randn(n, generator=generator, dtype=torch.float64)
    return x, y


def polynomial_features(x: torch.Tensor, degree: int) -> torch.Tensor:
    """Columns 1, t, t², ..., t^degree of t = 2x − 1 (in [−1, 1], which keeps the powers tame)."""
    if not isinstance(degree, int) or degree < 0:
        raise ValueError(f"degree must be a non-negative int; got {degree!r}.")
    t = 2 * x.to(torch.float64) - 1
    return torch.stack([t**k for k in range(degree + 1)], dim=1)


def least_squares(features: torch.Tensor, targets: torch.Tensor, ridge: float = 0.0) -> torch.Tensor:
    """Weights that minimise ‖Φw − y‖² + ridge·‖w‖².

    With ``ridge = 0`` and more columns than rows there are many exact solutions; this returns
    the one with the smallest norm (the pseudo-inverse), which is where double descent lives.
    """
    if ridge < 0:
        raise ValueError(f"ridge must be >= 0; got {ridge!r}.")
    phi = features.to(torch.float64)
    y = targets.to(torch.float64)
    if ridge == 0:
        return torch.linalg.pinv(phi) @ y
    eye = torch.eye(phi.shape[1], dtype=torch.float64)
    return torch.linalg.solve(phi.T @ phi + ridge * eye, phi.T @ y)


def mse(prediction: torch.Tensor, target: torch.Tensor) -> float:
    """Mean squared error as a float (over every entry)."""
    return float(((prediction.to(torch.float64) - target.to(torch.float64)) ** 2).mean())


def capacity_curve(x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor, y_test: torch.Tensor,
                   degrees: Sequence[int]) -> dict[str, list[float]]:
    """Training and test MSE of the least-squares polynomial of each degree."""
    out: dict[str, list[float]] = {"train": [], "test": []}
    for degree in degrees:
        w = least_squares(polynomial_features(x_train, degree), y_train)
        out["train"].append(mse(polynomial_features(x_train, degree) @ w, y_train))
        out["test"].append(mse(polynomial_features(x_test, degree) @ w, y_test))
    return out


def bias_variance_curve(degrees: Sequence[int], *, n: int = 20, noise: float = 0.2, resamples: int = 200,
                        grid: int = 200, generator: torch.Generator | None = None) -> dict[str, list[float]]:
    """Bias², variance and their sum for the least-squares polynomial of each degree.

    The ``n`` inputs are fixed and evenly spaced in [0, 1] (the centres of ``n`` equal bins);
    ``resamples`` training sets draw fresh noise ``N(0, noise²)`` on sin(2πx) (from ``generator``).
    Each set is fitted, and the fits are compared on ``grid`` evenly spaced points of [x₁, xₙ]
    with the noise-free curve: bias² is the squared gap between the average fit and the curve,
    variance the spread of the fits around their average (both averaged over x). ``"error"`` is
    the average squared gap between a fit and the curve, which equals bias² + variance.
    """
    if not isinstance(resamples, int) or resamples < 2 or not isinstance(n, int) or n < 1:
        raise ValueError(f"resamples must be an int >= 2 and n a positive int; got {resamples!r} and {n!r}.")
    if noise < 0:
        raise ValueError(f"noise is a standard deviation and cannot be negative; got {noise!r}.")
    x = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    targets = torch.sin(2 * math.pi * x) + noise * torch.randn(resamples, n, generator=generator, dtype=torch.float64)
    x_grid = torch.linspace(float(x[0]), float(x[-1]), grid, dtype=torch.float64)
    truth = torch.sin(2 * math.pi * x_grid)
    out: dict[str, list[float]] = {"bias²": [], "variance": [], "error": []}
    for degree in degrees:
        # one least-squares solve for all resampled targets at once (columns of the right-hand side)
        weights = least_squares(polynomial_features(x, degree), targets.T)
        fits = (polynomial_features(x_grid, degree) @ weights).T
        average = fits.mean(0)
        out["bias²"].append(float(((average - truth) ** 2).mean()))
        out["variance"].append(float(((fits - average) ** 2).mean()))
        out["error"].append(float(((fits - truth) ** 2).mean()))
    return out


def bootstrap_rows(n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` row indices drawn with replacement from ``range(n)``: one bootstrap sample (bagging)."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int; got {n!r}.")
    return torch.randint(0, n, (n,), generator=generator)


def capacity_figure(x_train: torch.Tensor, y_train: torch.Tensor, degrees_shown: Sequence[int],
                    degrees: Sequence[int], curve: Mapping[str, Sequence[float]]) -> Figure:
    """Left: fits of a few degrees on the training points. Right: train and test MSE against degree."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    grid = torch.linspace(0, 1, 300, dtype=torch.float64)
    left.scatter(x_train, y_train, s=18, color="black", label="training points", zorder=3)
    left.plot(grid, torch.sin(2 * math.pi * grid), color="grey", ls="--", label="true function")
    for degree in degrees_shown:
        w = least_squares(polynomial_features(x_train, degree), y_train)
        left.plot(grid, polynomial_features(grid, degree) @ w, label=f"degree {degree}")
    left.set_ylim(-2, 2)
    left.set_xlabel("x")
    left.set_title("least-squares polynomials")
    left.legend(fontsize=7)
    right.plot(degrees, curve["train"], marker="o", ms=3, label="training MSE")
    right.plot(degrees, curve["test"], marker="o", ms=3, label="test MSE")
    right.set_yscale("log")
    right.set_ylim(1e-4, 1e2)  # the highest degrees leave the picture at the top
    right.set_xlabel("polynomial degree (capacity)")
    right.set_ylabel("mean squared error")
    right.set_title("error against capacity")
    right.legend()
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- double descent

def random_relu_features(X: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """ReLU(X·W) in float64: one column per random feature."""
    return torch.relu(X.to(torch.float64) @ weights.to(torch.float64))


def double_descent_curve(X_train: torch.Tensor, Y_train: torch.Tensor, X_test: torch.Tensor, Y_test: torch.Tensor,
                         widths: Sequence[int], *, draws: int = 3, ridge: float = 0.0,
                         generator: torch.Generator | None = None) -> dict[str, list[float]]:
    """Train and test MSE of least squares on ``p`` random ReLU features, for each p in ``widths``.

    Each point is the median over ``draws`` independent feature matrices W ~ N(0, 1/d) (the
    median, because near p = n a single unlucky draw can be off by orders of magnitude).
    """
    if draws < 1:
        raise ValueError(f"draws must be at least 1; got {draws!r}.")
    d = X_train.shape[1]
    out: dict[str, list[float]] = {"train": [], "test": []}
    for p in widths:
        train_err, test_err = [], []
        for _ in range(draws):
            W = torch.randn(d, p, generator=generator, dtype=torch.float64) / math.sqrt(d)
            phi_train, phi_test = random_relu_features(X_train, W), random_relu_features(X_test, W)
            beta = least_squares(phi_train, Y_train, ridge=ridge)
            train_err.append(mse(phi_train @ beta, Y_train))
            test_err.append(mse(phi_test @ beta, Y_test))
        out["train"].append(float(torch.tensor(train_err).median()))
        out["test"].append(float(torch.tensor(test_err).median()))
    return out


def double_descent_figure(widths: Sequence[int], curves: Mapping[str, Mapping[str, Sequence[float]]],
                          n_train: int) -> Figure:
    """Test error against the number of random features, one line per setting; a line at p = n."""
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for name, curve in curves.items():
        ax.plot(widths, curve["test"], marker="o", ms=3, label=f"test, {name}")
    first = next(iter(curves.values()))
    ax.plot(widths, first["train"], color="grey", ls=":", label=f"train, {next(iter(curves))}")
    ax.axvline(n_train, color="black", lw=0.8, ls="--")
    ax.text(n_train * 1.05, 0.95, f"p = n = {n_train}", fontsize=8, transform=ax.get_xaxis_transform(), va="top")
    top = max(max(curve["test"]) for curve in curves.values())
    ax.set_ylim(1e-3, top * 2)  # past p = n the training error is ~0 and leaves the picture at the bottom
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("number of random features p (log)")
    ax.set_ylabel("mean squared error (log)")
    ax.set_title("double descent: minimum-norm least squares on random ReLU features")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- data for the MLPs

def small_subset(y: torch.Tensor, per_class: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Sorted indices of ``per_class`` random examples of every class in ``y``."""
    if not isinstance(per_class, int) or per_class < 1:
        raise ValueError(f"per_class must be a positive int; got {per_class!r}.")
    chosen = []
    for cls in torch.unique(y):
        idx = torch.nonzero(y == cls).flatten()
        if len(idx) < per_class:
            raise ValueError(f"class {int(cls)} has only {len(idx)} examples; ask for at most that many per class.")
        chosen.append(idx[torch.randperm(len(idx), generator=generator)[:per_class]])
    return torch.sort(torch.cat(chosen)).values


def shift_images(X: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """Shift flat 8×8 digits (N, 64) by ``dx`` columns right and ``dy`` rows down, filling with 0."""
    if X.dim() != 2 or X.shape[1] != IMAGE_SIDE * IMAGE_SIDE:
        raise ValueError(f"shift_images expects flat 8x8 images of shape (N, 64); got {tuple(X.shape)}.")
    if abs(dx) >= IMAGE_SIDE or abs(dy) >= IMAGE_SIDE:
        raise ValueError(f"a shift must be smaller than the image (8 pixels); got dx={dx}, dy={dy}.")
    images = X.view(-1, IMAGE_SIDE, IMAGE_SIDE)
    padded = F.pad(images, (IMAGE_SIDE, IMAGE_SIDE, IMAGE_SIDE, IMAGE_SIDE))
    top, left = IMAGE_SIDE - dy, IMAGE_SIDE - dx
    return padded[:, top:top + IMAGE_SIDE, left:left + IMAGE_SIDE].reshape(-1, IMAGE_SIDE * IMAGE_SIDE)


def random_shifts(X: torch.Tensor, max_shift: int = 1, prob: float = 1.0, *,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """With probability ``prob``, each image is shifted by its own random (dx, dy) in [−max_shift, max_shift]²."""
    if not 0.0 <= prob <= 1.0:
        raise ValueError(f"prob is a probability and must be in [0, 1]; got {prob!r}.")
    if max_shift == 0 or prob == 0:
        return X
    out = torch.empty_like(X)
    offsets = torch.randint(-max_shift, max_shift + 1, (len(X), 2), generator=generator)
    offsets[torch.rand(len(X), generator=generator) >= prob] = 0
    for dx in range(-max_shift, max_shift + 1):
        for dy in range(-max_shift, max_shift + 1):
            rows = (offsets[:, 0] == dx) & (offsets[:, 1] == dy)
            if rows.any():
                out[rows] = shift_images(X[rows], dx, dy)
    return out


# --------------------------------------------------------------------------- one training routine

@dataclass(frozen=True)
class Recipe:
    """Every knob of ``train_mlp``. The defaults are the *plain* recipe: no regularisation at all."""

    hidden: int = 256
    dropout: float = 0.0
    weight_decay: float = 0.0
    augment: int = 0  # largest pixel shift; 0 = no augmentation
    augment_prob: float = 0.5  # share of the images that get shifted
    label_smoothing: float = 0.0
    patience: int | None = None  # early stopping on the validation loss (needs validation data)
    epochs: int = 60
    batch_size: int = 32
    lr: float = 1e-3

    def __post_init__(self) -> None:
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1); got {self.dropout!r}.")
        if self.weight_decay < 0 or not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError("weight_decay must be >= 0 and label_smoothing in [0, 1); "
                             f"got {self.weight_decay!r} and {self.label_smoothing!r}.")
        if self.epochs < 1 or self.batch_size < 1 or self.hidden < 1:
            raise ValueError("epochs, batch_size and hidden must be positive.")


@dataclass
class Run:
    """What ``train_mlp`` returns: the trained model and its per-epoch history."""

    model: nn.Module
    train_accuracy: list[float] = field(default_factory=list)
    eval_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    best_epoch: int | None = None

    @property
    def final_eval_accuracy(self) -> float:
        return self.eval_accuracy[-1]


def make_mlp(hidden: int = 256, dropout: float = 0.0, n_in: int = 64, n_out: int = 10) -> nn.Sequential:
    """64 → hidden → hidden → 10 with ReLU, and dropout after each hidden layer when ``dropout > 0``."""
    layers: list[nn.Module] = []
    width_in = n_in
    for _ in range(2):
        layers += [nn.Linear(width_in, hidden), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width_in = hidden
    layers.append(nn.Linear(hidden, n_out))
    return nn.Sequential(*layers)


@torch.no_grad()
def accuracy_of(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """Accuracy in eval mode (dropout off); restores the model's previous mode."""
    was_training = model.training
    model.eval()
    value = (model(X).argmax(1) == y).float().mean().item()
    model.train(was_training)
    return value


def train_mlp(recipe: Recipe, X: torch.Tensor, y: torch.Tensor, X_eval: torch.Tensor, y_eval: torch.Tensor, *,
              seed: int = 0, X_val: torch.Tensor | None = None, y_val: torch.Tensor | None = None) -> Run:
    """Train ``make_mlp`` with AdamW on (X, y) following ``recipe``; record accuracy on (X_eval, y_eval).

    The seed is set with ``torch.manual_seed(seed)`` first; the model's initial weights, the
    batches, the dropout masks and the shifts all come from it. With ``recipe.patience`` the
    best state by validation loss is restored at the end.
    """
    if recipe.patience is not None and (X_val is None or y_val is None):
        raise ValueError("early stopping (patience=...) needs validation data: pass X_val and y_val.")
    torch.manual_seed(seed)
    model = make_mlp(recipe.hidden, recipe.dropout)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    run = Run(model)
    best_loss, best_state, bad = math.inf, None, 0
    for epoch in range(recipe.epochs):
        model.train()
        order = torch.randperm(len(y))
        for start in range(0, len(y), recipe.batch_size):
            rows = order[start:start + recipe.batch_size]
            xb = random_shifts(X[rows], recipe.augment, recipe.augment_prob) if recipe.augment else X[rows]
            loss = F.cross_entropy(model(xb), y[rows], label_smoothing=recipe.label_smoothing)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        run.train_accuracy.append(accuracy_of(model, X, y))
        run.eval_accuracy.append(accuracy_of(model, X_eval, y_eval))
        if X_val is not None and y_val is not None:
            model.eval()
            with torch.no_grad():
                val_loss = F.cross_entropy(model(X_val), y_val).item()
            run.val_loss.append(val_loss)
            if val_loss < best_loss:
                best_loss, bad, run.best_epoch = val_loss, 0, epoch + 1
                best_state = copy.deepcopy(model.state_dict())
            else:
                bad += 1
            if recipe.patience is not None and bad >= recipe.patience:
                break
    if recipe.patience is not None and best_state is not None:
        model.load_state_dict(best_state)
        run.eval_accuracy.append(accuracy_of(model, X_eval, y_eval))
    model.eval()
    return run


def compare_recipes(recipes: Mapping[str, Recipe], X: torch.Tensor, y: torch.Tensor, X_eval: torch.Tensor,
                    y_eval: torch.Tensor, seeds: Sequence[int], *, X_val: torch.Tensor | None = None,
                    y_val: torch.Tensor | None = None) -> dict[str, list[float]]:
    """Final eval accuracy of every recipe for every seed: ``{name: [acc_seed0, acc_seed1, ...]}``."""
    return {name: [train_mlp(recipe, X, y, X_eval, y_eval, seed=s, X_val=X_val, y_val=y_val).final_eval_accuracy
                   for s in seeds] for name, recipe in recipes.items()}


def curves_figure(runs: Mapping[str, Run], title: str = "") -> Figure:
    """Training accuracy (dashed) and held-out accuracy (solid) per epoch, one colour per run."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for i, (name, run) in enumerate(runs.items()):
        colour = f"C{i}"
        epochs = range(1, len(run.train_accuracy) + 1)
        ax.plot(epochs, run.train_accuracy, color=colour, ls="--", lw=1, label=f"{name}: train")
        ax.plot(epochs, run.eval_accuracy[:len(run.train_accuracy)], color=colour, lw=1.8, label=f"{name}: test")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- widget shell

class RegularizationExplorer(Explorer):
    """Widget shell: dropout p, weight decay and training-set size -> ``train_mlp`` twice (plain vs yours)."""

    description = "sliders for dropout p, weight decay and training examples per class"

    def __init__(self, X_pool: torch.Tensor, y_pool: torch.Tensor, X_test: torch.Tensor, y_test: torch.Tensor, *,
                 dropout: float = 0.3, weight_decay: float = 0.1, per_class: int = 10, epochs: int = 40,
                 hidden: int = 128, lr: float = 3e-3) -> None:
        import ipywidgets as w

        self.data = (X_pool, y_pool, X_test, y_test)
        self.base = Recipe(hidden=hidden, epochs=epochs, lr=lr)
        self._plain: dict[int, Run] = {}  # the plain run depends only on the size: computed once per size
        style = {"description_width": "110px"}
        self.dropout = w.FloatSlider(value=dropout, min=0.0, max=0.8, step=0.1, description="dropout p",
                                     continuous_update=False, style=style)
        self.weight_decay = w.FloatLogSlider(value=weight_decay, base=10, min=-3, max=0.5, step=0.25,
                                             description="weight decay", continuous_update=False,
                                             readout_format=".3g", style=style)
        self.per_class = w.IntSlider(value=per_class, min=3, max=60, step=1, description="examples / class",
                                     continuous_update=False, style=style)
        self.start((self.dropout, self.weight_decay), self.per_class)

    def settings(self) -> tuple[float, float, int]:
        return float(self.dropout.value), float(self.weight_decay.value), int(self.per_class.value)

    def _runs(self) -> dict[str, Run]:
        p, wd, per_class = self.settings()
        X_pool, y_pool, X_test, y_test = self.data
        rows = small_subset(y_pool, per_class, generator=torch.Generator().manual_seed(0))
        X, y = X_pool[rows], y_pool[rows]
        if per_class not in self._plain:
            self._plain[per_class] = train_mlp(self.base, X, y, X_test, y_test)
        yours = train_mlp(replace(self.base, dropout=p, weight_decay=wd), X, y, X_test, y_test)
        return {"plain": self._plain[per_class], f"p={p:.1f}, wd={wd:.3g}": yours}

    def figure(self) -> Figure:
        self.runs = self._runs()
        return curves_figure(self.runs, title=f"{10 * self.settings()[2]} training digits")

    def on_redraw(self) -> None:
        parts = []
        for name, run in self.runs.items():
            gap = run.train_accuracy[-1] - run.final_eval_accuracy
            parts.append(f"<b>{name}</b>: test {run.final_eval_accuracy:.3f}, train − test gap {gap:.3f}")
        self.status.value = " &nbsp;|&nbsp; ".join(parts)
