"""Checks for notebook 03 (activations).

Each check computes the right answer itself, recognises the typical wrong answers
(the negative side of Leaky ReLU set to 0, softmax without the max trick or over the
wrong dim, the sigmoid's derivative pattern used for tanh, Sigmoid + BCELoss, a
Softmax over a single output...) and names the mistake in its hint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from course_utils import checks


def _fail(exercise: str, answer: Any, problem: str, hint: str) -> None:
    """Report a recognised mistake through the generic checks (prints ❌ + hint)."""
    checks.check_condition(exercise, answer, lambda _: False, success="", failure=problem, hint=hint)


def _try(fn: Callable, *args: Any) -> Any:
    """Call the learner's function; None when it is not written yet or raises."""
    try:
        return fn(*args)
    except Exception:  # reported properly by check_function afterwards
        return None


def _close(a: Any, b: torch.Tensor, atol: float = 1e-5) -> bool:
    return (isinstance(a, torch.Tensor) and a.shape == b.shape
            and torch.allclose(a.detach().double(), b.detach().double(), atol=atol, equal_nan=False))


# --------------------------------------------------------------------------- 03.1

LEAKY_PROBE = torch.tensor([-3.0, -2.0, -0.5, 0.0, 0.5, 2.0])


def check_1(my_leaky_relu: Any) -> None:
    """Exercise 03.1: ``my_leaky_relu(x, negative_slope)`` from scratch."""
    ex = "03.1"
    if callable(my_leaky_relu):
        got = _try(my_leaky_relu, LEAKY_PROBE.clone(), 0.05)
        x = LEAKY_PROBE
        mistakes = [
            (torch.relu(x), "the negative inputs give 0: that is plain ReLU.",
             "for x ≤ 0 return negative_slope * x instead of 0."),
            (torch.where(x > 0, x, torch.full_like(x, 0.05)), "the negative inputs all give the same value.",
             "multiply the slope by x: negative_slope * x, not negative_slope alone."),
            (torch.where(x > 0, 0.05 * x, x), "the slope is applied on the wrong side.",
             "positive inputs pass unchanged; only x ≤ 0 is multiplied by negative_slope."),
            (torch.where(x > 0, x, 0.01 * x), "the slope is always 0.01.",
             "use the negative_slope argument instead of a fixed 0.01."),
        ]
        for wrong, problem, hint in mistakes:
            if _close(got, wrong):
                return _fail(ex, my_leaky_relu, "my_leaky_relu(x, 0.05): " + problem, hint)
    cases = [((LEAKY_PROBE.clone(), 0.05), nn.LeakyReLU(0.05)(LEAKY_PROBE)),
             ((torch.tensor([-2.0]), 0.05), torch.tensor([-0.1])),
             ((torch.linspace(-4, 4, 9), 0.2), nn.LeakyReLU(0.2)(torch.linspace(-4, 4, 9)))]
    checks.check_function(ex, my_leaky_relu, cases, atol=1e-6,
                          hint="x where x > 0, negative_slope * x elsewhere: torch.where(x > 0, x, negative_slope * x).",
                          success="matches nn.LeakyReLU, including LeakyReLU(0.05) at -2 = -0.1.")


# --------------------------------------------------------------------------- 03.2


def check_2(tanh_derivative: Any) -> None:
    """Exercise 03.2: tanh'(x) = 1 - tanh(x)², checked against autograd."""
    ex = "03.2"
    x = torch.linspace(-4.0, 4.0, 81)
    point = x.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(torch.tanh(point).sum(), point)
    if callable(tanh_derivative):
        got = _try(tanh_derivative, x.clone())
        t = torch.tanh(x)
        mistakes = [
            (1 - t, "you wrote 1 - tanh(x).", "square the tanh: 1 - tanh(x)**2."),
            (t * (1 - t), "you wrote tanh(x)(1 - tanh(x)).",
             "that is the pattern of the sigmoid's derivative, σ(1 - σ); tanh's is 1 - tanh(x)²."),
            (1 - x**2, "you wrote 1 - x².", "apply tanh first: 1 - torch.tanh(x)**2."),
            (1 - torch.sigmoid(x) ** 2, "you used the sigmoid.", "use torch.tanh(x), not torch.sigmoid(x)."),
        ]
        for wrong, problem, hint in mistakes:
            if _close(got, wrong):
                return _fail(ex, tanh_derivative, problem, hint)
    checks.check_function(ex, tanh_derivative, [((x.clone(),), expected)], atol=1e-5,
                          hint="d/dx tanh(x) = 1 - tanh(x)²; compare with autograd_derivative(torch.tanh, x).",
                          success="your formula matches autograd at 81 points in [-4, 4].")


