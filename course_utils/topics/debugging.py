"""Helpers for notebook 20 (debugging and monitoring training).

* ``make_model``: the small MLP every script trains (Linear, BatchNorm, ReLU, Dropout, Linear, ReLU, Linear).
* Probes: ``initial_loss``, ``sanity_problems`` (shapes, dtypes, label range), ``ActivationRecorder``
  (forward hooks that are removed on exit) with ``hooks_left``, ``parameter_report`` (gradient norm and
  update-to-data ratio per parameter), ``overfit_one_batch`` and ``anomaly_sentence`` (runs a function under
  ``torch.autograd.detect_anomaly`` and turns the error into one sentence).
* Scripts: a ``Script`` is a complete small training program made of five parts (``prepare`` the data,
  ``loss_fn``, one training ``step``, ``predict_proba``, the learning rate). ``SCRIPTS`` holds the correct
  script and one script per planted bug; each bug replaces exactly one part. ``train`` runs a script and
  records its loss and update ratios; ``diagnose`` runs every check on it and returns ``Finding``s.
* Figures (``run_figure``, ``findings_figure``, ``activations_figure``) and, at the bottom, ``BugExplorer``,
  the widget shell.

Everything except the widget shell is pure given the torch seed it is called with.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from course_utils.widgets import Explorer

N_CLASSES = 10
BASE_LR = 1e-3  # Adam's usual starting point
ONE_BATCH = 32


def _check_tensor(value: object, name: str) -> None:
    if not isinstance(value, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor; got a {type(value).__name__}.")


# --------------------------------------------------------------------------- the model


def make_model(n_in: int = 64, hidden: int = 64, n_classes: int = N_CLASSES, dropout: float = 0.2) -> nn.Sequential:
    """The MLP of the notebook; BatchNorm and Dropout are in it so that forgetting ``model.eval()`` shows."""
    for name, value in (("n_in", n_in), ("hidden", hidden), ("n_classes", n_classes)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int; got {value!r}.")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1); got {dropout!r}.")
    return nn.Sequential(
        nn.Linear(n_in, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(hidden, hidden), nn.ReLU(),
        nn.Linear(hidden, n_classes),
    )


# --------------------------------------------------------------------------- probes


def initial_loss(model: nn.Module, X: torch.Tensor, y: torch.Tensor,
                 loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy) -> float:
    """The loss of a model before any training step, in eval mode, without gradients."""
    _check_tensor(X, "X")
    _check_tensor(y, "y")
    was_training = model.training
    model.eval()
    with torch.no_grad():
        loss = float(loss_fn(model(X), y))
    model.train(was_training)
    return loss


def sanity_problems(X: object, y: object, n_classes: int, n_features: int | None = None) -> list[str]:
    """Every problem found in a data set before training, as sentences (empty list: all fine).

    Checks types, shapes, dtypes, finiteness and the label range that ``CrossEntropyLoss`` needs
    (int64 class indices in ``[0, n_classes)``).
    """
    if not isinstance(n_classes, int) or isinstance(n_classes, bool) or n_classes < 2:
        raise ValueError(f"n_classes must be an int ≥ 2; got {n_classes!r}.")
    problems = []
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        return [f"inputs and labels must be tensors; got {type(X).__name__} and {type(y).__name__}."]
    if X.dim() != 2:
        problems.append(f"inputs should have shape (N, features); got {tuple(X.shape)}.")
    elif n_features is not None and X.shape[1] != n_features:
        problems.append(f"inputs have {X.shape[1]} features; the model expects {n_features}.")
    if not X.dtype.is_floating_point:
        problems.append(f"inputs are {X.dtype}; layers need floats (use .float()).")
    elif not torch.isfinite(X).all():
        problems.append(f"inputs contain {int((~torch.isfinite(X)).sum())} NaN or infinite values.")
    if y.dim() != 1:
        problems.append(f"labels should have shape (N,); got {tuple(y.shape)} (squeeze it, or argmax a one-hot).")
    if y.dtype != torch.int64:
        problems.append(f"labels are {y.dtype}; CrossEntropyLoss wants int64 class indices (use .long()).")
    if X.dim() >= 1 and y.dim() >= 1 and X.shape[0] != y.shape[0]:
        problems.append(f"{X.shape[0]} inputs but {y.shape[0]} labels.")
    if y.numel() and not y.dtype.is_floating_point and y.dim() == 1:
        low, high = int(y.min()), int(y.max())
        if low < 0 or high >= n_classes:
            problems.append(f"labels run from {low} to {high}; they must lie in 0..{n_classes - 1}.")
        else:
            missing = sorted(set(range(n_classes)) - set(y.tolist()))
            if missing:
                problems.append(f"classes {missing} never occur in the labels.")
    return problems


def _leaves(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(name, m) for name, m in model.named_modules() if not list(m.children())]


def hooks_left(model: nn.Module) -> int:
    """How many forward hooks (plain and pre-hooks) are still attached to the model's modules."""
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


