"""Checks for notebook 06 (training loops).

Each check computes the right answer itself, runs the learner's answer, and names the
likely mistake with the ``course_utils.checks`` toolkit (``passed``/``failed``/``not_done``,
``first_mistake``): the partial last batch and what shuffling does to it, a forgotten
``zero_grad``/``backward``/``step``, test statistics leaking into standardisation, a forgotten
``model.eval()`` or ``torch.no_grad()``, a learning rate that is too small or too large.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

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
    if any(checks.is_placeholder(a) for a in answers):
        return checks.not_done(exercise)
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
    if found is not None:
        return checks.failed(exercise, *found)
    checks.passed(exercise, f"{full} full batches per epoch, {total} iterations; {skipped} samples are left out of "
                  "each epoch, a different random set every time because the order is reshuffled.")


# --------------------------------------------------------------------------- 06.2 the training step


class _SpySGD(torch.optim.SGD):
    """SGD that remembers the order of the learner's calls and whether gradients were there."""

    def __init__(self, params, lr: float) -> None:
        super().__init__(params, lr=lr)
        self.calls: list[str] = []

    def _has_gradients(self) -> bool:
        return any(p.grad is not None and bool(p.grad.abs().sum() > 0) for g in self.param_groups for p in g["params"])

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.calls.append("zero_grad-clearing" if self._has_gradients() else "zero_grad")
        super().zero_grad(set_to_none=set_to_none)

    def step(self, closure=None):
        self.calls.append("step" if self._has_gradients() else "step-without-gradients")
        return super().step(closure)


def _step_problem() -> tuple[nn.Module, list[tuple[torch.Tensor, torch.Tensor]]]:
    generator = torch.Generator().manual_seed(6)
    model = nn.Linear(3, 1)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[0.5, -0.3, 0.2]]))
        model.bias.fill_(0.1)
    batches = [(torch.randn(4, 3, generator=generator), torch.randn(4, 1, generator=generator)) for _ in range(2)]
    return model, batches


def _reference_step(model, xb, yb, loss_fn, optimizer) -> float:
    optimizer.zero_grad()
    loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.step()
    return loss.item()


@_isolated
def check_2(train_step: Callable[..., Any]) -> None:
    """Exercise 06.2: ``train_step(model, xb, yb, loss_fn, optimizer)`` does one step and returns the loss."""
    exercise = "06.2"
    if checks.is_placeholder(train_step):
        return checks.not_done(exercise)
    if not callable(train_step):
        return checks.failed(exercise, f"expected a function, got {type(train_step).__name__}.")
    ref_model, batches = _step_problem()
    ref_opt = torch.optim.SGD(ref_model.parameters(), lr=0.1)
    expected = [_reference_step(ref_model, xb, yb, nn.MSELoss(), ref_opt) for xb, yb in batches]
    model, _ = _step_problem()
    spy = _SpySGD(model.parameters(), lr=0.1)
    returned = []
    try:
        for xb, yb in batches:
            returned.append(train_step(model, xb, yb, nn.MSELoss(), spy))
    except NotImplementedError:
        return checks.not_done(exercise, RAISES_NOT_IMPLEMENTED)
    except Exception as error:  # the learner's code: say it in a sentence
        return checks.failed(exercise, f"your function raised {type(error).__name__}: {error}",
                       "call the five steps on the arguments: optimizer.zero_grad(), out = model(xb), "
                       "loss = loss_fn(out, yb), loss.backward(), optimizer.step().")
    if all(r is None for r in returned):
        return checks.failed(exercise, "your function returns nothing.", "end it with `return loss.item()`.")
    moved = not torch.equal(model.weight, _step_problem()[0].weight)
    same_params = checks.close(model.weight, ref_model.weight, atol=1e-6) and checks.close(
        model.bias, ref_model.bias, atol=1e-6)
    calls = spy.calls
    if "step" not in calls and "step-without-gradients" not in calls:
        if moved:
            return checks.failed(exercise, "the optimizer passed to your function never made a step.",
                           "use the optimizer you are given (not a new one): it carries the learning rate and "
                           "the momentum buffers from step to step.")
        return checks.failed(exercise, "the parameters never changed.",
                       "forgot optimizer.step(): backward() only computes gradients, step() applies them.")
    if not moved or "step" not in calls:
        pairs = zip(calls[:-1], calls[1:], strict=True)
        if any(a == "zero_grad-clearing" and b == "step-without-gradients" for a, b in pairs):
            hint = ("zero_grad() runs between backward() and step(), so step() sees zero gradients: "
                    "call optimizer.zero_grad() first, before the forward pass.")
        else:
            hint = "forgot loss.backward(): without it there are no gradients for step() to use."
        return checks.failed(exercise, "the parameters never changed.", hint)
    if not same_params:
        if not any(c.startswith("zero_grad") for c in calls):
            return checks.failed(exercise, "the second step moved the parameters too far.",
                           "forgot optimizer.zero_grad(): PyTorch ADDS new gradients to the old ones, so from the "
                           "second batch on each step uses the sum of all gradients so far.")
        return checks.failed(exercise, "after two steps the parameters differ from a correct step.",
                       "use the optimizer you are given (not a new one) and the loss_fn on (model(xb), yb).")
    if any(isinstance(r, torch.Tensor) for r in returned):
        return checks.failed(exercise, "it returns a tensor.",
                       "return a plain number with loss.item(): a tensor keeps the whole graph alive.")
    try:
        values = [float(r) for r in returned]
    except (TypeError, ValueError):
        return checks.failed(exercise, f"it returns {returned[0]!r}, not a number.", "return loss.item().")
    if not all(checks.close(v, e, atol=1e-7, rtol=1e-5) for v, e in zip(values, expected, strict=True)):
        return checks.failed(exercise, f"it returns {values[0]:.4f}, but the batch loss was {expected[0]:.4f}.",
                       "return the loss computed on this batch BEFORE the step: loss.item().")
    checks.passed(exercise, "zero_grad -> forward -> loss -> backward -> step, and the batch loss is returned.")


