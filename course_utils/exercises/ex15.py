"""Checks for notebook 15 (generalization and regularization)."""

from __future__ import annotations

import math
from typing import Any

import torch

from course_utils import checks

# exercise 15.4: a batch of four samples with two features, and the sample fed in eval mode afterwards
BN_BATCH = torch.tensor([[1.0, 10.0], [3.0, 10.0], [5.0, 14.0], [7.0, 14.0]])
BN_SAMPLE = torch.tensor([4.0, 12.0])
BN_EPS = 1e-5

# exercise 15.1: activation h through nn.Dropout(p) in training mode
DROP_H, DROP_P = 3.0, 0.4


def _is(value: float) -> Any:
    return lambda a: isinstance(a, int | float) and not isinstance(a, bool) and math.isclose(a, value, rel_tol=1e-4)


def dropout_variance(h: float = DROP_H, p: float = DROP_P) -> float:
    """Variance of inverted dropout's output for a constant input h: h²·p/(1 − p)."""
    return h * h * p / (1 - p)


def check_1(variance: Any) -> None:
    """Exercise 15.1: the variance of nn.Dropout(p=0.4)'s output for the input 3.0, in training mode."""
    exercise, expected = "15.1", dropout_variance()
    h, p = DROP_H, DROP_P
    value = checks.as_number(variance)
    if checks.unanswered(exercise, value):
        return
    found = checks.first_mistake(value, [
        (_is(h * h / (1 - p)), "that is E[out²]; the variance is E[out²] minus the squared mean.",
         "the mean is 3.0, so subtract 3.0² = 9."),
        (_is(h * h * p * (1 - p)), "that is the variance without the 1/(1 − p) scaling of the kept value.",
         "PyTorch's kept value is 3 / (1 − p), not 3."),
        (_is(math.sqrt(h * h * p / (1 - p))), "that is the standard deviation; the question asks for the variance.",
         None),
        (_is(h * p / (1 - p)), "the activation must enter squared: a variance scales with h².", None),
        (_is(p / (1 - p)), "that is the variance for an input of 1; this input is 3.0.", None),
        (_is(0.0), "0 is the variance in eval mode, where dropout is the identity.", None),
    ])
    if found is not None:
        return checks.failed(exercise, *found)
    checks.check_value(exercise, value, expected, tol=1e-4,
                       hint="the output is 3 / (1 − p) with probability 1 − p, else 0; variance = E[out²] − mean².",
                       success=f"h²·p/(1 − p) = 9 · 0.4 / 0.6 = {expected:g}: dropout's noise grows with p and with h².")


def check_2(steps: Any) -> None:
    """Exercise 15.2: steps of AdamW(lr=1e-3, weight_decay=1) with zero gradients until the weights halve."""
    exercise, expected = "15.2", math.ceil(math.log(0.5) / math.log(1 - 1e-3))
    value = checks.as_number(steps)
    if checks.unanswered(exercise, value):
        return
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    found = checks.first_mistake(value, [
        (_is(expected - 1), f"after {expected - 1} steps the weights are still just above half "
                            f"(0.999^{expected - 1} > 0.5).", "round up: the first n with 0.999ⁿ ≤ 0.5."),
        (_is(500), "that subtracts 0.1 % of the *starting* weight each step; AdamW takes 0.1 % of the *current* one.",
         "the factors multiply: solve 0.999ⁿ ≤ 0.5."),
        (_is(1), "AdamW multiplies the decay by the learning rate: each step shrinks by 1 − lr·λ, not 1 − λ.", None),
    ])
    if found is not None:
        return checks.failed(exercise, *found)
    if not isinstance(value, int) or isinstance(value, bool):
        return checks.failed(exercise, f"expected a whole number of steps, got {value!r}.",
                             "use math.ceil on the real-valued solution.")
    checks.check_value(exercise, value, expected,
                       hint="with a zero gradient Adam's part of the step is 0; only the factor 1 − lr·λ remains.",
                       success=f"0.999ⁿ ≤ 0.5 first at n = {expected} (≈ ln 2 / (lr·λ)): weight_decay=1 is gentle "
                               "at this learning rate.")


def _reference_early_stop(val_losses, patience, ties_improve=False):
    best, best_epoch, bad = math.inf, 0, 0
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best or (ties_improve and loss == best):
            best, best_epoch, bad = loss, epoch, 0
        else:
            bad += 1
        if bad >= patience:
            return best_epoch, epoch
    return best_epoch, len(val_losses)


def _last_not_best(val_losses, patience):
    best_epoch, stop = _reference_early_stop(val_losses, patience)
    return stop, stop


def _one_late(val_losses, patience):
    best_epoch, stop = _reference_early_stop(val_losses, patience + 1)
    return best_epoch, stop


def _one_early(val_losses, patience):
    return _reference_early_stop(val_losses, max(patience - 1, 1))


def _ties_improve(val_losses, patience):
    return _reference_early_stop(val_losses, patience, ties_improve=True)


EARLY_STOP_CASES = [
    (([1.0, 0.8, 0.7, 0.75, 0.72, 0.71, 0.9], 3), (3, 6)),
    (([1.0, 0.9, 0.8, 0.7], 2), (4, 4)),
    (([0.5, 0.6, 0.6, 0.4, 0.5, 0.5, 0.5, 0.3], 3), (4, 7)),
    (([0.9, 0.8, 0.8, 0.8, 0.7], 2), (2, 4)),
]


PREDICTION_CASE = ([0.9, 0.7, 0.8, 0.7, 0.6, 0.65, 0.66], 2)


