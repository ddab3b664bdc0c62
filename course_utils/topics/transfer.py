"""Helpers for notebook 17 (transfer learning and fine-tuning).

* ``class_task``: the digits restricted to some classes (digits 0-4 for pretraining, 5-9 for the
  new task), labels renumbered 0..k-1, cut into a stratified pool and test set.
* ``labelled_subset``: a class-balanced labelled set of a given size drawn from a pool.
* ``SmallCNN`` (``backbone`` + ``head``), ``count_parameters``, ``freeze``, ``param_groups``:
  the model and the three moves of transfer learning (freeze, swap the head, two learning rates).
* ``save_checkpoint`` / ``load_checkpoint``: a full checkpoint (model, optimizer, epoch) read back
  with ``torch.load(..., weights_only=True)``.
* ``train_steps``, ``pretrain``, ``estimate_bn_statistics``, ``linear_probe``, ``transfer_run``,
  ``transfer_sweep``, ``old_task_accuracy``: the four methods (from scratch, a frozen random backbone as the
  control, the frozen pretrained backbone, fine-tuning), the sweep over labelled sizes, and forgetting.
* ``bn_running_update``: BatchNorm's running-statistics update written out.
* ``adapt_resnet18``: torchvision's ResNet-18 definition (no weights) with a small-image stem and head.
* Figures and, at the bottom, ``TransferExplorer``, the widget shell over ``transfer_run``.

Everything except the widget shell is pure (given the torch seed it is called with).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from course_utils.data.digits import Split, load_digits_tensors, stratified_indices
from course_utils.widgets import Explorer

METHODS = ("scratch", "random frozen", "frozen", "fine-tune")
METHOD_LABELS = {"scratch": "from scratch", "random frozen": "frozen random backbone (control)",
                 "frozen": "frozen pretrained backbone", "fine-tune": "fine-tuning"}


# --------------------------------------------------------------------------- data

def place_on_canvas(images: torch.Tensor, canvas: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Paste each (1, 8, 8) image at a random position of a blank ``canvas`` x ``canvas`` image."""
    if images.dim() != 4 or images.shape[1] != 1:
        raise ValueError(f"images must have shape (N, 1, H, W); got {tuple(images.shape)}.")
    side = images.shape[-1]
    if not isinstance(canvas, int) or canvas < side:
        raise ValueError(f"canvas must be an int at least the image side {side}; got {canvas!r}.")
    out = images.new_zeros(len(images), 1, canvas, canvas)
    offsets = torch.randint(0, canvas - side + 1, (len(images), 2), generator=generator)
    for i, (r, c) in enumerate(offsets.tolist()):
        out[i, :, r : r + side, c : c + side] = images[i]
    return out


def class_task(classes: Sequence[int], *, canvas: int = 12, copies: int = 1, test_fraction: float = 0.4,
               seed: int = 0) -> Split:
    """The digits of ``classes`` only, labels renumbered 0..k-1 in the given order, each digit pasted at a
    random place of a ``canvas`` x ``canvas`` image (N, 1, canvas, canvas).

    The pool (``X_train``, each digit ``copies`` times at different places) and the test set (each digit
    once) come from a fixed stratified split: same arguments, same data.
    """
    classes = list(classes)
    if len(classes) < 2 or len(set(classes)) != len(classes) or not all(
            isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 9 for c in classes):
        raise ValueError(f"classes must be at least two different digits 0-9; got {classes!r}.")
    if not isinstance(copies, int) or copies < 1:
        raise ValueError(f"copies must be a positive int; got {copies!r}.")
    X, y = load_digits_tensors(as_images=True)
    keep = torch.isin(y, torch.tensor(classes))
    X, y = X[keep], y[keep]
    renumber = torch.full((10,), -1, dtype=torch.int64)
    renumber[torch.tensor(classes)] = torch.arange(len(classes))
    y = renumber[y]
    train, _, test = stratified_indices(y.numpy(), test_fraction, 0.0, seed)
    generator = torch.Generator().manual_seed(seed)
    X_pool = place_on_canvas(X[train].repeat(copies, 1, 1, 1), canvas, generator=generator)
    X_test = place_on_canvas(X[test], canvas, generator=generator)
    y_pool = y[train].repeat(copies)
    return Split(X_pool, y_pool, X_pool[:0], y_pool[:0], X_test, y[test])


