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


# --------------------------------------------------------------------------- shared helper


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

    For a wrong value, ``checks.match_mistake`` tries each ``(wrong_fn, hint)`` on the same
    arguments; the first one that reproduces the learner's value gives the hint.
    """
    if checks.is_placeholder(fn):
        return checks.not_done(exercise)
    if not callable(fn):
        return checks.failed(exercise, f"expected a function, got {type(fn).__name__}.",
                             "define it with `def name(...):` and assign nothing else to its name.")
    for number, (description, args, expected) in enumerate(cases, start=1):
        try:
            got = fn(*args)
        except NotImplementedError:
            return checks.not_done(exercise, checks.NOT_WRITTEN_MESSAGE)
        except Exception as error:  # the learner's code: report it as a sentence
            return checks.failed(exercise, f"on test case {number} ({description}) your function raised "
                                           f"{type(error).__name__}: {error}",
                                 "use tensor operations only (torch.where, .abs(), .exp(), .log(), indexing).")
        if got is None or got is Ellipsis:
            return checks.not_done(exercise, "your function returns nothing yet: `return` the loss.")
        if not isinstance(got, torch.Tensor):
            return checks.failed(exercise, f"your function returned a {type(got).__name__}, not a tensor.",
                                 "compute with torch operations and return the resulting 0-d tensor.")
        if got.dim() != 0:
            return checks.failed(exercise, f"on test case {number} the result has shape {tuple(got.shape)}; "
                                           "a loss is one number.",
                                 "average the per-example losses with .mean() to get a 0-d tensor.")
        if checks.close(got, expected, atol=1e-5, rtol=1e-5):
            continue
        problem = f"test case {number} ({description}): got {got.item():.4f}, expected {expected.item():.4f}."
        if not math.isfinite(got.item()) and overflow_hint:
            return checks.failed(exercise, problem, overflow_hint)
        hint = checks.match_mistake(fn, mistakes, [(args, expected)])
        return checks.failed(exercise, problem,
                             hint or "compare your code with the formula in the markdown cell, one term at a time.")
    checks.passed(exercise, success)


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
        return checks.not_done(exercise)
    if isinstance(ce_targets, torch.Tensor):
        shape = tuple(ce_targets.shape)
        if shape == (batch, classes):
            return checks.failed(exercise, f"the shape is {shape}: these are still one-hot rows.",
                           "CrossEntropyLoss wants one class index per example: the position of the 1 in each row, "
                           "rows.argmax(dim=1).")
        if shape == (classes,):
            return checks.failed(exercise, f"the shape is {shape}: one value per class, not per example.",
                           "argmax over dim=0 runs down the columns; use dim=1 to get one index per row.")
        if shape == (batch, 1):
            return checks.failed(exercise, f"the shape is {shape}; CrossEntropyLoss needs ({batch},).",
                           "drop the extra dimension: argmax(dim=1) without keepdim, or .squeeze(1).")
        if shape == (batch,) and ce_targets.dtype != torch.int64:
            values_ok = torch.equal(ce_targets.double(), expected.double())
            return checks.failed(exercise, f"the dtype is {ce_targets.dtype}, but it should be torch.int64.",
                           "class indices must be int64 (torch.long): add .long()." if values_ok else
                           "class indices must be int64 (torch.long), and they are the positions of the 1s.")
        if shape == (batch,) and torch.equal(ce_targets, expected + 1):
            return checks.failed(exercise, "every index is one too high.",
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
    "one of 3 classes for every pixel (logits of shape (B, 3, H, W))",
    "match a teacher's class probabilities (the student outputs log_softmax)",
)
_BCE_HINT = ("nn.BCELoss expects probabilities (a sigmoid first) and is numerically fragile; "
             "on a raw logit use nn.BCEWithLogitsLoss.")
_ACCEPTED: dict[str, tuple[type, ...]] = {
    TASKS[0]: (nn.MSELoss, nn.L1Loss, nn.HuberLoss, nn.SmoothL1Loss),
    TASKS[1]: (nn.BCEWithLogitsLoss,),
    TASKS[2]: (nn.CrossEntropyLoss,),
    TASKS[3]: (nn.BCEWithLogitsLoss,),
    TASKS[4]: (nn.CrossEntropyLoss,),
    TASKS[5]: (nn.KLDivLoss, nn.CrossEntropyLoss),
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
    TASKS[4]: {
        nn.BCEWithLogitsLoss: "each pixel has exactly one class, so its 3 scores compete: nn.CrossEntropyLoss, which "
                              "takes (B, C, H, W) logits with (B, H, W) class-index targets.",
        nn.NLLLoss: "nn.NLLLoss expects log-probabilities; on raw logits use nn.CrossEntropyLoss (it also takes "
                    "(B, C, H, W) logits).",
        nn.MSELoss: "classes are not numbers: one cross-entropy per pixel, nn.CrossEntropyLoss on (B, C, H, W).",
    },
    TASKS[5]: {
        nn.MSELoss: "the target is a distribution: nn.KLDivLoss(reduction='batchmean') compares it with the "
                    "student's log-probabilities (KL(teacher || student)).",
        nn.BCEWithLogitsLoss: "the classes share one distribution: nn.KLDivLoss(reduction='batchmean') on the "
                              "student's log-probabilities, with the teacher's probabilities as target.",
        nn.NLLLoss: "nn.NLLLoss takes class indices, not a distribution: nn.KLDivLoss(reduction='batchmean') "
                    "compares two distributions.",
    },
}
_REGRESSION_HINT = "a price is a number, not a class: use a regression loss (nn.MSELoss, nn.L1Loss or nn.HuberLoss)."


def _as_loss_class(value: Any) -> type | None:
    cls = value if isinstance(value, type) else type(value)
    return cls if isinstance(cls, type) and issubclass(cls, nn.Module) else None


def check_4(loss_for_task: Any) -> None:
    """Exercise 04.4: a dict from each of the six tasks to an nn loss class (or instance)."""
    exercise = "04.4"
    if checks.is_placeholder(loss_for_task):
        return checks.not_done(exercise)
    if not isinstance(loss_for_task, dict):
        return checks.failed(exercise, f"expected a dict, got {type(loss_for_task).__name__}.",
                       "keep the dictionary of the exercise cell and fill in its values.")
    missing = [task for task in TASKS if task not in loss_for_task]
    if missing:
        return checks.failed(exercise, f"the task {missing[0]!r} is missing from your dict.",
                       "keep the six keys exactly as given and fill in a loss for each.")
    if any(checks.is_placeholder(loss_for_task[task]) for task in TASKS):
        return checks.not_done(exercise, "some tasks still have `...` as their loss.")
    for task in TASKS:
        chosen = _as_loss_class(loss_for_task[task])
        if chosen is None:
            return checks.failed(exercise, f"for {task!r} you gave {loss_for_task[task]!r}.",
                           "use a loss class from torch.nn, e.g. nn.MSELoss.")
        if chosen in _ACCEPTED[task]:
            continue
        hint = _HINTS[task].get(chosen)
        if hint is None and task == TASKS[0]:
            hint = _REGRESSION_HINT
        return checks.failed(exercise, f"for {task!r} you chose nn.{chosen.__name__}.",
                       hint or "think about what the target is: a number, one yes/no, one class out of many, "
                               "or several yes/no answers.")
    checks.passed(exercise, "regression loss for numbers, BCEWithLogitsLoss for yes/no (also one per tag), "
                            "CrossEntropyLoss for one class out of many (also per pixel), KLDivLoss for a "
                            "target distribution.")


# --------------------------------------------------------------------------- 04.5 pos_weight for rare positives

NEGATIVES, POSITIVES = 950, 50


def check_5(pos_weight: Any) -> None:
    """Exercise 04.5: the ``pos_weight`` that makes 50 positives weigh as much as 950 negatives (950 / 50 = 19)."""
    exercise = "04.5"
    if checks.is_placeholder(pos_weight):
        return checks.not_done(exercise)
    if isinstance(pos_weight, torch.Tensor) and pos_weight.numel() == 1:
        pos_weight = pos_weight.item()
    if not isinstance(pos_weight, int | float) or isinstance(pos_weight, bool):
        return checks.failed(exercise, f"expected a number, got {type(pos_weight).__name__}.",
                             "one number: how many times more each positive example should count.")
    right = NEGATIVES / POSITIVES
    total = NEGATIVES + POSITIVES
    mistakes = [
        (POSITIVES / NEGATIVES, "that is negatives per positive turned upside down.",
         "pos_weight multiplies the loss of each POSITIVE example, so it must be large when positives are rare."),
        (POSITIVES / total, "that is the fraction of positives.",
         "the positives' total weight, pos_weight · 50, should equal the negatives' total weight, 1 · 950."),
        (NEGATIVES / total, "that is the fraction of negatives.",
         "pos_weight · 50 (positives) should equal 950 (negatives, weight 1 each)."),
        (total / POSITIVES, "that would make the positives outweigh the negatives (20 · 50 = 1000 > 950).",
         "count only the negatives in the numerator: pos_weight · 50 = 950."),
        (1.0, "with pos_weight = 1 nothing changes: the 950 negatives dominate the loss.",
         "give each positive more weight, so that 50 of them weigh as much as 950 negatives."),
    ]
    found = checks.first_mistake(float(pos_weight), mistakes, atol=1e-3)
    if found:
        return checks.failed(exercise, *found)
    checks.check_value(exercise, float(pos_weight), right, tol=1e-6,
                       hint="pos_weight · (number of positives) = 1 · (number of negatives).",
                       success="pos_weight = 950 / 50 = 19: the 50 positives now weigh as much as the 950 negatives.")
