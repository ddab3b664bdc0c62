"""Checks for notebook 20 (debugging and monitoring training)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from course_utils import checks
from course_utils.topics.debugging import hooks_left

N_CLASSES = 100  # exercise 20.1 (section 3 of the notebook shows the 10-class case)
STEPS = 10  # exercise 20.2


def _number_check(exercise: str, answer: Any, expected: float, mistakes: list, *, hint: str, success: str) -> None:
    """A number answer: not done, a named mistake (value, problem, hint), any other wrong value, or passed."""
    if checks.unanswered(exercise, answer, expect="number"):
        return
    value = float(checks.as_number(answer))
    found = checks.first_mistake(value, mistakes, atol=1e-4, rtol=1e-3)
    if found is None and not math.isclose(value, expected, rel_tol=1e-3):
        found = (f"{value:.4g} is not the answer.", hint)
    checks.verdict(exercise, found, success)


def softmax_floor(n_classes: int = N_CLASSES) -> float:
    """The smallest value of cross_entropy(softmax(z), y): the probabilities one-hot at the true class."""
    return math.log(1 + (n_classes - 1) / math.e)


def check_1(floor: Any) -> None:
    """Exercise 20.1: the lowest loss CrossEntropyLoss can reach when it is fed softmax outputs (100 classes)."""
    expected = softmax_floor()
    _number_check("20.1", floor, expected, [
        (0.0, "0 is the floor for logits; probabilities never exceed 1, so the 'logits' here are stuck in [0, 1].",
         "CrossEntropyLoss applies log-softmax to its input: feed it the best possible probabilities, one-hot."),
        (math.log(100), "ln 100 is the loss of uniform predictions, the loss at init, not the lowest one.", None),
        (softmax_floor(10), "ln(1 + 9/e) is the floor for 10 classes; this model has 100.", None),
        (math.log(1 + 100 / math.e), "the true class appears once in the denominator, with e¹; the other 99 have "
         "e⁰ = 1.", "−log(e / (e + 99))."),
        (math.log(1 + 99 * math.e), "the true class gets the large term e¹, the 99 others e⁰ = 1.", None),
        (1 - 1 / math.e, "take the logarithm: the loss is −log(softmax of the probabilities).", None),
    ], hint="treat the one-hot vector (1, 0, …, 0) as logits: −log(e¹ / (e¹ + 99·e⁰)).",
        success=f"ln(1 + 99/e) = {expected:.4f}: with softmax in front, a 100-class model can never get its loss "
                "below about 3.6, close to its loss at init ln 100 ≈ 4.6, and the floor rises with C.")


def distance_ratio(steps: int = STEPS) -> float:
    """Distance moved without zero_grad / with it, plain SGD, constant gradient: (1 + 2 + … + k) / k."""
    return (steps + 1) / 2


def check_2(ratio: Any) -> None:
    """Exercise 20.2: how many times farther plain SGD moves in 10 steps when zero_grad is forgotten."""
    _number_check("20.2", ratio, distance_ratio(), [
        (55.0, "55 = 1 + 2 + … + 10 is the distance of the buggy run in units of one step; divide by the 10 steps of "
         "the correct run.", None),
        (10.0, "the gradient does not jump to 10× at once: at step t the stored gradient is t·g.",
         "add up the steps: lr·g·(1 + 2 + … + 10)."),
        (2.0, "the gradient doubles only at the second step; it keeps growing: t·g at step t.", None),
        (11.0, "that is the size of the *last* buggy step relative to a correct one, almost: the distances are sums "
         "over all 10 steps.", None),
        (1.0, "without zero_grad each backward *adds* to .grad: the steps grow.", None),
        (5.0, "close: (1 + 2 + … + 10) / 10 = 55 / 10.", None),
    ], hint="step t uses the sum of t identical gradients; sum the steps of both runs.",
        success="(1 + 2 + … + 10) / 10 = 5.5: with plain SGD the forgotten zero_grad acts like an ever-rising "
                "learning rate. With Adam the step size stays ≈ lr, because Adam divides by √v̂ of the same running "
                "sum; only the direction goes stale.")


# --------------------------------------------------------------------------- exercise 20.3: dead units via hooks


def hook_model() -> nn.Sequential:
    """A small ReLU net with planted dead units: 3 of 8 in the first ReLU, 2 of 6 in the second."""
    gen = torch.Generator().manual_seed(20)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 3))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
        model[0].bias[:3] = -100.0
        model[2].bias[4:] = -100.0
    return model


HOOK_INPUT = torch.randn(50, 4, generator=torch.Generator().manual_seed(21))


def reference_dead_units(model: nn.Module, X: torch.Tensor) -> dict[str, float]:
    """Share of units of each ReLU that are 0 for every row of X (computed with hooks that are removed)."""
    found: dict[str, float] = {}
    handles = []
    for name, module in model.named_modules():
        if isinstance(module, nn.ReLU):
            def hook(_m, _inp, out, name=name):
                found[name] = float((out == 0).all(0).float().mean())
            handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(X)
    finally:
        for handle in handles:
            handle.remove()
    return found


def _zero_share(model: nn.Module, X: torch.Tensor) -> dict[str, float]:
    found: dict[str, float] = {}
    handles = [m.register_forward_hook(lambda _m, _i, out, n=n: found.__setitem__(n, float((out == 0).float().mean())))
               for n, m in model.named_modules() if isinstance(m, nn.ReLU)]
    with torch.no_grad():
        model(X)
    for handle in handles:
        handle.remove()
    return found


def _close_dicts(got: Any, want: dict[str, float]) -> bool:
    return isinstance(got, dict) and set(got) == set(want) and all(
        isinstance(checks.as_number(got[k]), int | float) and math.isclose(checks.as_number(got[k]), v, abs_tol=1e-6)
        for k, v in want.items())


def check_3(dead_units: Any) -> None:
    """Exercise 20.3: ``dead_units(model, X)`` with forward hooks on each ReLU, removed afterwards."""
    exercise, model = "20.3", hook_model()
    if checks.unanswered(exercise, dead_units, expect="function"):
        return
    want = reference_dead_units(model, HOOK_INPUT)
    try:
        got = dead_units(model, HOOK_INPUT)
    except NotImplementedError:
        return checks.not_done(exercise, checks.NOT_WRITTEN_MESSAGE)
    except Exception as error:  # the learner's code: a sentence, not a traceback
        return checks.failed(exercise, f"your function raised {type(error).__name__}: {error}",
                             "register a hook on each nn.ReLU, run model(X) once, then remove the handles.")
    if got is None or got is Ellipsis:
        return checks.not_done(exercise, "your function returns nothing yet: `return` the dictionary.")
    left, keys_ok = hooks_left(model), isinstance(got, dict) and set(got) == set(want)
    keys = sorted(got) if isinstance(got, dict) else type(got).__name__
    counts = {k: v * (8 if k == "1" else 6) for k, v in want.items()}
    mistakes = [
        (left > 0, f"{left} hook(s) are still attached to the model after your function returned.",
         "keep each handle that register_forward_hook returns and call handle.remove() (in a finally block)."),
        (not keys_ok, f"expected a dict with the ReLU names {sorted(want)} as keys; got {keys}.",
         "use the names from model.named_modules() for the modules that are nn.ReLU."),
        (keys_ok and _close_dicts(got, _zero_share(model, HOOK_INPUT)),
         "those are the shares of zero *values*; a dead unit is zero for every sample.",
         "(out == 0).all(dim=0) marks the dead units; then take their mean."),
        (keys_ok and _close_dicts(got, counts), "those are counts of dead units; return the share (divide by the width).",
         None),
        (not _close_dicts(got, want), f"the shares {got} are not right.",
         "for each ReLU output of shape (N, units): (out == 0).all(0).float().mean()."),
    ]
    found = next(((problem, hint) for hit, problem, hint in mistakes if hit), None)
    checks.verdict(exercise, found, f"dead units {({k: round(v, 3) for k, v in want.items()})} (3 of 8 and 2 of 6 "
                                    "planted), and no hook is left on the model.")