def labelled_subset(labels: torch.Tensor, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Indices of ``n`` labelled examples: ``n // k`` of each of the k classes, the rest drawn at random.

    Every class appears at least once, so ``n`` must be at least the number of classes.
    """
    classes = labels.unique()
    if not isinstance(n, int) or isinstance(n, bool) or not len(classes) <= n <= len(labels):
        raise ValueError(f"n must be an int between the number of classes ({len(classes)}) and the pool size "
                         f"({len(labels)}); got {n!r}.")
    per_class = n // len(classes)
    chosen, rest = [], []
    for c in classes:
        rows = torch.nonzero(labels == c).flatten()
        rows = rows[torch.randperm(len(rows), generator=generator)]
        if len(rows) < per_class:
            raise ValueError(f"class {int(c)} has only {len(rows)} examples, fewer than the {per_class} per class "
                             f"that n = {n} needs; ask for a smaller n.")
        chosen.append(rows[:per_class])
        rest.append(rows[per_class:])
    leftover = torch.cat(rest)
    extra = leftover[torch.randperm(len(leftover), generator=generator)[: n - per_class * len(classes)]]
    return torch.cat([*chosen, extra]).sort().values


# --------------------------------------------------------------------------- model and its parts

class SmallCNN(nn.Module):
    """The backbone: conv(1→16) · BN · ReLU · conv(16→32) · BN · ReLU · max-pool 2 · conv(32→64) · BN · ReLU ·
    adaptive max-pool to 2x2 · flatten (256 features, for any input size); a linear head on top."""

    def __init__(self, n_classes: int) -> None:
        super().__init__()
        if not isinstance(n_classes, int) or isinstance(n_classes, bool) or n_classes < 2:
            raise ValueError(f"n_classes must be an int ≥ 2; got {n_classes!r}.")
        self.backbone = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
            nn.AdaptiveMaxPool2d(2), nn.Flatten(),
        )
        self.head = nn.Linear(64 * 2 * 2, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


def count_parameters(module: nn.Module) -> tuple[int, int]:
    """``(trainable, frozen)`` numbers of scalar parameters, told apart by ``requires_grad``."""
    if not isinstance(module, nn.Module):
        raise ValueError(f"count_parameters needs an nn.Module; got {type(module).__name__}.")
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in module.parameters() if not p.requires_grad)
    return trainable, frozen


def freeze(module: nn.Module) -> nn.Module:
    """Switch off gradients for every parameter of ``module`` (weights *and* biases); returns it."""
    if not isinstance(module, nn.Module):
        raise ValueError(f"freeze needs an nn.Module; got {type(module).__name__}.")
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def param_groups(model: SmallCNN, lr: float, backbone_factor: float) -> list[dict]:
    """Two optimizer groups: the backbone at ``lr · backbone_factor``, the head at ``lr``."""
    if not lr > 0:
        raise ValueError(f"lr must be positive; got {lr!r}.")
    if not 0 <= backbone_factor <= 1:
        raise ValueError(f"backbone_factor scales the backbone's learning rate and must be in [0, 1]; "
                         f"got {backbone_factor!r}.")
    return [{"params": list(model.backbone.parameters()), "lr": lr * backbone_factor, "name": "backbone"},
            {"params": list(model.head.parameters()), "lr": lr, "name": "head"}]


def bn_running_update(running: torch.Tensor, batch_statistic: torch.Tensor, momentum: float = 0.1) -> torch.Tensor:
    """BatchNorm's running average: (1 − momentum) · running + momentum · batch statistic."""
    if not 0 <= momentum <= 1:
        raise ValueError(f"momentum must be in [0, 1]; got {momentum!r}.")
    return (1 - momentum) * running + momentum * batch_statistic


# --------------------------------------------------------------------------- checkpoints

def save_checkpoint(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer, epoch: int) -> Path:
    """Write ``{"epoch", "model", "optimizer"}`` (state dicts only: tensors, numbers, lists) to ``path``."""
    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"the folder {str(path.parent)!r} does not exist; create it (or use a temporary folder) first.")
    torch.save({"epoch": int(epoch), "model": model.state_dict(), "optimizer": optimizer.state_dict()}, path)
    return path


