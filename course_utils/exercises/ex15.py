"""Checks for notebook 15 (generalization and regularization)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from course_utils import checks

# the batch of exercise 15.4: four samples, two features
BN_BATCH = torch.tensor([[1.0, 10.0], [3.0, 10.0], [5.0, 14.0], [7.0, 14.0]])


def _number(answer: Any) -> Any:
    """A one-element tensor or a NumPy scalar as a plain float; anything else unchanged."""
    if isinstance(answer, torch.Tensor) and answer.numel() == 1:
        return float(answer.item())
    if isinstance(answer, np.generic):
        return float(answer)
    return answer


def _is(value: float) -> Any:
    return lambda a: isinstance(a, int | float) and not isinstance(a, bool) and math.isclose(a, value, rel_tol=1e-4)


def check_1(kept_value: Any) -> None:
    """Exercise 15.1: the value of a kept entry 2.0 under nn.Dropout(p=0.25) in training mode."""
    exercise, expected = "15.1", 2.0 / 0.75
    value = _number(kept_value)
    if checks.is_placeholder(value):
        return checks.not_done(exercise)
    found = checks.first_mistake(value, [
        (_is(2.0), "2.0 is the value in eval mode (or without the scaling).",
         "in training mode PyTorch divides every kept value by 1 − p, so that the expected value stays 2.0."),
        (_is(2.0 * 0.75), "that multiplies by 1 − p: the old, non-inverted dropout did that at test time.",
         "PyTorch's inverted dropout divides by 1 − p during training instead."),
        (_is(2.0 / 0.25), "that divides by p, the probability of *dropping*.",
         "the scale is 1 / (1 − p), the inverse of the probability of keeping a unit."),
        (_is(0.0), "0 is what a dropped entry becomes; the question asks for a kept one.", None),
    ])
    if found is not None:
        return checks.failed(exercise, *found)
    checks.check_value(exercise, value, expected, tol=1e-4,
                       hint="a kept entry is x / (1 − p).", success=f"2 / (1 − 0.25) = {expected:.4f}.")


def check_2(penalty_coefficient: Any) -> None:
    """Exercise 15.2: the c in loss + c·Σw² that gives the same SGD steps as weight_decay=0.01."""
    exercise, expected = "15.2", 0.005
    value = _number(penalty_coefficient)
    if checks.is_placeholder(value):
        return checks.not_done(exercise)
    found = checks.first_mistake(value, [
        (_is(0.01), "with c = 0.01 the gradient of c·Σw² is 0.02·w: twice the decay of weight_decay=0.01.",
         "differentiate c·w²: the 2 from the square must be cancelled."),
        (_is(0.02), "that doubles instead of halving.", "the gradient of c·w² is 2c·w; set 2c = 0.01."),
        (_is(0.1), "that is the square root of 0.01; the decay is not squared.", None),
    ])
    if found is not None:
        return checks.failed(exercise, *found)
    checks.check_value(exercise, value, expected, tol=1e-9, hint="SGD's weight_decay=λ adds λ·w to the gradient.",
                       success="c = λ/2 = 0.005: the gradient of 0.005·Σw² is 0.01·w, exactly weight_decay's term.")


def _reference_early_stop(val_losses, patience):
    best, best_epoch, bad = math.inf, 0, 0
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best:
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
    best, best_epoch, bad = math.inf, 0, 0
    for epoch, loss in enumerate(val_losses, start=1):
        if loss <= best:
            best, best_epoch, bad = loss, epoch, 0
        else:
            bad += 1
        if bad >= patience:
            return best_epoch, epoch
    return best_epoch, len(val_losses)


EARLY_STOP_CASES = [
    (([1.0, 0.8, 0.7, 0.75, 0.72, 0.71, 0.9], 3), (3, 6)),
    (([1.0, 0.9, 0.8, 0.7], 2), (4, 4)),
    (([0.5, 0.6, 0.6, 0.4, 0.5, 0.5, 0.5, 0.3], 3), (4, 7)),
    (([0.9, 0.8, 0.8, 0.8, 0.7], 2), (2, 4)),
]


def check_3(early_stop_epochs: Any) -> None:
    """Exercise 15.3: (best epoch, stopping epoch) for a list of validation losses and a patience."""
    exercise = "15.3"
    hint = checks.match_mistake(early_stop_epochs, [
        (_last_not_best, "the first number is the epoch whose weights you restore: the best one, not the last."),
        (_one_late, "you stop one epoch late: stop as soon as `patience` epochs in a row brought no improvement."),
        (_one_early, "you stop one epoch early: wait for `patience` epochs without improvement, not patience − 1."),
        (_ties_improve, "an equal loss is not an improvement: use a strict `<`."),
    ], EARLY_STOP_CASES) if callable(early_stop_epochs) else None
    checks.check_function(exercise, early_stop_epochs, [(args, tuple(want)) for args, want in EARLY_STOP_CASES],
                          hint=hint or "count the epochs without improvement since the best one; reset on improvement.",
                          success="best and stopping epochs are right in every case.")


def bn_running_stats(batch: torch.Tensor = BN_BATCH, momentum: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """Running mean and variance of a fresh BatchNorm1d after one training-mode forward pass."""
    mean = batch.mean(0)
    var = batch.var(0, unbiased=True)
    return (1 - momentum) * 0 + momentum * mean, (1 - momentum) * 1 + momentum * var


def check_4(running_stats: Any) -> None:
    """Exercise 15.4: (running_mean, running_var) of a fresh nn.BatchNorm1d(2) after one pass over BN_BATCH."""
    exercise = "15.4"
    if checks.is_placeholder(running_stats) or (
        isinstance(running_stats, tuple) and any(checks.is_placeholder(a) for a in running_stats)
    ):
        return checks.not_done(exercise)
    if not (isinstance(running_stats, tuple | list) and len(running_stats) == 2
            and all(isinstance(t, torch.Tensor) for t in running_stats)):
        return checks.failed(exercise, "expected a pair of tensors (running_mean, running_var).",
                             "write `running_stats = (mean_tensor, var_tensor)`, each of shape (2,).")
    mean, var = (t.detach().double() for t in running_stats)
    want_mean, want_var = (t.double() for t in bn_running_stats())
    m = BN_BATCH.double().mean(0)
    biased, unbiased = BN_BATCH.double().var(0, unbiased=False), BN_BATCH.double().var(0, unbiased=True)
    if not checks.close(mean, want_mean, atol=1e-4):
        found = checks.first_mistake(mean, [
            (m, "that is the batch mean itself; the running mean moves only 10 % of the way from its start, 0.",
             "running = (1 − momentum)·running + momentum·batch, with momentum = 0.1."),
            (0.9 * m, "you gave the new batch weight 0.9: PyTorch's momentum 0.1 is the weight of the *new* value.",
             "running = 0.9·old + 0.1·new."),
        ], atol=1e-4)
        return checks.failed(exercise, *(found or ("the running mean is not right.",
                                                   "the running mean starts at 0 and moves by momentum = 0.1.")))
    if not checks.close(var, want_var, atol=1e-4):
        found = checks.first_mistake(var, [
            (0.9 + 0.1 * biased, "that uses the biased variance (÷ N); the running variance uses the unbiased one (÷ N−1).",
             "normalising the batch uses ÷ N, but the running estimate is updated with ÷ (N − 1)."),
            (0.1 * unbiased, "you forgot where the running variance starts: at 1, not 0.", None),
            (0.1 + 0.9 * unbiased, "you gave the new batch weight 0.9; PyTorch's momentum 0.1 weights the new value.",
             None),
            (unbiased, "that is the batch variance itself; the running variance moves only 10 % of the way from 1.",
             None),
        ], atol=1e-4)
        return checks.failed(exercise, *(found or ("the running variance is not right.",
                                                   "start from 1, use the unbiased batch variance, weight it 0.1.")))
    checks.passed(exercise, "running mean 0.1·batch mean, running var 0.9·1 + 0.1·unbiased batch var.")
