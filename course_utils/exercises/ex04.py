"""Checks for notebook 04 (loss functions).

Each check computes the right answer itself, then compares the learner's answer
with it; for a wrong answer it also compares with the typical mistakes (the 2 of
MSE's gradient forgotten, Huber's gradient not capped at δ, log base 10 instead of ln,
the sign of p - onehot flipped, Sigmoid + BCELoss...) and names the one it finds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from course_utils import checks

# --------------------------------------------------------------------------- 04.1 gradients of the regression losses

GRADIENT_KEYS = ("MSE at 3", "MAE at 3", "Huber at 3", "MSE at 0.5", "MAE at 0.5", "Huber at 0.5")
_LOSSES = {"MSE": nn.MSELoss(), "MAE": nn.L1Loss(), "Huber": nn.HuberLoss(delta=1.0)}


def regression_gradients() -> dict[str, float]:
    """d loss / d prediction from autograd, for a prediction 3 or 0.5 above its target (Huber with δ = 1)."""
    result = {}
    for key in GRADIENT_KEYS:
        name, error = key.split(" at ")
        prediction = torch.tensor([float(error)], requires_grad=True)
        _LOSSES[name](prediction, torch.zeros(1)).backward()
        result[key] = prediction.grad.item()
    return result


_GRADIENT_HINTS: dict[str, dict[float, str]] = {
    "MSE at 3": {3.0: "d/dŷ (ŷ - y)² = 2(ŷ - y): do not forget the 2.", 9.0: "that is the loss, not its gradient."},
    "MSE at 0.5": {0.5: "d/dŷ (ŷ - y)² = 2(ŷ - y): do not forget the 2.", 0.25: "that is the loss, not its gradient."},
    "MAE at 3": {3.0: "|e| grows with slope 1 whatever the size of the error: its gradient is sign(e)."},
    "MAE at 0.5": {0.5: "|e| has slope ±1 everywhere except at 0, even close to the target: sign(e)."},
    "Huber at 3": {3.0: "beyond δ Huber is linear, δ(|e| - δ/2): its gradient is capped at δ·sign(e).",
                   6.0: "beyond δ Huber is linear, not quadratic: the gradient is capped at δ·sign(e)."},
    "Huber at 0.5": {1.0: "inside δ Huber is ½e², like half an MSE: its gradient is e itself.",
                     0.125: "that is the loss, not its gradient."},
}


def _numbers_dict(ex: str, answer: Any, keys: Sequence[str]) -> dict[str, float] | None:
    """The learner's dict of numbers, or None after reporting what is wrong (or not done) with it."""
    if checks.unanswered(ex, answer, expect="dict", keys=keys):
        return None
    values = {key: checks.as_number(answer[key]) for key in keys}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            checks.failed(ex, f"for {key!r} you gave {answer[key]!r}.", "give each entry as a plain number.")
            return None
    return values


def check_1(gradients: Any) -> None:
    """Exercise 04.1: predicted d loss / d prediction of MSE, MAE and Huber (δ = 1) at errors 3 and 0.5."""
    ex = "04.1"
    values = _numbers_dict(ex, gradients, GRADIENT_KEYS)
    if values is None:
        return None
    right = regression_gradients()
    for key in GRADIENT_KEYS:
        if not math.isclose(values[key], right[key], abs_tol=1e-6):
            hint = next((h for wrong, h in _GRADIENT_HINTS[key].items() if math.isclose(values[key], wrong,
                                                                                         abs_tol=1e-6)), None)
            if hint is None and math.isclose(values[key], -right[key], abs_tol=1e-6):
                hint = "mind the sign: the prediction is above the target, so raising it raises the loss (> 0)."
            return checks.failed(ex, f"{key}: you said {values[key]:g}; autograd gives {right[key]:g}.",
                                 hint or "differentiate each loss with respect to the prediction: "
                                         "2e for MSE, sign(e) for MAE, e inside δ and δ·sign(e) beyond it for Huber.")
    checks.passed(ex, "MSE's gradient grows with the error (6 at 3), MAE's is ±1 everywhere, and Huber's is e up "
                      "to δ and capped at δ beyond it: robust to outliers, smooth near the target.")


# --------------------------------------------------------------------------- 04.2 the loss of knowing nothing