def check_3(predicted: Any, early_stop_epochs: Any) -> None:
    """Exercise 15.3: the predicted (best, stop) for PREDICTION_CASE, then the function on several curves."""
    exercise = "15.3"
    want = _reference_early_stop(*PREDICTION_CASE)
    if checks.is_placeholder(predicted) or (isinstance(predicted, tuple) and any(map(checks.is_placeholder, predicted))):
        return checks.not_done(exercise)
    if not (isinstance(predicted, tuple | list) and len(predicted) == 2):
        return checks.failed(exercise, f"expected a tuple (best_epoch, stop_epoch), got {predicted!r}.", None)
    guess = tuple(int(checks.as_number(v)) if isinstance(checks.as_number(v), int | float) else v for v in predicted)
    if guess != want:
        found = checks.first_mistake(guess, [
            (lambda g: g == _ties_improve(*PREDICTION_CASE),
             "you counted epoch 4's loss 0.7 as an improvement; it only equals the best, 0.7 of epoch 2.",
             "only a strictly lower loss resets the count: epochs 3 and 4 are two bad epochs in a row."),
            (lambda g: g == (4, 4), "the first number is the epoch whose weights are restored: the best one.", None),
            (lambda g: g == (2, 5), "you stop one epoch late: stop right after the second bad epoch.", None),
        ])
        return checks.failed(exercise, *(found or (f"{guess} is not what early stopping does on this curve.",
                                                   "walk through the epochs, counting bad ones since the best.")))
    hint = checks.match_mistake(early_stop_epochs, [
        (_last_not_best, "the first number is the epoch whose weights you restore: the best one, not the last."),
        (_one_late, "you stop one epoch late: stop as soon as `patience` epochs in a row brought no improvement."),
        (_one_early, "you stop one epoch early: wait for `patience` epochs without improvement, not patience − 1."),
        (_ties_improve, "an equal loss is not an improvement: use a strict `<`."),
    ], EARLY_STOP_CASES) if callable(early_stop_epochs) else None
    checks.check_function(exercise, early_stop_epochs, [(args, tuple(want)) for args, want in EARLY_STOP_CASES],
                          hint=hint or "count the epochs without improvement since the best one; reset on improvement.",
                          success="your prediction (2, 4) is right (the tie at epoch 4 is no improvement), and so is "
                                  "the function on every curve.")


def bn_running_stats(batch: torch.Tensor = BN_BATCH, momentum: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """Running mean and variance of a fresh BatchNorm1d after one training-mode forward pass."""
    mean = batch.mean(0)
    var = batch.var(0, unbiased=True)
    return (1 - momentum) * 0 + momentum * mean, (1 - momentum) * 1 + momentum * var


def bn_eval_output(batch: torch.Tensor = BN_BATCH, sample: torch.Tensor = BN_SAMPLE, momentum: float = 0.1,
                   eps: float = BN_EPS) -> torch.Tensor:
    """Eval-mode output for ``sample`` of a fresh BatchNorm1d after one training pass over ``batch``."""
    mean, var = bn_running_stats(batch.double(), momentum)
    return (sample.double() - mean) / torch.sqrt(var + eps)


def check_4(eval_output: Any) -> None:
    """Exercise 15.4: eval-mode output of a fresh nn.BatchNorm1d(2) for BN_SAMPLE after one pass over BN_BATCH."""
    exercise = "15.4"
    if checks.unanswered(exercise, eval_output):
        return
    if not isinstance(eval_output, torch.Tensor) or tuple(eval_output.shape) != (2,):
        return checks.failed(exercise, f"expected a tensor of shape (2,), got {eval_output!r}.",
                             "normalise the one sample: (sample − running_mean) / sqrt(running_var + ε).")
    got = eval_output.detach().double()
    batch, x = BN_BATCH.double(), BN_SAMPLE.double()
    m, biased, unbiased = batch.mean(0), batch.var(0, unbiased=False), batch.var(0, unbiased=True)
    want = bn_eval_output()
    if checks.close(got, want, atol=2e-6):
        return checks.passed(exercise, "eval mode uses the running statistics: mean 0.1·batch mean, variance "
                                       "0.9 + 0.1·unbiased batch variance, plus ε.")
    found = checks.first_mistake(got, [
        ((x - m) / torch.sqrt(biased + BN_EPS), "that normalises with the batch's own statistics: train mode.",
         "in eval mode BatchNorm uses running_mean and running_var, not the batch."),
        ((x - 0.1 * m) / torch.sqrt(0.9 + 0.1 * biased + BN_EPS),
         "the running variance is updated with the unbiased batch variance (÷ N−1), not the biased one.", None),
        ((x - 0.1 * m) / torch.sqrt(0.9 + 0.1 * unbiased), "you left out ε under the square root.",
         "BatchNorm divides by sqrt(running_var + ε), ε = 1e-5."),
        ((x - 0.9 * m) / torch.sqrt(0.1 + 0.9 * unbiased + BN_EPS),
         "you gave the new batch weight 0.9: PyTorch's momentum 0.1 is the weight of the *new* value.", None),
        ((x - m) / torch.sqrt(unbiased + BN_EPS), "that uses the batch statistics as if momentum were 1; the running "
         "estimates move only 10 % of the way from 0 and 1.", None),
        ((x - 0.1 * m) / torch.sqrt(0.1 * unbiased + BN_EPS), "the running variance starts at 1, not 0.", None),
    ], atol=2e-6)
    checks.failed(exercise, *(found or ("the output is not right.",
                                        "running mean = 0.1·batch mean, running var = 0.9 + 0.1·unbiased var; "
                                        "then (sample − mean) / sqrt(var + ε).")))