# --------------------------------------------------------------------------- 03.3

SOFTMAX_CASES = (
    torch.tensor([1.2, 3.5, 0.8]),
    torch.tensor([1000.0, 1001.0, 1002.0]),
    torch.tensor([[1.0, 2.0, 3.0], [-5.0, 0.0, 5.0]]),
)


def check_3(stable_softmax: Any) -> None:
    """Exercise 03.3: ``stable_softmax(z)`` over the last dimension, safe for large logits."""
    ex = "03.3"
    if callable(stable_softmax):
        small, large, batch = SOFTMAX_CASES
        got_small = _try(stable_softmax, small.clone())
        got_large = _try(stable_softmax, large.clone())
        got_batch = _try(stable_softmax, batch.clone())
        if isinstance(got_large, torch.Tensor) and not torch.isfinite(got_large).all() and _close(
                got_small, torch.softmax(small, -1)):
            return _fail(ex, stable_softmax, f"stable_softmax([1000, 1001, 1002]) gives {got_large.tolist()}.",
                         "e^1000 overflows to inf and inf/inf is NaN: subtract the largest logit before exp.")
        if (isinstance(got_small, torch.Tensor) and got_small.shape == small.shape
                and abs(got_small.sum().item() - 1.0) > 1e-4
                and _close(got_small / got_small.sum(), torch.softmax(small, -1))):
            return _fail(ex, stable_softmax, f"the values for [1.2, 3.5, 0.8] sum to {got_small.sum().item():.4f}.",
                         "divide by the sum of the exponentials, so the probabilities sum to 1.")
        if _close(got_batch, torch.softmax(batch, dim=0)):
            return _fail(ex, stable_softmax, "on a (2, 3) batch the columns sum to 1 instead of the rows.",
                         "softmax on the wrong dim: use dim=-1 in both the max and the sum, with keepdim=True.")
        if got_batch is None and got_small is not None:
            return _fail(ex, stable_softmax, "it works on a single vector but fails on a (2, 3) batch.",
                         "reduce along dim=-1 with keepdim=True so the max and the sum broadcast over each row.")
    cases = [((z.clone(),), torch.softmax(z, dim=-1)) for z in SOFTMAX_CASES]
    checks.check_function(ex, stable_softmax, cases, atol=1e-6,
                          hint="e = exp(z - z.amax(dim=-1, keepdim=True)); return e / e.sum(dim=-1, keepdim=True).",
                          success="right values, no overflow at 1000, and each row of a batch sums to 1.")


# --------------------------------------------------------------------------- 03.4

LOSS_TASKS = {
    "house price (regression)": "MSELoss",
    "spam or not (binary)": "BCEWithLogitsLoss",
    "digit 0-9 (multi-class)": "CrossEntropyLoss",
    "photo tags (multi-label)": "BCEWithLogitsLoss",
}
_ALLOWED = {"house price (regression)": {"MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss"}}


def _normalise(name: Any) -> str:
    """'nn.MSELoss()', 'MSELoss', nn.MSELoss and nn.MSELoss() all become 'MSELoss'."""
    if isinstance(name, type):
        return name.__name__
    if isinstance(name, nn.Module):
        return type(name).__name__
    text = str(name).strip()
    text = text.removeprefix("torch.").removeprefix("nn.").removesuffix("()")
    return text


def check_4(loss_choice: Any) -> None:
    """Exercise 03.4: the loss that goes with each output head."""
    ex = "03.4"
    if checks.is_placeholder(loss_choice):
        return checks.check_value(ex, loss_choice, None)
    if not isinstance(loss_choice, dict):
        return _fail(ex, loss_choice, f"expected a dict of task -> loss name, got a {type(loss_choice).__name__}.",
                     "keep the dict from the exercise cell and fill in the loss names as strings.")
    missing = [task for task in LOSS_TASKS if task not in loss_choice]
    if missing:
        return _fail(ex, loss_choice, f"these tasks are missing: {missing}.", "keep the four keys exactly as given.")
    for task, right in LOSS_TASKS.items():
        got = _normalise(loss_choice[task])
        if checks.is_placeholder(loss_choice[task]) or got in ("", "..."):
            return checks.check_value(ex, ..., None)
        if got in _ALLOWED.get(task, {right}):
            continue
        hints = {
            "BCELoss": "BCELoss needs probabilities from a Sigmoid, which saturates and breaks for large logits; "
                       "output raw logits and use BCEWithLogitsLoss (sigmoid + BCE in one stable step).",
            "NLLLoss": "NLLLoss expects log-probabilities (after LogSoftmax); with raw logits use CrossEntropyLoss.",
        }
        if got in hints:
            hint = hints[got]
        elif task.endswith("(multi-label)") and got == "CrossEntropyLoss":
            hint = ("CrossEntropyLoss makes the classes compete (softmax: one winner). Tags are independent "
                    "yes/no questions: one logit per tag with BCEWithLogitsLoss.")
        elif task.endswith("(multi-class)") and got == "BCEWithLogitsLoss":
            hint = "exactly one digit is right, so the classes compete: CrossEntropyLoss on C logits."
        elif task.endswith("(regression)"):
            hint = "a price is any real number, not a class: MSELoss (or L1Loss / HuberLoss) on one raw output."
        elif task.endswith("(binary)") and got == "CrossEntropyLoss":
            hint = ("CrossEntropyLoss works with 2 logits, but the usual binary head is 1 logit with "
                    "BCEWithLogitsLoss: use that here.")
        else:
            hint = "match the task: regression -> MSELoss, one yes/no -> BCEWithLogitsLoss, one of C -> " \
                   "CrossEntropyLoss, several yes/no -> BCEWithLogitsLoss."
        return _fail(ex, loss_choice, f"{got!r} is not the loss for {task}.", hint)
    checks.check_value(ex, True, True, success="MSE for numbers, BCEWithLogits for yes/no (one or several), "
                                                "CrossEntropy for one-of-C: all on raw outputs.")


