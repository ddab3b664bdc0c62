"""Checks for notebook 06 (training loops).

Each check computes the right answer itself, runs the learner's answer, and names the
likely mistake with the ``course_utils.checks`` toolkit (``passed``/``failed``/``not_done``,
``first_mistake``): the partial last batch and what shuffling does to it, gradient accumulation, test statistics
leaking into standardisation, what dropout does in training mode, and the stability limit of SGD
with momentum on the ravine.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import torch

from course_utils import checks
from course_utils.topics.training_loops import landscapes

RAISES_NOT_IMPLEMENTED = "your function still raises NotImplementedError: write its body, run it, then this cell."


def _isolated(check: Callable[..., Any]) -> Callable[..., None]:
    """Run a check without touching the notebook's random state (so later cells do not depend on it).

    The check's own return value is dropped: a check prints its line and returns None, so the
    notebook cell shows nothing else.
    """

    @functools.wraps(check)
    def wrapper(*args, **kwargs) -> None:
        with torch.random.fork_rng(devices=[]):
            check(*args, **kwargs)

    return wrapper


# --------------------------------------------------------------------------- 06.1 what drop_last and shuffle do


@_isolated
def check_1(iterations: Any, skipped_per_epoch: Any, same_rows_skipped: Any, *, n_samples: int = 1_000,
            batch_size: int = 48, epochs: int = 5) -> None:
    """Exercise 06.1: 1,000 samples, batch size 48, ``drop_last=True``, ``shuffle=True``, 5 epochs.

    ``iterations``: weight updates in all; ``skipped_per_epoch``: samples no batch holds in one epoch;
    ``same_rows_skipped``: True if the same samples are left out in every epoch.
    """
    exercise = "06.1"
    answers = (iterations, skipped_per_epoch, same_rows_skipped)
    if checks.unanswered(exercise, *answers):
        return
    full = n_samples // batch_size
    total, skipped = full * epochs, n_samples - full * batch_size
    if not isinstance(same_rows_skipped, bool):
        return checks.failed(exercise, f"same_rows_skipped should be True or False, got {same_rows_skipped!r}.")
    found = checks.first_mistake(iterations, [
        (math.ceil(n_samples / batch_size) * epochs, f"{iterations!r} iterations counts the partial last batch.",
         "drop_last=True throws the partial last batch away: round DOWN (n // batch_size), then times the epochs."),
        (lambda v: isinstance(v, float) and not v.is_integer(), f"{iterations!r} is not a whole number of steps.",
         "each step takes one whole batch; with drop_last=True that is n // batch_size per epoch."),
        (full, f"{iterations!r} is one epoch's worth.", "multiply the batches per epoch by the number of epochs."),
        (lambda v: not checks.close(v, total), f"{iterations!r} iterations is not right.",
         "iterations = (batches per epoch) × epochs, and drop_last=True makes the batches per epoch n // batch_size."),
    ])
    if found is None:
        found = checks.first_mistake(skipped_per_epoch, [
            (0, "with drop_last=True some samples are left out of every epoch.",
             f"{full} full batches hold {full * batch_size} samples; the rest are dropped."),
            (batch_size - skipped, f"{skipped_per_epoch!r} is how many the last batch lacks, not how many are dropped.",
             f"{full} full batches hold {full * batch_size} of the {n_samples} samples; how many are left?"),
            (lambda v: not checks.close(v, skipped), f"{skipped_per_epoch!r} samples per epoch is not right.",
             "left out = samples − (full batches × batch size)."),
        ])
    if found is None and same_rows_skipped:
        found = ("with shuffle=True the dropped samples are not the same ones every epoch.",
                 "shuffling makes a new order each epoch, so a different random set ends up in the partial batch "
                 "that is dropped; over many epochs every sample is still used.")
    checks.verdict(exercise, found, f"{full} full batches per epoch, {total} iterations; {skipped} samples are left "
                   "out of each epoch, a different random set every time because the order is reshuffled.")


# --------------------------------------------------------------------------- 06.2 gradient accumulation


@_isolated
def check_2(times_full_gradient: Any, divide_loss_by: Any, zero_grad_calls: Any, *, k: int = 4,
            micro_batches: int = 320) -> None:
    """Exercise 06.2: gradient accumulation over ``k`` micro-batches with a mean-reduced loss.

    ``times_full_gradient``: the accumulated gradient (no division) over the full batch's gradient;
    ``divide_loss_by``: what to divide each micro-batch loss by to get the full batch's gradient;
    ``zero_grad_calls``: zero_grad() calls in an epoch of ``micro_batches`` micro-batches.
    """
    exercise = "06.2"
    answers = (times_full_gradient, divide_loss_by, zero_grad_calls)
    if checks.unanswered(exercise, *answers):
        return
    for name, value in zip(("times_full_gradient", "divide_loss_by", "zero_grad_calls"), answers, strict=True):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return checks.failed(exercise, f"{name} should be a number, got {value!r}.")
    found = checks.first_mistake(times_full_gradient, [
        (1, "1 would be right if backward() replaced p.grad; it adds to it.",
         f"each micro-batch's mean-loss gradient is about the size of the full batch's; {k} of them are summed."),
        (1 / k, f"{times_full_gradient!r} would be an average; backward() sums.",
         "backward() adds each new gradient to p.grad: nothing divides the sum."),
        (lambda v: not checks.close(v, k), f"{times_full_gradient!r} is not right.",
         f"the full-batch loss is the mean of the {k} micro-batch means (equal sizes), and backward() sums."),
    ])
    if found is None:
        found = checks.first_mistake(divide_loss_by, [
            (16, "16 is the rows per micro-batch; MSELoss already divides by them (mean reduction).",
             f"only the sum over the {k} micro-batches is left to undo."),
            (64, "64 is the rows of the full batch; MSELoss already divides each micro-batch loss by its 16 rows.",
             f"only the sum over the {k} micro-batches is left to undo."),
            (lambda v: not checks.close(v, k), f"dividing by {divide_loss_by!r} does not give the full-batch gradient.",
             "divide by the factor your first answer found."),
        ])
    if found is None:
        steps = micro_batches // k
        found = checks.first_mistake(zero_grad_calls, [
            (micro_batches, f"{zero_grad_calls!r} calls clear p.grad after every micro-batch: nothing accumulates.",
             f"clear once per optimizer step, that is once per {k} micro-batches."),
            (lambda v: not checks.close(v, steps), f"{zero_grad_calls!r} zero_grad() calls is not right.",
             f"one zero_grad() per optimizer step, and one step per {k} micro-batches."),
        ])
    checks.verdict(exercise, found, f"the summed gradient is {k}x the full batch's; (loss / {k}).backward() on "
                   f"each micro-batch gives it exactly, with one zero_grad() and one step() per {k} micro-batches "
                   f"({micro_batches // k} per epoch).")


# --------------------------------------------------------------------------- 06.3 standardise without leakage


@_isolated
def check_3(standardise: Callable[..., Any]) -> None:
    """Exercise 06.3: ``standardise(train, test)`` scales both with the TRAINING mean and std only."""
    exercise = "06.3"
    if checks.unanswered(exercise, standardise):
        return
    generator = torch.Generator().manual_seed(3)
    train = torch.randn(50, 3, generator=generator) * torch.tensor([1.0, 5.0, 0.5]) + torch.tensor([0.0, 10.0, -2.0])
    test = torch.randn(20, 3, generator=generator) * 2.0 + 3.0  # a test set that looks different on purpose
    try:
        result = standardise(train.clone(), test.clone())
    except NotImplementedError:
        return checks.not_done(exercise, RAISES_NOT_IMPLEMENTED)
    except Exception as error:
        return checks.failed(exercise, f"your function raised {type(error).__name__}: {error}",
                       "compute mean and std of `train` along dim=0, then return ((train - mean) / std, "
                       "(test - mean) / std).")
    if not isinstance(result, tuple | list) or len(result) != 2:
        return checks.failed(exercise, f"expected a pair (train_scaled, test_scaled), got {type(result).__name__}.",
                       "return both: `return (train - mean) / std, (test - mean) / std`.")
    got_train, got_test = (torch.as_tensor(r, dtype=torch.float32) for r in result)
    if got_train.shape != train.shape or got_test.shape != test.shape:
        return checks.failed(exercise, f"shapes {tuple(got_train.shape)} and {tuple(got_test.shape)}; expected "
                       f"{tuple(train.shape)} and {tuple(test.shape)}.",
                       "take the mean and std over the rows (dim=0), one value per column, keeping every row.")

    def scaled(stats_from: torch.Tensor, values: torch.Tensor, unbiased: bool) -> torch.Tensor:
        return (values - stats_from.mean(0)) / stats_from.std(0, unbiased=unbiased)

    matches = functools.partial(checks.close, atol=1e-4, rtol=1e-4)

    both = torch.cat([train, test])
    for unbiased in (True, False):
        if matches(got_train, scaled(train, train, unbiased)) and matches(got_test, scaled(train, test, unbiased)):
            return checks.passed(exercise, "both parts are scaled with the training statistics only: no leakage.")
    for unbiased in (True, False):
        if matches(got_test, scaled(test, test, unbiased)):
            return checks.failed(exercise, "the test rows were scaled with their own mean and std.",
                           "use the TRAINING mean and std for the test rows too: the model must see new data "
                           "through the same lens it was trained with.")
        if matches(got_test, scaled(both, test, unbiased)) or matches(got_train, scaled(both, train, unbiased)):
            return checks.failed(exercise, "the statistics came from train and test together.",
                           "that is leakage: the test rows influenced the scaling. Compute mean and std on `train` "
                           "only.")
    if matches(got_train, train - train.mean(0)):
        return checks.failed(exercise, "the values are centred but not scaled.", "divide by the std as well.")
    if matches(got_train, (train - train.mean()) / train.std()):
        return checks.failed(exercise, "one mean and std for the whole table.",
                       "standardise each column on its own: mean(dim=0) and std(dim=0).")
    checks.failed(exercise, "the scaled values are not (x - train mean) / train std.",
            "mean = train.mean(dim=0); std = train.std(dim=0); return (train - mean) / std, (test - mean) / std.")


# --------------------------------------------------------------------------- 06.4 what dropout does in train mode


@_isolated
def check_4(zeroed_on_average: Any, survivor_scale: Any, same_mean_as_eval: Any, *, p: float = 0.2,
            units: int = 32) -> None:
    """Exercise 06.4: ``nn.Dropout(p)`` on ``units`` hidden units, in training mode.

    ``zeroed_on_average``: units set to 0 per row, on average; ``survivor_scale``: the factor the kept
    units are multiplied by; ``same_mean_as_eval``: True if a unit's average over many draws equals its
    eval-mode value.
    """
    exercise = "06.4"
    answers = (zeroed_on_average, survivor_scale, same_mean_as_eval)
    if checks.unanswered(exercise, *answers):
        return
    if not isinstance(same_mean_as_eval, bool):
        return checks.failed(exercise, f"same_mean_as_eval should be True or False, got {same_mean_as_eval!r}.")
    for name, value in (("zeroed_on_average", zeroed_on_average), ("survivor_scale", survivor_scale)):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return checks.failed(exercise, f"{name} should be a number, got {value!r}.")
    zeroed, scale = p * units, 1 / (1 - p)
    found = checks.first_mistake(zeroed_on_average, [
        (p, f"{zeroed_on_average!r} is the share of units, not how many.", f"p = {p} of {units} units."),
        ((1 - p) * units, f"{zeroed_on_average!r} is how many are KEPT.", f"p = {p} is the chance to be zeroed."),
        (lambda v: not checks.close(v, zeroed), f"{zeroed_on_average!r} units is not right.",
         f"each unit is zeroed with probability p = {p}, independently: on average p × {units}."),
    ])
    if found is None:
        found = checks.first_mistake(survivor_scale, [
            (1, "PyTorch does scale the kept units in training mode (inverted dropout).",
             "without a scale the average unit would be smaller in training than in eval mode."),
            (1 - p, f"{survivor_scale!r} shrinks the kept units; they are scaled UP.",
             f"the kept units must make up for the {p:.0%} that are zeroed."),
            (lambda v: not checks.close(v, scale), f"a factor of {survivor_scale!r} is not right.",
             f"a unit survives with probability 1 − p = {1 - p:g}; which factor keeps its average unchanged?"),
        ])
    if found is None and not same_mean_as_eval:
        found = ("on average over many draws, a unit in training mode equals its eval-mode value.",
                 f"its mean is (1 − p) × {scale:g} × value + p × 0 = value: that is what the scale is for.")
    checks.verdict(exercise, found, f"about {zeroed:g} of {units} units are zeroed, the rest are multiplied by "
                   f"{scale:g}, so the average matches eval mode; any single forward pass in training mode is still random.")


# --------------------------------------------------------------------------- 06.5 the stability limit with momentum


@_isolated
def check_5(largest_stable_lr: Any, *, momentum: float = 0.5) -> None:
    """Exercise 06.5: the largest learning rate with which SGD(momentum) stays stable on the ravine."""
    exercise = "06.5"
    if checks.unanswered(exercise, largest_stable_lr):
        return
    if isinstance(largest_stable_lr, bool) or not isinstance(largest_stable_lr, int | float):
        return checks.failed(exercise, f"largest_stable_lr should be a number, got {largest_stable_lr!r}.")
    limit = (1 + momentum) / 2  # eta * 4 = 2 (1 + mu): the y root reaches z = -1
    if checks.close(largest_stable_lr, limit, atol=0.005):
        below = landscapes.trajectory("ravine", "sgd", lr=0.98 * limit, momentum=momentum, steps=200)
        above = landscapes.trajectory("ravine", "sgd", lr=1.02 * limit, momentum=momentum, steps=200)
        return checks.passed(exercise, f"η < (1 + μ)/2 = {limit:g}. Check: at lr {0.98 * limit:.3g} the walk "
                             f"{landscapes.describe(below).headline}, at {1.02 * limit:.3g} it "
                             f"{landscapes.describe(above).headline}.")
    found = checks.first_mistake(largest_stable_lr, [
        (0.5, "0.5 is the limit WITHOUT momentum (4η < 2).", "put z = −1 into the polynomial with μ = 0.5."),
        (0.25, "0.25 is where plain SGD starts to bounce (1 − 4η < 0), not where it becomes unstable.",
         "the limit is where a bounce stops shrinking: z = −1."),
        (0.5 / (1 - momentum), f"{largest_stable_lr!r} multiplies the plain limit by 1/(1 − μ).",
         "that factor is the step on a steady slope; across the valley the gradient flips sign every step, and "
         "the limit grows only by (1 + μ)."),
    ], atol=0.005)
    if found is None:
        try:
            walk = landscapes.trajectory("ravine", "sgd", lr=largest_stable_lr, momentum=momentum, steps=200)
        except landscapes.LandscapeError as error:
            return checks.failed(exercise, str(error), "a learning rate is a positive number.")
        if walk.diverged:
            found = (f"at lr {largest_stable_lr:g} the walk {landscapes.describe(walk).headline}: too large.",
                     "put z = −1 into z² − (1 + μ − 4η) z + μ = 0 and solve for η.")
        else:
            found = (f"lr {largest_stable_lr:g} is stable, but it is not the largest.",
                     "put z = −1 into z² − (1 + μ − 4η) z + μ = 0 and solve for η.")
    checks.failed(exercise, *found)