# --------------------------------------------------------------------------- 06.3 standardise without leakage


@_isolated
def check_3(standardise: Callable[..., Any]) -> None:
    """Exercise 06.3: ``standardise(train, test)`` scales both with the TRAINING mean and std only."""
    exercise = "06.3"
    if checks.is_placeholder(standardise):
        return checks.not_done(exercise)
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


# --------------------------------------------------------------------------- 06.4 evaluation


class _ProbeNet(nn.Module):
    """A classifier with dropout that records the mode and grad setting of every forward pass."""

    def __init__(self) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(4)
        self.layer = nn.Linear(4, 3)
        with torch.no_grad():
            self.layer.weight.copy_(torch.randn(3, 4, generator=generator))
            self.layer.bias.zero_()
        self.dropout = nn.Dropout(p=0.5)
        self.seen: list[tuple[bool, bool]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append((self.training, torch.is_grad_enabled()))
        return self.layer(self.dropout(x))


def _probe_problem() -> tuple[_ProbeNet, DataLoader, float, float]:
    generator = torch.Generator().manual_seed(5)
    X = torch.randn(23, 4, generator=generator)
    model = _ProbeNet()
    with torch.no_grad():
        labels = model.layer(X).argmax(1)
        labels[::4] = (labels[::4] + 1) % 3  # some rows wrong, so accuracy is not 1
    loader = DataLoader(TensorDataset(X, labels), batch_size=5)  # 5, 5, 5, 5, 3: a smaller last batch
    with torch.no_grad():
        right = (model.layer(X).argmax(1) == labels).float()
    batch_means = [right[i:i + 5].mean().item() for i in range(0, len(right), 5)]
    model.seen.clear()
    model.train()
    return model, loader, right.mean().item(), sum(batch_means) / len(batch_means)


@_isolated
def check_4(evaluate_accuracy: Callable[..., Any]) -> None:
    """Exercise 06.4: ``evaluate_accuracy(model, loader)`` in eval mode, without gradients, over all rows."""
    exercise = "06.4"
    if checks.is_placeholder(evaluate_accuracy):
        return checks.not_done(exercise)
    model, loader, expected, mean_of_batches = _probe_problem()
    try:
        got = evaluate_accuracy(model, loader)
    except NotImplementedError:
        return checks.not_done(exercise, RAISES_NOT_IMPLEMENTED)
    except Exception as error:
        return checks.failed(exercise, f"your function raised {type(error).__name__}: {error}",
                       "loop over `for xb, yb in loader:`, count (model(xb).argmax(dim=1) == yb).sum(), divide by "
                       "the number of rows.")
    if not model.seen:
        return checks.failed(exercise, "the model was never called.", "call model(xb) for every batch of the loader.")
    if any(training for training, _ in model.seen):
        return checks.failed(exercise, "the model was in training mode while you evaluated it.",
                       "forgot model.eval(): dropout stays active in training mode and drops random inputs, so "
                       "the accuracy is wrong and changes from run to run.")
    if any(grad for _, grad in model.seen):
        return checks.failed(exercise, "gradients were tracked during evaluation.",
                       "forgot torch.no_grad(): wrap the loop in `with torch.no_grad():` so no graph is built "
                       "(faster, less memory; evaluation never calls backward).")
    try:
        value = float(got)
    except (TypeError, ValueError):
        return checks.failed(exercise, f"it returns {got!r}, not a number.", "return correct / total as a float.")
    if checks.close(value, expected, atol=1e-6):
        return checks.passed(exercise, f"eval mode, no gradients, accuracy {value:.4f} over all rows.")
    found = checks.first_mistake(value, [
        (mean_of_batches, f"{value:.4f} is the mean of the batch accuracies.",
         "the last batch is smaller, so averaging batch accuracies weights its rows more: count "
         "correct rows over all batches and divide by the total number of rows."),
        (lambda v: checks.close(v, expected * 100, atol=1e-4), f"{value:.4f} is a percentage.",
         "return a fraction between 0 and 1."),
    ], atol=1e-6)
    checks.failed(exercise, *(found or (
        f"{value:.4f} is not the accuracy ({expected:.4f} expected).",
        "a prediction is model(xb).argmax(dim=1); accuracy = correct predictions / number of rows.")))


# --------------------------------------------------------------------------- 06.5 a learning rate that settles


@_isolated
def check_5(lr: Any) -> None:
    """Exercise 06.5: a learning rate with which 10 steps of plain SGD settle in a minimum of the bumpy curve."""
    exercise = "06.5"
    if checks.is_placeholder(lr):
        return checks.not_done(exercise)
    try:
        walk = landscapes.trajectory("bumpy", "sgd", lr=lr, momentum=0.0, steps=10)
    except landscapes.LandscapeError as error:
        return checks.failed(exercise, str(error), "try a number between 0.001 and 0.1.")
    outcome = landscapes.describe(walk)
    if outcome.kind == "converged":
        return checks.passed(exercise, f"with lr={lr:g} SGD {outcome.text}")
    if outcome.kind == "still far":
        hint = f"lr={lr:g} is too small: the steps are tiny and 10 of them do not get there. Try a larger value."
    else:
        hint = (f"lr={lr:g} is too large: the walk is {outcome.kind} (it overshoots the minimum). "
                "Try a smaller value.")
    checks.failed(exercise, f"with lr={lr:g}: {outcome.text}", hint)