class ActivationRecorder:
    """Forward hooks on every leaf module that keep each output (detached); removed on exit.

    ``with ActivationRecorder(model) as rec: model(X)`` leaves ``rec.outputs`` (name -> tensor) and
    ``rec.removed`` (how many handles were removed) behind, and no hook on the model.
    """

    def __init__(self, model: nn.Module) -> None:
        if not isinstance(model, nn.Module):
            raise ValueError(f"ActivationRecorder needs an nn.Module; got a {type(model).__name__}.")
        self.model = model
        self.outputs: dict[str, torch.Tensor] = {}
        self.kinds: dict[str, str] = {}
        self.handles: list = []
        self.removed = 0

    def __enter__(self) -> ActivationRecorder:
        for name, module in _leaves(self.model):
            self.kinds[name] = type(module).__name__
            self.handles.append(module.register_forward_hook(self._keep(name)))
        return self

    def _keep(self, name: str):
        def hook(_module, _inputs, output):
            self.outputs[name] = output.detach()
        return hook

    def __exit__(self, *_exc) -> None:
        for handle in self.handles:
            handle.remove()
        self.removed = len(self.handles)
        self.handles = []


class LayerStats(NamedTuple):
    """One recorded output: its mean and std, the share of exact zeros and of dead units (0 for every row)."""

    name: str
    kind: str
    mean: float
    std: float
    zero_fraction: float
    dead_fraction: float


def activation_stats(outputs: Mapping[str, torch.Tensor], kinds: Mapping[str, str]) -> list[LayerStats]:
    """Mean, standard deviation, share of zeros and of dead units of each recorded output."""
    rows = []
    for name, out in outputs.items():
        flat = out.reshape(out.shape[0], -1)
        rows.append(LayerStats(name, kinds.get(name, "?"), float(flat.mean()), float(flat.std()),
                               float((flat == 0).float().mean()), float((flat == 0).all(0).float().mean())))
    return rows


class ParamRow(NamedTuple):
    """One parameter of the gradient report."""

    name: str
    shape: tuple[int, ...]
    data_std: float
    grad_norm: float
    grad_to_data: float  # std(grad) / std(data)
    update_ratio: float  # median over steps of std(update) / std(data)


def parameter_report(model: nn.Module, update_ratios: Mapping[str, Sequence[float]] | None = None) -> list[ParamRow]:
    """One row per parameter with a gradient: its data std, gradient norm, grad/data ratio and
    (from a training history) the median update-to-data ratio."""
    rows = []
    for name, p in model.named_parameters():
        if p.grad is None:
            continue
        data_std = float(p.detach().std()) if p.numel() > 1 else float(p.detach().abs())
        grad_std = float(p.grad.std()) if p.numel() > 1 else float(p.grad.abs())
        ratios = (update_ratios or {}).get(name, [])
        median = float(torch.tensor(list(ratios)).median()) if len(ratios) else math.nan
        rows.append(ParamRow(name, tuple(p.shape), data_std, float(p.grad.norm()),
                             grad_std / data_std if data_std > 0 else math.inf, median))
    return rows


def format_parameter_report(rows: Sequence[ParamRow]) -> str:
    """The report as a fixed-width text table."""
    lines = [f"{'parameter':<10} {'shape':<9} {'std(data)':>9} {'‖grad‖':>9} {'std(grad)/std(data)':>20} "
             f"{'update/data':>12}"]
    for r in rows:
        shape = "×".join(str(s) for s in r.shape)
        ratio = "–" if math.isnan(r.update_ratio) else f"{r.update_ratio:.2g}"
        lines.append(f"{r.name:<10} {shape:<9} {r.data_std:>9.3g} {r.grad_norm:>9.3g} {r.grad_to_data:>20.3g} "
                     f"{ratio:>12}")
    return "\n".join(lines)