def load_checkpoint(path: str | Path) -> dict:
    """Read a checkpoint written by ``save_checkpoint`` with ``weights_only=True`` (no code is unpickled)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no checkpoint at {str(path)!r}; write one with save_checkpoint first.")
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    missing = {"epoch", "model", "optimizer"} - set(checkpoint)
    if missing:
        raise ValueError(f"{str(path)!r} is not a full checkpoint: it lacks {sorted(missing)}.")
    return checkpoint


# --------------------------------------------------------------------------- training

def accuracy(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """Accuracy of ``model`` in eval mode (the mode is put back afterwards)."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        value = (model(X).argmax(1) == y).float().mean().item()
    model.train(was_training)
    return value


def _step(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def train_steps(model: nn.Module, X: torch.Tensor, y: torch.Tensor, optimizer: torch.optim.Optimizer, *,
                steps: int, batch_size: int = 32, backbone_eval: bool = False) -> nn.Module:
    """``steps`` Adam/SGD steps on random mini-batches (drawn from torch's global generator).

    With ``backbone_eval=True`` the backbone stays in eval mode, so its BatchNorm layers use and keep
    their running statistics (what a frozen backbone needs).
    """
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a non-negative int; got {steps!r}.")
    if len(X) != len(y) or len(y) == 0:
        raise ValueError(f"X and y must be non-empty and of equal length; got {len(X)} and {len(y)}.")
    model.train()
    if backbone_eval:
        model.backbone.eval()
    for _ in range(steps):
        rows = torch.randint(len(y), (min(batch_size, len(y)),))
        _step(optimizer, F.cross_entropy(model(X[rows]), y[rows]))
    return model.eval()


def pretrain(task: Split, *, epochs: int = 2, lr: float = 3e-3, batch_size: int = 32
             ) -> tuple[SmallCNN, torch.optim.Optimizer, list[float]]:
    """Train a ``SmallCNN`` on a whole task; returns the model, its optimizer and the test accuracy per epoch."""
    n_classes = int(task.y_train.max()) + 1
    model = SmallCNN(n_classes)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    steps_per_epoch = -(-len(task.y_train) // batch_size)
    history = []
    for _ in range(epochs):
        train_steps(model, task.X_train, task.y_train, optimizer, steps=steps_per_epoch, batch_size=batch_size)
        history.append(accuracy(model, task.X_test, task.y_test))
    return model, optimizer, history


@dataclass(frozen=True)
class Recipe:
    """How the new task is trained.

    Scratch and fine-tuning: ``steps`` Adam steps on mini-batches of ``batch_size``, the head at ``lr`` and
    (fine-tuning) the backbone at ``lr · backbone_factor``. The frozen routes: a linear probe, ``probe_steps``
    full-batch AdamW steps at ``probe_lr`` with weight decay ``probe_decay`` on the frozen features.
    """

    steps: int = 100
    batch_size: int = 32
    lr: float = 3e-3
    backbone_factor: float = 1.0
    probe_steps: int = 200
    probe_lr: float = 1e-2
    probe_decay: float = 1e-2


def backbone_state(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The ``backbone.*`` entries of a full SmallCNN state dict, with the prefix removed."""
    return {k[len("backbone."):]: v for k, v in state.items() if k.startswith("backbone.")}


def estimate_bn_statistics(backbone: nn.Module, X: torch.Tensor, *, passes: int = 4, batch_size: int = 128
                           ) -> nn.Module:
    """Re-estimate every BatchNorm layer's running statistics on unlabelled images ``X`` (AdaBN).

    The running statistics are reset and averaged (``momentum=None``) over ``passes`` train-mode forward
    passes of ``batch_size`` random images, under ``no_grad``: no weight changes. Returns it in eval mode.
    """
    if not isinstance(passes, int) or passes < 1:
        raise ValueError(f"passes must be a positive int; got {passes!r}.")
    layers = [m for m in backbone.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in layers]
    for m in layers:
        m.reset_running_stats()
        m.momentum = None
    backbone.train()
    with torch.no_grad():
        for _ in range(passes):
            backbone(X[torch.randint(len(X), (min(batch_size, len(X)),))])
    for m, momentum in zip(layers, momenta, strict=True):
        m.momentum = momentum
    return backbone.eval()


def linear_probe(head: nn.Linear, features: torch.Tensor, y: torch.Tensor, recipe: Recipe = Recipe()) -> nn.Linear:
    """Train ``head`` alone on fixed ``features``: full-batch AdamW with weight decay (a linear probe)."""
    optimizer = torch.optim.AdamW(head.parameters(), lr=recipe.probe_lr, weight_decay=recipe.probe_decay)
    for _ in range(recipe.probe_steps):
        _step(optimizer, F.cross_entropy(head(features), y))
    return head


def transfer_model(method: str, pretrained: Mapping[str, torch.Tensor], n_classes: int, recipe: Recipe = Recipe(),
                   X_unlabelled: torch.Tensor | None = None) -> tuple[SmallCNN, torch.optim.Optimizer | None]:
    """A new model for ``method`` and its optimizer (None for the frozen routes, which train a linear probe).

    ``scratch``: fresh weights, one learning rate. ``frozen``: the pretrained backbone, frozen, in eval mode.
    ``random frozen``: a fresh backbone, frozen, its BatchNorm statistics estimated on ``X_unlabelled``.
    ``fine-tune``: the pretrained backbone and a new head, two parameter groups.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}.")
    model = SmallCNN(n_classes)
    if method == "scratch":
        return model, torch.optim.Adam(model.parameters(), lr=recipe.lr)
    if method == "random frozen":
        if X_unlabelled is None:
            raise ValueError("the random frozen backbone needs X_unlabelled to estimate its BatchNorm statistics.")
        estimate_bn_statistics(freeze(model.backbone), X_unlabelled)
        return model.eval(), None
    model.backbone.load_state_dict(backbone_state(pretrained))
    if method == "frozen":
        freeze(model.backbone)
        return model.eval(), None
    return model, torch.optim.Adam(param_groups(model, recipe.lr, recipe.backbone_factor))


def transfer_run(method: str, pretrained: Mapping[str, torch.Tensor], X: torch.Tensor, y: torch.Tensor,
                 recipe: Recipe = Recipe(), *, n_classes: int = 5, X_unlabelled: torch.Tensor | None = None
                 ) -> SmallCNN:
    """Build the model for ``method`` and train it on (X, y); returns it in eval mode.

    The frozen routes compute the backbone's features once (eval mode) and fit a linear probe on them.
    """
    model, optimizer = transfer_model(method, pretrained, n_classes, recipe, X_unlabelled)
    if optimizer is not None:
        return train_steps(model, X, y, optimizer, steps=recipe.steps, batch_size=recipe.batch_size)
    with torch.no_grad():
        features = model.backbone(X)
    linear_probe(model.head, features, y, recipe)
    return model.eval()


def sweep_seed(n: int, s: int) -> int:
    """The torch seed of labelled set ``s`` at size ``n``: ``37 s + n``, distinct for the sweep's sizes and below
    the seed sweep's shift of 1000 for s < 15 and n ≤ 500."""
    return 37 * s + n


def transfer_sweep(pretrained: Mapping[str, torch.Tensor], task: Split, seeds_per_size: Mapping[int, Sequence[int]],
                   recipe: Recipe = Recipe(), methods: Sequence[str] = METHODS,
                   on_model: Callable[[str, int, int, SmallCNN], None] | None = None) -> dict[str, list[torch.Tensor]]:
    """Test accuracy of each method: ``{method: [accuracies over the seeds of size n, for each n]}``.

    Seed ``s`` and size ``n`` fix the labelled set (the same for every method) and the initialisation through
    ``torch.manual_seed(sweep_seed(n, s))``; the random backbone's statistics come from the whole unlabelled pool.
    ``on_model(method, n, s, model)``, if given, sees every trained model (to measure more than accuracy).
    """
    results: dict[str, list[torch.Tensor]] = {m: [] for m in methods}
    for n, seeds in seeds_per_size.items():
        values = {m: torch.zeros(len(seeds)) for m in methods}
        for j, s in enumerate(seeds):
            torch.manual_seed(sweep_seed(n, s))
            rows = labelled_subset(task.y_train, n)
            for m in methods:
                torch.manual_seed(sweep_seed(n, s) + 1)
                model = transfer_run(m, pretrained, task.X_train[rows], task.y_train[rows], recipe,
                                     X_unlabelled=task.X_train)
                values[m][j] = accuracy(model, task.X_test, task.y_test)
                if on_model is not None:
                    on_model(m, n, s, model)
        for m in methods:
            results[m].append(values[m])
    return results


def old_task_accuracy(pretrained: Mapping[str, torch.Tensor], backbone: Mapping[str, torch.Tensor], old_task: Split
                      ) -> float:
    """Old-task test accuracy of the pretrained model with its backbone state replaced by ``backbone``."""
    probe = SmallCNN(int(old_task.y_train.max()) + 1)
    probe.load_state_dict(pretrained)
    probe.backbone.load_state_dict(backbone)
    return accuracy(probe, old_task.X_test, old_task.y_test)


# --------------------------------------------------------------------------- torchvision

def adapt_resnet18(in_channels: int = 1, n_classes: int = 5) -> tuple[nn.Module, dict[str, tuple[str, str]]]:
    """torchvision's ResNet-18 (``weights=None``: random weights, nothing downloaded) for small images.

    The stem (7x7 stride-2 conv + max-pool, made for 224x224 photos) becomes a 3x3 stride-1 conv and no
    pool; the 1000-class head becomes ``n_classes``. Returns the model and ``{name: (before, after)}``.
    """
    from torchvision.models import resnet18

    if not isinstance(in_channels, int) or in_channels < 1 or not isinstance(n_classes, int) or n_classes < 2:
        raise ValueError(f"in_channels must be an int ≥ 1 and n_classes an int ≥ 2; got {in_channels!r}, "
                         f"{n_classes!r}.")
    model = resnet18(weights=None)
    before = {name: repr(getattr(model, name)) for name in ("conv1", "maxpool", "fc")}
    model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
    model.maxpool = nn.Identity()
    model.fc = nn.Linear(model.fc.in_features, n_classes)
    return model, {name: (before[name], repr(getattr(model, name))) for name in before}


# --------------------------------------------------------------------------- figures

def _finish(fig: Figure, ax: plt.Axes, title: str) -> Figure:
    ax.set(ylabel="test accuracy", title=title)
    ax.legend(fontsize=8, loc="lower right")
    return fig


def sweep_figure(sizes: Sequence[int], results: Mapping[str, Sequence[torch.Tensor]], *, chance: float | None = None,
                 title: str = "new task (digits 5-9): test accuracy") -> Figure:
    """Mean test accuracy against labelled-set size, one line per method, the band from min to max over seeds."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for method, values in results.items():
        line, = ax.plot(sizes, [v.mean().item() for v in values], marker="o", label=METHOD_LABELS.get(method, method))
        ax.fill_between(sizes, [v.min().item() for v in values], [v.max().item() for v in values],
                        color=line.get_color(), alpha=0.15)
    if chance is not None:
        ax.axhline(chance, color="grey", ls=":", label=f"chance ({chance:g})")
    ax.set_xscale("log")
    ax.set_xlabel("labelled examples of the new task (log)")
    return _finish(fig, ax, title)


def accuracy_bars(new: Mapping[str, float], old: Mapping[str, float], *, title: str = "") -> Figure:
    """Side-by-side bars: accuracy on the new task and on the old one, per model."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    names = list(new)
    xs = torch.arange(len(names)).float()
    ax.bar(xs - 0.2, [new[n] for n in names], width=0.4, label="new task (5-9)")
    ax.bar(xs + 0.2, [old.get(n, float("nan")) for n in names], width=0.4, label="old task (0-4)")
    ax.set_xticks(xs.tolist(), names, fontsize=8)
    ax.set_ylim(0, 1.05)
    return _finish(fig, ax, title)


# --------------------------------------------------------------------------- widget shell

class TransferExplorer(Explorer):
    """Widget shell: labelled-set size, backbone learning-rate factor, steps and seed -> ``transfer_run``."""

    description = ("sliders for the labelled examples of the new task, the backbone's learning-rate factor, "
                   "the steps and the seed of the labelled set")

    def __init__(self, pretrained: Mapping[str, torch.Tensor], new_task: Split, old_task: Split, *,
                 n: int = 20, backbone_factor: float = 1.0, steps: int = 100, seed: int = 0) -> None:
        import ipywidgets as w

        self.pretrained = {k: v.clone() for k, v in pretrained.items()}
        self.new_task, self.old_task = new_task, old_task
        kw = {"continuous_update": False, "style": {"description_width": "140px"}}
        self.n = w.IntSlider(value=n, min=5, max=500, step=5, description="labelled examples", **kw)
        self.factor = w.FloatLogSlider(value=backbone_factor, base=10, min=-3, max=0, step=0.5, readout_format=".3g",
                                       description="backbone lr factor", **kw)
        self.steps = w.IntSlider(value=steps, min=25, max=400, step=25, description="steps", **kw)
        self.seed = w.IntSlider(value=seed, min=0, max=9, description="seed", **kw)
        self.start((self.n, self.factor), (self.steps, self.seed))

    def _runs(self) -> tuple[dict[str, float], dict[str, float]]:
        n, factor, steps, seed = int(self.n.value), float(self.factor.value), int(self.steps.value), int(self.seed.value)
        recipe = Recipe(steps=steps, backbone_factor=factor)
        rows = labelled_subset(self.new_task.y_train, n, generator=torch.Generator().manual_seed(seed))
        X, y = self.new_task.X_train[rows], self.new_task.y_train[rows]
        new, old = {}, {}
        for method, name in (("scratch", "from scratch"), ("random frozen", "random frozen"),
                             ("frozen", "frozen"), ("fine-tune", f"fine-tune ×{factor:.3g}")):
            torch.manual_seed(seed)
            model = transfer_run(method, self.pretrained, X, y, recipe, X_unlabelled=self.new_task.X_train)
            new[name] = accuracy(model, self.new_task.X_test, self.new_task.y_test)
            if method in ("frozen", "fine-tune"):
                old[name] = old_task_accuracy(self.pretrained, model.backbone.state_dict(), self.old_task)
        return new, old

    def figure(self) -> Figure:
        self.new, self.old = self._runs()
        return accuracy_bars(self.new, self.old, title=f"{int(self.n.value)} labelled digits 5-9 (seed "
                                                       f"{int(self.seed.value)}), {int(self.steps.value)} steps")

    def on_redraw(self) -> None:
        parts = [f"<b>{name}</b>: new {acc:.3f}" + (f", old {self.old[name]:.3f}" if name in self.old else "")
                 for name, acc in self.new.items()]
        self.status.value = " &nbsp;|&nbsp; ".join(parts)
