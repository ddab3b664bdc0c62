"""Checks for notebook 04 (loss functions).

Each check computes the right answer itself, then compares the learner's answer
with it; for a wrong answer it also compares with the typical mistakes (SmoothL1
instead of Huber, softmax over the wrong dim, one-hot rows instead of indices,
Sigmoid + BCELoss...) and names the one it finds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from course_utils import checks

Mistake = tuple[Callable[..., torch.Tensor], str]


# --------------------------------------------------------------------------- shared helpers


def _report(exercise: str, status: str, message: str, hint: str | None = None) -> None:
    checks.report(checks.Result(exercise, status, message, hint))


def _close(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-5) -> bool:
    a, b = a.detach().double(), b.detach().double()
    return a.shape == b.shape and bool(torch.allclose(a, b, atol=atol, rtol=1e-5))


def check_scalar_function(
    exercise: str,
    fn: Any,
    cases: Sequence[tuple[str, tuple, torch.Tensor]],
    mistakes: Sequence[Mistake],
    *,
    overflow_hint: str | None = None,
    success: str,
) -> None:
    """Run ``fn(*args)`` on each ``(description, args, expected)`` case; the result must be a 0-d tensor.

    For a wrong value, each ``(wrong_fn, hint)`` in ``mistakes`` is tried on the same
    arguments; the first one that reproduces the learner's value gives the hint.
    """
    if checks.is_placeholder(fn):
        return _report(exercise, checks.NOT_DONE, checks.NOT_DONE_MESSAGE)
    if not callable(fn):
        return _report(exercise, checks.FAILED, f"expected a function, got {type(fn).__name__}.",
                       "define it with `def name(...):` and assign nothing else to its name.")
    for number, (description, args, expected) in enumerate(cases, start=1):
        try:
            got = fn(*args)
        except NotImplementedError:
            return _report(exercise, checks.NOT_DONE, "your function still raises NotImplementedError: write its body.")
        except Exception as error:  # the learner's code: report it as a sentence
            return _report(exercise, checks.FAILED,
                           f"on test case {number} ({description}) your function raised "
                           f"{type(error).__name__}: {error}",
                           "use tensor operations only (torch.where, .abs(), .exp(), .log(), indexing).")
        if got is None or got is Ellipsis:
            return _report(exercise, checks.NOT_DONE, "your function returns nothing yet: `return` the loss.")
        if not isinstance(got, torch.Tensor):
            return _report(exercise, checks.FAILED, f"your function returned a {type(got).__name__}, not a tensor.",
                           "compute with torch operations and return the resulting 0-d tensor.")
        if got.dim() != 0:
            return _report(exercise, checks.FAILED,
                           f"on test case {number} the result has shape {tuple(got.shape)}; a loss is one number.",
                           "average the per-example losses with .mean() to get a 0-d tensor.")
        if _close(got, expected):
            continue
        problem = (f"test case {number} ({description}): got {got.item():.4f}, expected {expected.item():.4f}.")
        if not math.isfinite(got.item()) and overflow_hint:
            return _report(exercise, checks.FAILED, problem, overflow_hint)
        hint = None
        for wrong, text in mistakes:
            try:
                candidate = wrong(*args)
            except Exception:  # a mistake that does not apply to this case
                continue
            if _close(got, candidate):
                hint = text
                break
        return _report(exercise, checks.FAILED, problem,
                       hint or "compare your code with the formula in the markdown cell, one term at a time.")
    _report(exercise, checks.PASSED, success)


# --------------------------------------------------------------------------- 04.1 Huber


def _huber_cases() -> list[tuple[str, tuple, torch.Tensor]]:
    pred = torch.tensor([0.0, 0.4, -0.3, 2.5, -3.0, 1.0])
    target = torch.tensor([0.0, 0.0, 0.0, 0.5, 0.0, 0.0])
    cases = []
    for delta in (1.0, 0.5, 2.0):
        cases.append((f"errors below and above delta={delta}", (pred, target, delta),
                      F.huber_loss(pred, target, delta=delta)))
    return cases


def _huber_mistakes() -> list[Mistake]:
    def err(p, t):
        return p - t

    return [
        (lambda p, t, d: F.smooth_l1_loss(p, t, beta=d),
         "that is SmoothL1Loss (Huber divided by δ): use ½e² in the quadratic branch (not ½e²/δ) "
         "and δ·(|e| − ½δ) in the linear branch."),
        (lambda p, t, d: (0.5 * err(p, t) ** 2).mean(),
         "for |e| > δ the loss must grow linearly, δ·(|e| − ½δ): your linear branch is missing or never chosen."),
        (lambda p, t, d: torch.where(err(p, t).abs() <= d, d * (err(p, t).abs() - 0.5 * d),
                                     0.5 * err(p, t) ** 2).mean(),
         "the two branches are swapped: ½e² belongs to the small errors (|e| ≤ δ)."),
        (lambda p, t, d: torch.where(err(p, t).abs() <= d, err(p, t) ** 2,
                                     d * (err(p, t).abs() - 0.5 * d)).mean(),
         "the quadratic branch is ½·e², not e²."),
        (lambda p, t, d: torch.where(err(p, t).abs() <= d, 0.5 * err(p, t) ** 2, d * err(p, t).abs()).mean(),
         "the linear branch is δ·(|e| − ½δ): without the −½δ the two pieces do not meet at |e| = δ."),
        (lambda p, t, d: torch.where(err(p, t).abs() <= d, 0.5 * err(p, t) ** 2, d * (err(p, t) - 0.5 * d)).mean(),
         "use |e| in the linear branch: an error below the target costs as much as one above it."),
        (lambda p, t, d: F.huber_loss(p, t, delta=d, reduction="sum"),
         "average over the elements with .mean(), not .sum()."),
        (lambda p, t, d: torch.where(err(p, t).abs() < 1.0, 0.5 * err(p, t) ** 2, err(p, t).abs() - 0.5).mean(),
         "δ is fixed at 1 in your code: use the `delta` argument in the condition and in the linear branch."),
    ]


def check_1(huber_by_hand: Any) -> None:
    """Exercise 04.1: a Huber loss function (mean reduction), compared with F.huber_loss."""
    check_scalar_function("04.1", huber_by_hand, _huber_cases(), _huber_mistakes(),
                          success="your Huber loss matches nn.HuberLoss for δ = 1, 0.5 and 2.")


# --------------------------------------------------------------------------- 04.2 targets for CrossEntropyLoss

_EXERCISE_2_LABELS = (2, 0, 3, 1, 2)
_EXERCISE_2_CLASSES = 4


def exercise_2_rows() -> torch.Tensor:
    """The one-hot rows of exercise 04.2 (float32, five examples, four classes)."""
    return F.one_hot(torch.tensor(_EXERCISE_2_LABELS), _EXERCISE_2_CLASSES).float()


def check_2(ce_targets: Any) -> None:
    """Exercise 04.2: class-index targets (int64, shape (B,)) from one-hot rows."""
    exercise = "04.2"
    expected = torch.tensor(_EXERCISE_2_LABELS)
    batch, classes = len(_EXERCISE_2_LABELS), _EXERCISE_2_CLASSES
    if checks.is_placeholder(ce_targets):
        return _report(exercise, checks.NOT_DONE, checks.NOT_DONE_MESSAGE)
    if isinstance(ce_targets, torch.Tensor):
        shape = tuple(ce_targets.shape)
        if shape == (batch, classes):
            return _report(exercise, checks.FAILED, f"the shape is {shape}: these are still one-hot rows.",
                           "CrossEntropyLoss wants one class index per example: the position of the 1 in each row, "
                           "rows.argmax(dim=1).")
        if shape == (classes,):
            return _report(exercise, checks.FAILED, f"the shape is {shape}: one value per class, not per example.",
                           "argmax over dim=0 runs down the columns; use dim=1 to get one index per row.")
        if shape == (batch, 1):
            return _report(exercise, checks.FAILED, f"the shape is {shape}; CrossEntropyLoss needs ({batch},).",
                           "drop the extra dimension: argmax(dim=1) without keepdim, or .squeeze(1).")
        if shape == (batch,) and ce_targets.dtype != torch.int64:
            values_ok = torch.equal(ce_targets.double(), expected.double())
            return _report(exercise, checks.FAILED, f"the dtype is {ce_targets.dtype}, but it should be torch.int64.",
                           "class indices must be int64 (torch.long): add .long()." if values_ok else
                           "class indices must be int64 (torch.long), and they are the positions of the 1s.")
        if shape == (batch,) and torch.equal(ce_targets, expected + 1):
            return _report(exercise, checks.FAILED, "every index is one too high.",
                           "class indices count from 0: the first column is class 0.")
    checks.check_tensor(exercise, ce_targets, expected,
                        hint="each target is the column where that row holds its 1 (argmax over dim=1).",
                        success="int64 class indices of shape (5,): exactly what CrossEntropyLoss expects.")


# --------------------------------------------------------------------------- 04.3 stable cross-entropy


def _ce_cases() -> list[tuple[str, tuple, torch.Tensor]]:
    gen = torch.Generator().manual_seed(43)
    small = torch.randn(4, 3, generator=gen)
    small_targets = torch.tensor([0, 2, 1, 2])
    large = torch.tensor([[1000.0, 0.0, -1000.0], [-500.0, 800.0, 799.0], [0.0, -1000.0, 1000.0]])
    large_targets = torch.tensor([0, 2, 1])
    seed_scores, seed_target = torch.tensor([[0.1, 6.0, -2.0, 3.2]]), torch.tensor([2])
    return [
        ("a batch of 4, 3 classes", (small, small_targets), F.cross_entropy(small, small_targets)),
        ("one example, scores [0.1, 6.0, -2.0, 3.2], class 2", (seed_scores, seed_target),
         F.cross_entropy(seed_scores, seed_target)),
        ("logits around ±1000", (large, large_targets), F.cross_entropy(large, large_targets)),
    ]


def _ce_mistakes() -> list[Mistake]:
    def rows(t):
        return torch.arange(len(t))

    return [
        (lambda z, t: -F.log_softmax(z, dim=0)[rows(t), t].mean(),
         "normalise over the classes, dim=1 (each row), not down the batch (dim=0)."),
        (lambda z, t: F.log_softmax(z, dim=1)[rows(t), t].mean(), "cross-entropy is MINUS the log-probability."),
        (lambda z, t: -F.log_softmax(z, dim=1)[rows(t), t].sum(), "average over the batch with .mean(), not .sum()."),
        (lambda z, t: F.cross_entropy(z.softmax(dim=1), t),
         "the logits go straight into the formula: applying softmax first computes a softmax of probabilities."),
        (lambda z, t: -z.softmax(dim=1)[rows(t), t].mean(), "take the log of the true class probability."),
        (lambda z, t: -F.log_softmax(z, dim=1)[:, t].mean(),
         "pick one entry per row: log_probs[torch.arange(B), targets], not log_probs[:, targets] "
         "(which takes every target's column for every row)."),
        (lambda z, t: -z[rows(t), t].mean(),
         "you used the raw logit of the true class: subtract the log-sum-exp of the row first (log-softmax)."),
    ]


def check_3(cross_entropy_by_hand: Any) -> None:
    """Exercise 04.3: cross-entropy on logits that survives ±1000."""
    check_scalar_function(
        "04.3", cross_entropy_by_hand, _ce_cases(), _ce_mistakes(),
        overflow_hint="exp overflowed (e^1000 is inf in float32): subtract each row's max logit before exp. "
                      "log-softmax = (z − max) − log Σ exp(z − max).",
        success="your cross-entropy matches nn.CrossEntropyLoss, also for logits of ±1000.")


# --------------------------------------------------------------------------- 04.4 which loss for which task

TASKS = (
    "price of a house (a number)",
    "spam or not spam (one logit)",
    "which digit, 0 to 9 (ten logits)",
    "which of 5 tags fit a photo, several may (five logits)",
)
_BCE_HINT = ("nn.BCELoss expects probabilities (a sigmoid first) and is numerically fragile; "
             "on a raw logit use nn.BCEWithLogitsLoss.")
_ACCEPTED: dict[str, tuple[type, ...]] = {
    TASKS[0]: (nn.MSELoss, nn.L1Loss, nn.HuberLoss, nn.SmoothL1Loss),
    TASKS[1]: (nn.BCEWithLogitsLoss,),
    TASKS[2]: (nn.CrossEntropyLoss,),
    TASKS[3]: (nn.BCEWithLogitsLoss,),
}
_HINTS: dict[str, dict[type, str]] = {
    TASKS[0]: {},
    TASKS[1]: {
        nn.BCELoss: _BCE_HINT,
        nn.CrossEntropyLoss: "CrossEntropyLoss needs one logit per class (two here); with a single logit "
                             "use nn.BCEWithLogitsLoss.",
        nn.MSELoss: "squared error on a yes/no label learns slowly (weak gradients, no probability): "
                    "use nn.BCEWithLogitsLoss.",
    },
    TASKS[2]: {
        nn.NLLLoss: "nn.NLLLoss expects log-probabilities (log_softmax first); on raw logits use "
                    "nn.CrossEntropyLoss, which includes the log_softmax.",
        nn.BCEWithLogitsLoss: "the ten classes exclude each other: one softmax over all of them, "
                              "i.e. nn.CrossEntropyLoss.",
        nn.BCELoss: "the ten classes exclude each other: use nn.CrossEntropyLoss on the ten logits.",
        nn.MSELoss: "digits are classes, not numbers on a line (7 is not 'closer' to 8 than to 1): "
                    "use nn.CrossEntropyLoss.",
    },
    TASKS[3]: {
        nn.CrossEntropyLoss: "CrossEntropyLoss makes the tags compete (their probabilities sum to 1), but several "
                             "tags can be true at once: one yes/no per tag, nn.BCEWithLogitsLoss (multi-label).",
        nn.BCELoss: _BCE_HINT,
    },
}
_REGRESSION_HINT = "a price is a number, not a class: use a regression loss (nn.MSELoss, nn.L1Loss or nn.HuberLoss)."


def _as_loss_class(value: Any) -> type | None:
    cls = value if isinstance(value, type) else type(value)
    return cls if isinstance(cls, type) and issubclass(cls, nn.Module) else None


def check_4(loss_for_task: Any) -> None:
    """Exercise 04.4: a dict from each task to an nn loss class (or instance)."""
    exercise = "04.4"
    if checks.is_placeholder(loss_for_task):
        return _report(exercise, checks.NOT_DONE, checks.NOT_DONE_MESSAGE)
    if not isinstance(loss_for_task, dict):
        return _report(exercise, checks.FAILED, f"expected a dict, got {type(loss_for_task).__name__}.",
                       "keep the dictionary of the exercise cell and fill in its values.")
    missing = [task for task in TASKS if task not in loss_for_task]
    if missing:
        return _report(exercise, checks.FAILED, f"the task {missing[0]!r} is missing from your dict.",
                       "keep the four keys exactly as given and fill in a loss for each.")
    if any(checks.is_placeholder(loss_for_task[task]) for task in TASKS):
        return _report(exercise, checks.NOT_DONE, "some tasks still have `...` as their loss.")
    for task in TASKS:
        chosen = _as_loss_class(loss_for_task[task])
        if chosen is None:
            return _report(exercise, checks.FAILED, f"for {task!r} you gave {loss_for_task[task]!r}.",
                           "use a loss class from torch.nn, e.g. nn.MSELoss.")
        if chosen in _ACCEPTED[task]:
            continue
        hint = _HINTS[task].get(chosen)
        if hint is None and task == TASKS[0]:
            hint = _REGRESSION_HINT
        return _report(exercise, checks.FAILED, f"for {task!r} you chose nn.{chosen.__name__}.",
                       hint or "think about what the target is: a number, one yes/no, one class out of many, "
                               "or several yes/no answers.")
    _report(exercise, checks.PASSED, "regression loss for numbers, BCEWithLogitsLoss for yes/no (also one per tag), "
                                     "CrossEntropyLoss for one class out of many.")