def anomaly_sentence(fn: Callable[[], torch.Tensor]) -> str:
    """Call ``fn()`` (it returns a loss) and backpropagate under ``torch.autograd.detect_anomaly``.

    Returns one sentence: which backward function produced NaN and the line of ``fn``'s code whose
    forward operation created it (read from anomaly mode's forward traceback), or that all was finite.
    """
    if not callable(fn):
        raise ValueError(f"anomaly_sentence needs a function that returns a loss; got a {type(fn).__name__}.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with torch.autograd.detect_anomaly(check_nan=True):
                loss = fn()
                loss.backward()
        except RuntimeError as error:
            message = str(error).splitlines()[0]
        else:
            return f"the loss {float(loss):.4g} and all its gradients are finite: no anomaly."
    culprit = message.split("'")[1] if message.count("'") >= 2 else "a backward function"
    trace = "\n".join(str(w.message) for w in caught if "Traceback of forward call" in str(w.message))
    frames = [line.strip() for line in trace.splitlines() if line.strip()]
    where = ""
    for i, line in enumerate(frames[:-1]):
        code = frames[i + 1]
        if line.startswith("File ") and ", in " in line and not code.startswith(("File ", "(Triggered")):
            where = f" It comes from this line of `{line.rsplit(', in ', 1)[1]}`: `{code}`"
    return f"{culprit} returned NaN during backward.{where}"


# --------------------------------------------------------------------------- the scripts


@dataclass(frozen=True)
class Prepared:
    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor


def prepare(split) -> Prepared:
    """Standardise with the *training* mean and standard deviation; keep the given split."""
    mean, std = split.X_train.mean(), split.X_train.std()
    return Prepared((split.X_train - mean) / std, split.y_train, (split.X_test - mean) / std, split.y_test)


def prepare_leaky(split) -> Prepared:
    """BUG: 'oversample' by doubling every digit, then split: about four in ten test digits have a twin in training."""
    X = torch.cat([split.X_train, split.X_test] * 2)
    y = torch.cat([split.y_train, split.y_test] * 2)
    order = torch.randperm(len(y))
    train, test = order[: len(split.y_train)], order[len(split.y_train): len(split.y_train) + len(split.y_test)]
    mean, std = X[train].mean(), X[train].std()
    return Prepared((X[train] - mean) / std, y[train], (X[test] - mean) / std, y[test])


def prepare_zeroed(split) -> Prepared:
    """Karpathy's input-independent baseline: the labels as given, every input 0 (the model can only learn the
    class frequencies)."""
    d = prepare(split)
    return Prepared(torch.zeros_like(d.X_train), d.y_train, torch.zeros_like(d.X_test), d.y_test)


def prepare_shuffled(split) -> Prepared:
    """BUG: shuffle the training set, but inputs and labels with two different permutations."""
    mean, std = split.X_train.mean(), split.X_train.std()
    X = split.X_train[torch.randperm(len(split.y_train))]
    y = split.y_train[torch.randperm(len(split.y_train))]
    return Prepared((X - mean) / std, y, (split.X_test - mean) / std, split.y_test)


def loss_fn(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy on the raw logits (it applies log-softmax itself)."""
    return F.cross_entropy(logits, y)


def loss_fn_softmax(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """BUG: softmax before CrossEntropyLoss, which applies log-softmax a second time."""
    return F.cross_entropy(F.softmax(logits, dim=1), y)


def step(model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: Callable, xb: torch.Tensor,
         yb: torch.Tensor) -> float:
    """One training step: clear the gradients, forward, backward, update."""
    optimizer.zero_grad()
    loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.step()
    return loss.item()


def step_no_zero_grad(model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: Callable, xb: torch.Tensor,
                      yb: torch.Tensor) -> float:
    """BUG: no optimizer.zero_grad(), so each backward adds to the gradients of all earlier steps."""
    loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.step()
    return float(loss)


def eval_logits(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """The logits in eval mode (dropout off, BatchNorm's running statistics), without gradients."""
    model.eval()
    with torch.no_grad():
        return model(X)


def predict_proba(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """Class probabilities: softmax over the classes (dim 1) of the eval-mode logits."""
    return F.softmax(eval_logits(model, X), dim=1)


def predict_proba_train_mode(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """BUG: no model.eval(): dropout still drops and BatchNorm uses the statistics of this batch."""
    with torch.no_grad():
        return F.softmax(model(X), dim=1)


def predict_proba_wrong_dim(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """BUG: softmax over dim 0, the batch, instead of over the classes."""
    return F.softmax(eval_logits(model, X), dim=0)


@dataclass(frozen=True)
class Script:
    """A small training program: its five parts. A bug replaces one of them."""

    name: str
    bug: str
    prepare: Callable = prepare
    loss_fn: Callable = loss_fn
    step: Callable = step
    predict_proba: Callable = predict_proba
    lr: float = BASE_LR

    def changed_part(self) -> str | None:
        """The name of the part that differs from the correct script (None for the correct one)."""
        for part in ("prepare", "loss_fn", "step", "predict_proba", "lr"):
            if getattr(self, part) != getattr(CORRECT, part):
                return part
        return None

    def source(self) -> str:
        """The code of the part that differs from the correct script (the correct step for the correct one)."""
        part = self.changed_part()
        if part is None:
            return inspect.getsource(step)
        if part == "lr":
            return f"optimizer = torch.optim.Adam(model.parameters(), lr={self.lr:g})   # the correct script: lr={BASE_LR:g}\n"
        return inspect.getsource(getattr(self, part))


CORRECT = Script("correct", "none: the reference script")
_BUGS = (  # name, what is wrong, the part it replaces, the buggy part
    ("forgot zero_grad", "optimizer.zero_grad() is missing", "step", step_no_zero_grad),
    ("softmax before CrossEntropyLoss", "the loss gets probabilities instead of logits", "loss_fn", loss_fn_softmax),
    ("eval mode left off", "model.eval() is missing at test time", "predict_proba", predict_proba_train_mode),
    ("softmax over the batch dim", "softmax(dim=0) normalises over the batch", "predict_proba", predict_proba_wrong_dim),
    ("data leakage", "duplicated digits end up on both sides of the split", "prepare", prepare_leaky),
    ("labels shuffled apart", "inputs and labels shuffled with different permutations", "prepare", prepare_shuffled),
    ("learning rate ×100", "lr = 0.1 instead of 0.001", "lr", 100 * BASE_LR),
)
SCRIPTS: dict[str, Script] = {"correct": CORRECT} | {
    name: replace(CORRECT, name=name, bug=bug, **{part: value}) for name, bug, part, value in _BUGS}
# Not a bug but Karpathy's input-independent baseline: the correct script trained on inputs set to 0.
ZEROED = replace(CORRECT, name="inputs zeroed", bug="every input set to 0 (a baseline, not a bug)",
                 prepare=prepare_zeroed)


def script(name: str) -> Script:
    """The script of that name, with a clear error for an unknown one."""
    try:
        return SCRIPTS[name]
    except KeyError:
        raise ValueError(f"unknown script {name!r}; choose one of {list(SCRIPTS)}.") from None


# --------------------------------------------------------------------------- training and diagnosis


@dataclass
class Run:
    script: Script
    data: Prepared
    model: nn.Module
    initial_loss: float
    losses: list[float] = field(default_factory=list)
    update_ratios: dict[str, list[float]] = field(default_factory=dict)
    nan_step: int | None = None
    train_accuracy: float = math.nan
    test_accuracy: float = math.nan


def _weights(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    return [(n, p) for n, p in model.named_parameters() if p.dim() == 2]


def train(s: Script, split, *, seed: int = 0, epochs: int = 10, batch_size: int = 64) -> Run:
    """Run a script: prepare, build the model, train with Adam and its ``step``, record the loss of every
    step and each weight's update-to-data ratio std(Δw)/std(w); then score it with its ``predict_proba``."""
    if not isinstance(s, Script):
        raise ValueError(f"train needs a Script (see SCRIPTS); got a {type(s).__name__}.")
    if not isinstance(epochs, int) or epochs < 1 or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be positive ints; got {epochs!r} and {batch_size!r}.")
    torch.manual_seed(seed)
    data = s.prepare(split)
    model = make_model(data.X_train.shape[1], n_classes=N_CLASSES)
    run = Run(s, data, model, initial_loss(model, data.X_train, data.y_train, s.loss_fn))
    run.update_ratios = {n: [] for n, _ in _weights(model)}
    optimizer = torch.optim.Adam(model.parameters(), lr=s.lr)
    n = len(data.y_train)
    for _epoch in range(epochs):
        model.train()
        for rows in torch.randperm(n).split(batch_size):
            before = {name: p.detach().clone() for name, p in _weights(model)}
            loss = s.step(model, optimizer, s.loss_fn, data.X_train[rows], data.y_train[rows])
            run.losses.append(loss)
            for name, p in _weights(model):
                run.update_ratios[name].append(float((p.detach() - before[name]).std() / before[name].std()))
            if not math.isfinite(loss):
                run.nan_step = len(run.losses)
                break
        if run.nan_step is not None:
            break
    run.train_accuracy = accuracy(s.predict_proba(model, data.X_train), data.y_train)
    run.test_accuracy = accuracy(s.predict_proba(model, data.X_test), data.y_test)
    return run


def accuracy(probabilities: torch.Tensor, y: torch.Tensor) -> float:
    """Share of rows whose largest probability is at the true class."""
    return float((probabilities.argmax(1) == y).float().mean())


def overfit_one_batch(s: Script, X: torch.Tensor, y: torch.Tensor, *, steps: int = 150, seed: int = 0) -> float:
    """Train a fresh model on one batch with the script's own step, loss and lr; its final loss (eval mode)."""
    torch.manual_seed(seed)
    model = make_model(X.shape[1], n_classes=N_CLASSES)
    optimizer = torch.optim.Adam(model.parameters(), lr=s.lr)
    model.train()
    for _ in range(steps):
        s.step(model, optimizer, s.loss_fn, X, y)
    return initial_loss(model, X, y, s.loss_fn)


def gradient_accumulation_ratio(s: Script, X: torch.Tensor, y: torch.Tensor, *, seed: int = 0) -> float:
    """Call the script's step twice on the same batch with a learning rate of 0 (the weights stay put):
    ‖grad after the second call‖ / ‖grad after the first‖. A step that clears its gradients gives 1."""
    torch.manual_seed(seed)
    model = make_model(X.shape[1], n_classes=N_CLASSES)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    norms = []
    for _ in range(2):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            s.step(model, optimizer, s.loss_fn, X, y)
        norms.append(math.sqrt(sum(float(p.grad.pow(2).sum()) for p in model.parameters())))
    return norms[1] / norms[0]


def _nearest_other(X: torch.Tensor) -> torch.Tensor:
    distances = torch.cdist(X, X)
    distances.fill_diagonal_(math.inf)
    return distances.argmin(1)


def nearest_neighbour_agreement(X: torch.Tensor, y: torch.Tensor) -> float:
    """Leave-one-out accuracy of 1-nearest-neighbour on (X, y): do the labels go with the inputs?"""
    return float((y[_nearest_other(X)] == y).float().mean())


def label_agreement(X: torch.Tensor, y: torch.Tensor, *, seed: int = 0) -> tuple[float, float]:
    """1-NN leave-one-out accuracy with the labels as given, and with the same labels shuffled (the baseline
    that a data set whose labels do not go with its inputs would reach), from one distance matrix."""
    nearest = _nearest_other(X)
    shuffled = y[torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))]
    return float((y[nearest] == y).float().mean()), float((shuffled[nearest] == shuffled).float().mean())


def forward_probe(model: nn.Module, X: torch.Tensor) -> tuple[float, str | None]:
    """One eval-mode forward with hooks (removed again): the largest share of dead units over the ReLU layers
    (0 for every row of X), and the name of the first module whose output is not finite (None if all are)."""
    was_training = model.training
    model.eval()
    with ActivationRecorder(model) as recorder, torch.no_grad():
        model(X)
    model.train(was_training)
    rows = activation_stats(recorder.outputs, recorder.kinds)
    dead = max((r.dead_fraction for r in rows if r.kind == "ReLU"), default=0.0)
    broken = next((n for n, out in recorder.outputs.items() if not torch.isfinite(out).all()), None)
    return dead, broken


def overlap_fraction(X_train: torch.Tensor, X_test: torch.Tensor) -> float:
    """Share of test rows that also occur, exactly, among the training rows."""
    seen = {tuple(row) for row in X_train.tolist()}
    return sum(tuple(row) in seen for row in X_test.tolist()) / max(len(X_test), 1)


@dataclass(frozen=True)
class Finding:
    """One check's result: ``severity`` > 1 means flagged (1 is the threshold)."""

    check: str
    severity: float
    sentence: str

    @property
    def flagged(self) -> bool:
        return self.severity > 1.0


EARLY_STEPS = 20  # the update/data check looks at the start of training, where a too-large lr does its damage
# Over the first steps Adam moves each weight by about lr, so the ratio is about lr / std(W0) ≈ 0.014 at lr 1e-3
# for these layers (std(W0) ≈ 0.07), not the 1e-3 of settled training. The limit is about twice that: it flags a
# learning rate clearly too large for weights of this scale.
RATIO_LIMIT = 2.5e-2
LABEL_MARGIN = 0.1  # 1-NN accuracy must beat the shuffled-label baseline by this much
DEAD_LIMIT = 0.5  # flagged when more than half of a ReLU layer's units are dead


def early_update_ratios(run: Run, steps: int = EARLY_STEPS) -> dict[str, float]:
    """Each weight's median update/data ratio over the first ``steps`` steps (NaN counts as infinite)."""
    return {n: float(torch.tensor(r[:steps]).nan_to_num(nan=math.inf).median()) for n, r in run.update_ratios.items()}


CHECKS = ("loss at init", "data sanity", "labels go with inputs", "train/test overlap", "fresh gradients",
          "overfit one batch", "loss goes down", "update/data ratio", "dead units", "finite activations",
          "stable predictions", "probabilities sum to 1")


def diagnose(run: Run, *, seed: int = 0) -> list[Finding]:
    """Every check of the notebook on one run of a script, computed (nothing is looked up)."""
    s, d = run.script, run.data
    findings = []
    target = math.log(N_CLASSES)
    gap = abs(run.initial_loss - target)
    findings.append(Finding("loss at init", gap / 0.5,
                            f"loss at init {run.initial_loss:.2f} vs ln {N_CLASSES} = {target:.2f}"))
    problems = sanity_problems(d.X_train, d.y_train, N_CLASSES) + sanity_problems(d.X_test, d.y_test, N_CLASSES)
    findings.append(Finding("data sanity", 10.0 * len(problems),
                            "; ".join(problems) if problems else "shapes, dtypes and label range are fine"))
    agreement, baseline = label_agreement(d.X_train, d.y_train, seed=seed)
    margin = agreement - baseline
    findings.append(Finding("labels go with inputs", LABEL_MARGIN / margin if margin > 0 else math.inf,
                            f"1-nearest-neighbour accuracy on the training data {agreement:.2f} vs {baseline:.2f} "
                            f"with the labels shuffled (should be at least {LABEL_MARGIN:.1f} higher)"))
    overlap = overlap_fraction(d.X_train, d.X_test)
    findings.append(Finding("train/test overlap", overlap / 0.01,
                            f"{overlap:.0%} of the test digits also occur in the training set"))
    xb, yb = d.X_train[:ONE_BATCH], d.y_train[:ONE_BATCH]
    ratio = gradient_accumulation_ratio(s, xb, yb, seed=seed)
    findings.append(Finding("fresh gradients", abs(ratio - 1) / 0.25,
                            f"‖grad‖ after two identical steps at lr 0 / after one = {ratio:.2f} (should be 1.00)"))
    one = overfit_one_batch(s, xb, yb, seed=seed)
    findings.append(Finding("overfit one batch", one / 0.1 if math.isfinite(one) else math.inf,
                            f"loss on one batch of {ONE_BATCH} after 150 steps {one:.3g} (should be near 0)"))
    if run.nan_step is not None:
        findings.append(Finding("loss goes down", math.inf, f"the loss became NaN at step {run.nan_step}"))
    else:
        last = sum(run.losses[-10:]) / len(run.losses[-10:])
        findings.append(Finding("loss goes down", last / run.initial_loss / 0.5,
                                f"final training loss {last:.3g} = {last / run.initial_loss:.0%} of the loss at init"))
    medians = early_update_ratios(run)
    worst = max(medians, key=medians.get)
    findings.append(Finding("update/data ratio", medians[worst] / RATIO_LIMIT,
                            f"median update/data ratio of {worst} over the first {EARLY_STEPS} steps "
                            f"{medians[worst]:.2g} (flagged above {RATIO_LIMIT:.2g}, about twice lr/std(W0) at lr 1e-3)"))
    dead, broken = forward_probe(run.model, d.X_train)
    findings.append(Finding("dead units", dead / DEAD_LIMIT,
                            f"largest share of dead ReLU units {dead:.2f} (flagged above {DEAD_LIMIT:.1f})"))
    findings.append(Finding("finite activations", math.inf if broken else 0.0,
                            f"the output of layer {broken} is the first that is not finite" if broken else
                            "forward hooks find every layer's output finite"))
    X_probe = d.X_test[:128]
    first, second = s.predict_proba(run.model, X_probe), s.predict_proba(run.model, X_probe)
    alone = torch.cat([s.predict_proba(run.model, X_probe[i: i + 16]) for i in range(0, len(X_probe), 16)])
    change = max(float((first - second).abs().max()), float((first - alone).abs().max()))
    findings.append(Finding("stable predictions", change / 1e-3,
                            f"predicted probabilities change by up to {change:.2g} between calls or batch sizes"))
    sums = first.sum(1)
    off = float((sums - 1).abs().max())
    findings.append(Finding("probabilities sum to 1", off / 1e-3,
                            f"rows of predict_proba sum to {float(sums.min()):.3g}…{float(sums.max()):.3g} (should be 1)"))
    return findings


def format_findings(findings: Sequence[Finding]) -> str:
    """The report: one line per check, flagged ones marked."""
    return "\n".join(f"{'⚠' if f.flagged else '✓'} {f.check:<22} {f.sentence}" for f in findings)


def top_severity(findings: Sequence[Finding]) -> float:
    return max(f.severity for f in findings)


# --------------------------------------------------------------------------- figures


def run_figure(run: Run, reference: Run | None = None) -> Figure:
    """Left: training loss per step (and the correct script's); right: each weight's update/data ratio."""
    fig, (ax_loss, ax_ratio) = plt.subplots(1, 2, figsize=(10, 3.4))
    if reference is not None and reference is not run:
        ax_loss.plot(reference.losses, color="grey", lw=1, label="correct script")
    ax_loss.plot(run.losses, color="C3" if run.script.name != "correct" else "C0", lw=1, label=run.script.name)
    ax_loss.axhline(math.log(N_CLASSES), color="k", ls=":", lw=1, label="ln 10")
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("training loss (log)")
    ax_loss.legend(fontsize=7)
    for name, ratios in run.update_ratios.items():
        ax_ratio.plot(torch.tensor(ratios).clamp_min(1e-8).log10().tolist(), lw=1, label=name)
    ax_ratio.axhline(-3, color="k", ls=":", lw=1, label="1e-3")
    ax_ratio.set_xlabel("step")
    ax_ratio.set_ylabel("log10 update/data")
    ax_ratio.legend(fontsize=7, ncol=2)
    ax_ratio.set_title(f"{run.script.name}: test accuracy {run.test_accuracy:.2f}", fontsize=9)
    fig.tight_layout()
    return fig


def findings_figure(table: Mapping[str, Sequence[Finding]]) -> Figure:
    """A scripts × checks grid of log10 severity: red cells are flagged (severity > 1)."""
    names = list(table)
    grid = torch.tensor([[math.log10(max(min(f.severity, 1e6), 1e-6)) for f in table[n]] for n in names])
    fig, ax = plt.subplots(figsize=(9, 3.8))
    image = ax.imshow(grid.clamp(-3, 3).numpy(), cmap="RdYlGn_r", vmin=-3, vmax=3, aspect="auto")
    ax.set_xticks(range(len(CHECKS)), CHECKS, rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    for i, name in enumerate(names):
        for j, f in enumerate(table[name]):
            if f.flagged:
                ax.text(j, i, "⚠", ha="center", va="center", fontsize=9)
    fig.colorbar(image, ax=ax, label="log10 severity (> 0: flagged)")
    ax.set_title("which check flags which script", fontsize=10)
    fig.tight_layout()
    return fig


def snapshot(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """What Karpathy plots in *makemore*, for one state of a model: each ReLU's output and the logits (eval mode,
    recorded with hooks that are removed), and each weight matrix's gradient of the loss on (X, y)."""
    was_training = model.training
    model.eval()
    with ActivationRecorder(model) as recorder:
        loss = F.cross_entropy(model(X), y)
    grads = dict(zip([n for n, _ in _weights(model)], torch.autograd.grad(loss, [p for _, p in _weights(model)]),
                     strict=True))
    model.train(was_training)
    last = list(recorder.outputs)[-1]
    keep = {n: out for n, out in recorder.outputs.items() if recorder.kinds[n] == "ReLU" or n == last}
    return keep, grads


def init_vs_trained_figure(init: tuple[dict, dict], trained: tuple[dict, dict]) -> Figure:
    """Top row: activation histograms (each ReLU, the logits); bottom row: gradient histograms of each weight
    matrix; at init (grey) and after training (colour). Takes two ``snapshot`` results."""
    (acts0, grads0), (acts1, grads1) = init, trained
    fig, axes = plt.subplots(2, max(len(acts0), len(grads0)), figsize=(9, 4.4), squeeze=False)
    for row, (first, second, what) in enumerate(((acts0, acts1, "output"), (grads0, grads1, "gradient"))):
        for ax, name in zip(axes[row], first, strict=False):
            values = [first[name].flatten(), second[name].flatten()]
            edges = torch.linspace(float(min(v.min() for v in values)), float(max(v.max() for v in values)), 41)
            for v, color, label in zip(values, ("grey", "C0"), ("at init", "trained"), strict=True):
                ax.hist(v.tolist(), bins=edges.tolist(), color=color, alpha=0.6, label=label)
            ax.set_yscale("log")
            ax.set_title(f"{what} of {'the logits' if what == 'output' and name == list(first)[-1] else name}",
                         fontsize=8)
            ax.tick_params(labelsize=7)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def activations_figure(outputs: Mapping[str, torch.Tensor], kinds: Mapping[str, str]) -> Figure:
    """A histogram of each recorded output (Karpathy-style activation histograms)."""
    names = list(outputs)
    fig, axes = plt.subplots(1, len(names), figsize=(2.0 * len(names), 2.4), sharey=True, layout="constrained")
    for ax, name in zip(axes, names, strict=True):
        ax.hist(outputs[name].flatten().tolist(), bins=40, color="C0")
        ax.set_title(f"{name}: {kinds[name]}", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel("count")
    return fig


# --------------------------------------------------------------------------- widget shell


class BugExplorer(Explorer):
    """Widget shell: pick a script (and a seed) -> ``train`` + ``diagnose`` -> its curves and its report."""

    description = "a dropdown to pick a training script (correct or one with a planted bug) and a seed slider"

    def __init__(self, split, runs: Mapping[tuple[str, int], tuple[Run, list[Finding]]] | None = None, *,
                 name: str = "learning rate ×100") -> None:
        import ipywidgets as w

        script(name)
        self.split = split
        self._cache: dict[tuple[str, int], tuple[Run, list[Finding]]] = dict(runs or {})
        self.choice = w.Dropdown(options=list(SCRIPTS), value=name, description="script")
        self.seed = w.IntSlider(value=0, min=0, max=4, description="seed", continuous_update=False)
        self.start((self.choice, self.seed))

    def result(self, name: str, seed: int) -> tuple[Run, list[Finding]]:
        key = (name, seed)
        if key not in self._cache:
            run = train(script(name), self.split, seed=seed)
            self._cache[key] = (run, diagnose(run, seed=seed))
        return self._cache[key]

    def figure(self) -> Figure:
        name, seed = self.choice.value, int(self.seed.value)
        self.current = self.result(name, seed)
        return run_figure(self.current[0], self.result("correct", seed)[0])

    def on_redraw(self) -> None:
        import html

        run, findings = self.current
        flagged = [f.check for f in findings if f.flagged]
        verdict = f"flagged by: {', '.join(flagged)}" if flagged else "no check flags this script"
        self.status.value = (f"<b>{html.escape(run.script.name)}</b>: {html.escape(verdict)}"
                             f"<pre style='font-size:11px'>{html.escape(format_findings(findings))}</pre>")