# --------------------------------------------------------------------------- 03.5

_ACTIVATION_TYPES = (nn.ReLU, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.Tanh, nn.ELU, nn.Sigmoid, nn.PReLU)


def check_5(four_layer_net: Any) -> None:
    """Exercise 03.5: four Linear layers (8 -> ... -> 1) with activations between, one logit out."""
    ex = "03.5"
    if checks.is_placeholder(four_layer_net):
        return checks.check_value(ex, four_layer_net, None)
    if not isinstance(four_layer_net, nn.Sequential):
        return _fail(ex, four_layer_net, f"expected an nn.Sequential, got a {type(four_layer_net).__name__}.",
                     "write nn.Sequential(nn.Linear(8, 16), nn.ReLU(), ...).")
    modules = list(four_layer_net)
    linear_positions = [i for i, m in enumerate(modules) if isinstance(m, nn.Linear)]
    if len(linear_positions) != 4:
        return _fail(ex, four_layer_net, f"found {len(linear_positions)} Linear layers.",
                     "the task asks for exactly four nn.Linear layers.")
    if isinstance(modules[-1], nn.Softmax | nn.LogSoftmax):
        return _fail(ex, four_layer_net, "the network still ends with a Softmax.",
                     "softmax over a single output is always 1.0; remove it: output one raw logit and train "
                     "with BCEWithLogitsLoss.")
    if isinstance(modules[-1], nn.Sigmoid):
        return _fail(ex, four_layer_net, "the network ends with a Sigmoid.",
                     "keep the raw logit: BCEWithLogitsLoss applies the sigmoid itself, more stably. Use "
                     "torch.sigmoid(logit) only to report a probability.")
    if linear_positions[-1] != len(modules) - 1:
        return _fail(ex, four_layer_net, f"the last module is {type(modules[-1]).__name__}, not the output Linear.",
                     "end with nn.Linear(..., 1): the raw logit is the output.")
    for a, b in zip(linear_positions, linear_positions[1:], strict=False):
        between = modules[a + 1:b]
        if not any(isinstance(m, _ACTIVATION_TYPES) for m in between):
            return _fail(ex, four_layer_net, f"modules [{a}] and [{b}] are Linear layers with no activation between.",
                         "two Linear layers in a row collapse into one linear map: put nn.ReLU() between them.")
    first, last = modules[linear_positions[0]], modules[linear_positions[-1]]
    if first.in_features != 8:
        return _fail(ex, four_layer_net, f"the first layer takes {first.in_features} features.",
                     "the rows have 8 features: start with nn.Linear(8, ...).")
    if last.out_features != 1:
        return _fail(ex, four_layer_net, f"the output layer gives {last.out_features} numbers.",
                     "a binary classifier needs one logit: end with nn.Linear(..., 1).")
    try:
        with torch.no_grad():
            out = four_layer_net(torch.randn(16, 8, generator=torch.Generator().manual_seed(0)))
    except Exception as error:
        return _fail(ex, four_layer_net, f"a (16, 8) batch raised {type(error).__name__}: {error}",
                     "each Linear's in_features must equal the previous Linear's out_features.")
    if out.std().item() < 1e-6:
        return _fail(ex, four_layer_net, "the output is the same for every input.",
                     "check that nothing at the end squashes the output to a constant.")
    checks.check_value(ex, tuple(out.shape), (16, 1),
                       success="four Linear layers with activations between them and one raw logit out.")