def check_2(uniform_loss: Any) -> None:
    """Exercise 04.2: the cross-entropy of a 10-class model whose logits are all equal: ln 10."""
    ex = "04.2"
    if checks.unanswered(ex, uniform_loss, expect="number", hint="assign one float to uniform_loss."):
        return
    value = checks.as_number(uniform_loss)
    right = F.cross_entropy(torch.zeros(4, 10), torch.tensor([0, 3, 7, 9])).item()
    if math.isclose(value, right, abs_tol=1e-3):
        return checks.passed(ex, f"ln 10 ≈ {right:.4f}: every class gets probability 0.1. A classifier whose loss "
                                 "is not clearly below this has learned nothing yet.")
    mistakes = [
        (lambda v: math.isclose(v, 0.1, abs_tol=1e-6), "0.1 is the probability of the true class, not the loss.",
         "cross-entropy is -log of that probability."),
        (lambda v: math.isclose(v, 1.0, abs_tol=1e-6), "1 is log base 10 of 10.",
         "PyTorch's cross-entropy uses the natural logarithm: -ln 0.1."),
        (lambda v: math.isclose(v, -right, abs_tol=1e-3), "the loss cannot be negative.",
         "it is MINUS the log of a probability below 1: -ln 0.1 > 0."),
        (lambda v: math.isclose(v, 0.0, abs_tol=1e-6), "0 would mean the true class gets probability 1.",
         "equal logits give each of the 10 classes the same probability."),
        (lambda v: math.isclose(v, math.log(2), abs_tol=1e-3), "ln 2 is the loss of a two-class guess.",
         "with 10 classes each gets probability 1/10."),
    ]
    found = checks.first_mistake(value, mistakes)
    if found:
        return checks.failed(ex, *found)
    checks.failed(ex, f"{value:.4g} is not the cross-entropy of equal logits.",
                  "equal logits → softmax gives 1/10 to each class → the loss is -ln(1/10) for every example.")


# --------------------------------------------------------------------------- 04.3 the gradient of cross-entropy


def check_3(grad_logits: Any) -> None:
    """Exercise 04.3: d CE / d logits for logits [0, 0, 0] and true class 1: p - onehot = [1/3, -2/3, 1/3]."""
    ex = "04.3"
    if checks.unanswered(ex, grad_logits):
        return
    try:
        got = torch.as_tensor(grad_logits, dtype=torch.float64).flatten()
    except (TypeError, ValueError, RuntimeError):
        return checks.failed(ex, f"expected three numbers, got {type(grad_logits).__name__}.",
                             "give a list (or tensor) of three numbers, one per logit.")
    logits = torch.zeros(1, 3, dtype=torch.float64, requires_grad=True)
    F.cross_entropy(logits, torch.tensor([1])).backward()
    right = logits.grad[0]
    if got.shape != right.shape:
        return checks.failed(ex, f"expected three numbers (one per logit), got {got.numel()}.",
                             "one gradient per logit: a list of three numbers.")
    if checks.close(got, right, atol=1e-3):
        return checks.passed(ex, "p - onehot(y) = [1/3, -2/3, 1/3]: the true logit is pushed up, the others down, "
                                 "and the three add to 0.")
    third = 1.0 / 3.0
    mistakes = [
        (torch.tensor([third, -2 * third, third], dtype=torch.float64).neg(), "the signs are flipped.",
         "the gradient points uphill: raising the true class's logit LOWERS the loss, so its entry is negative."),
        (torch.tensor([0.0, -1.0, 0.0], dtype=torch.float64), "you left out the softmax probabilities.",
         "the gradient is p - onehot(y), and p = softmax([0, 0, 0]) = [1/3, 1/3, 1/3]."),
        (torch.tensor([third, third, third], dtype=torch.float64), "that is p alone.",
         "subtract the one-hot target: p - onehot(y)."),
        (torch.tensor([third, third - 1.0, third], dtype=torch.float64) / 3, "that is divided by 3.",
         "there is one example (B = 1), so there is nothing to average over: p - onehot(y)."),
    ]
    found = checks.first_mistake(got, [(wrong, problem, hint) for wrong, problem, hint in mistakes])
    if found:
        return checks.failed(ex, *found)
    checks.failed(ex, f"{[round(v, 4) for v in got.tolist()]} is not the gradient.",
                  "for softmax + cross-entropy, d loss / d z = softmax(z) - onehot(y).")


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
    if checks.unanswered(exercise, loss_for_task, expect="dict", keys=TASKS):
        return
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
                            "CrossEntropyLoss for one class out of many (also per pixel), and for a target distribution "
                            "KLDivLoss or CrossEntropyLoss with probability targets (they differ by the teacher's "
                            "entropy, a constant, so their gradients agree).")


# --------------------------------------------------------------------------- 04.5 pos_weight for rare positives

NEGATIVES, POSITIVES = 950, 50


def check_5(pos_weight: Any) -> None:
    """Exercise 04.5: the ``pos_weight`` that makes 50 positives weigh as much as 950 negatives (950 / 50 = 19)."""
    exercise = "04.5"
    if checks.unanswered(exercise, pos_weight, expect="number",
                         hint="one number: how many times more each positive example should count."):
        return
    pos_weight = checks.as_number(pos_weight)
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
