"""Checks for notebook 03 (activations).

Each check computes the right answer itself, recognises the typical wrong answers
(GELU and SiLU taken for non-negative, the point where σ = 0.99 taken for the one where
σ' = 0.01, a rescaling of the logits taken for harmless, a kink at b/w instead of
-b/w, a Softmax over a single output...) and names the mistake in its hint.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from course_utils import checks


def _answer(fn: Callable, *args: Any) -> Any:
    """The learner's answer on ``args``, or None while it cannot be computed (check_function reports that)."""
    try:
        return fn(*args)
    except Exception:
        return None


def _first_mistake(fn: Any, args: tuple, mistakes: list) -> tuple[str, str | None] | None:
    """``checks.first_mistake`` on ``fn(*args)``; None when ``fn`` is not a function or gives no answer."""
    if not callable(fn):
        return None
    got = _answer(fn, *args)
    return None if got is None else checks.first_mistake(got, mistakes)


# --------------------------------------------------------------------------- 03.1 which activations go negative

ACTIVATION_NAMES = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "silu")
_MODULES = {"sigmoid": nn.Sigmoid(), "tanh": nn.Tanh(), "relu": nn.ReLU(), "leaky_relu": nn.LeakyReLU(),
            "elu": nn.ELU(), "gelu": nn.GELU(), "silu": nn.SiLU()}
_NEGATIVE_HINTS = {
    "sigmoid": "σ(x) = 1 / (1 + e^-x) has a positive numerator and denominator: it stays between 0 and 1.",
    "tanh": "tanh is odd, tanh(-x) = -tanh(x), so it is negative for every x < 0.",
    "relu": "ReLU returns max(0, x): never below 0.",
    "leaky_relu": "for x < 0 Leaky ReLU returns a·x with a small a > 0: a negative number.",
    "elu": "for x < 0 ELU returns α(e^x - 1), and e^x < 1 there: a negative number (down to -α).",
    "gelu": "GELU is x·Φ(x): for x < 0 a negative x times a positive probability, a small negative number.",
    "silu": "SiLU is x·σ(x): for x < 0 a negative x times a positive σ(x), a small negative number.",
}


def activation_minima() -> dict[str, float]:
    """The smallest output of each activation on a fine grid of [-6, 6]."""
    grid = torch.linspace(-6.0, 6.0, 12001)
    return {name: float(_MODULES[name](grid).min()) for name in ACTIVATION_NAMES}


def check_1(can_be_negative: Any) -> None:
    """Exercise 03.1: for each activation, can its output be negative? (a dict name -> bool)"""
    ex = "03.1"
    if checks.unanswered(ex, can_be_negative, expect="dict", keys=ACTIVATION_NAMES):
        return
    minima = activation_minima()
    for name in ACTIVATION_NAMES:
        answer = can_be_negative[name]
        if not isinstance(answer, bool):
            return checks.failed(ex, f"for {name!r} you gave {answer!r}.", "answer each one with True or False.")
        truth = minima[name] < 0
        if answer != truth:
            return checks.failed(ex, f"{name}: you said {answer}, but its smallest output on [-6, 6] is "
                                     f"{minima[name]:.3f}.", _NEGATIVE_HINTS[name])
    checks.passed(ex, f"only sigmoid and ReLU never go below 0; GELU dips to about {minima['gelu']:.2f} and SiLU "
                      f"to about {minima['silu']:.2f}.")


# --------------------------------------------------------------------------- 03.2 where the sigmoid stops passing gradient


def sigmoid_slope_point(slope: float = 0.01) -> float:
    """The x > 0 where σ'(x) = σ(x)(1 - σ(x)) equals ``slope`` (0 < slope < 0.25)."""
    if not 0 < slope < 0.25:
        raise ValueError(f"σ' takes values in (0, 0.25]; slope must be in (0, 0.25), got {slope!r}.")
    s = (1 + math.sqrt(1 - 4 * slope)) / 2
    return math.log(s / (1 - s))


def check_2(x_slope_001: Any) -> None:
    """Exercise 03.2: the x > 0 where the sigmoid's derivative falls to 0.01."""
    ex = "03.2"
    if checks.unanswered(ex, x_slope_001, expect="number", hint="assign one float to x_slope_001."):
        return
    value = checks.as_number(x_slope_001)
    right = sigmoid_slope_point(0.01)
    if abs(value - right) <= 0.002:
        return checks.passed(ex, f"x ≈ {right:.3f}: beyond |x| ≈ 4.6 the sigmoid passes on less than 1 % of the "
                                 "gradient (25 % at its peak, x = 0).")
    mistakes = [
        (lambda v: abs(v + right) <= 0.002, f"{value:.4g} is the point on the negative side.",
         "σ' is symmetric, σ'(-x) = σ'(x); the exercise asks for the x > 0."),
        (lambda v: abs(v - math.log(99)) <= 0.002, f"{value:.4g} is where σ(x) = 0.99, not where σ'(x) = 0.01.",
         "σ' = s(1 - s) with s = σ(x): solve s(1 - s) = 0.01 for s, then x = ln(s / (1 - s))."),
        (lambda v: abs(v - math.log(100)) <= 0.002, f"{value:.4g} solves e^(-x) = 0.01, an approximation.",
         "close, but σ'(x) = e^(-x) / (1 + e^(-x))² exactly: solve s(1 - s) = 0.01 for s = σ(x)."),
        (lambda v: abs(v - 0.01) <= 1e-9, "0.01 is the slope, not the x where it is reached.",
         "solve σ(x)(1 - σ(x)) = 0.01 for x."),
    ]
    found = checks.first_mistake(value, mistakes)
    if found:
        return checks.failed(ex, *found)
    checks.failed(ex, f"σ'({value:.4g}) = {float(torch.sigmoid(torch.tensor(value)) * (1 - torch.sigmoid(torch.tensor(value)))):.4g}, "
                      "not 0.01.", "write s = σ(x); s(1 - s) = 0.01 is a quadratic in s; take the root above "
                                   "1/2 and invert the sigmoid: x = ln(s / (1 - s)).")


# --------------------------------------------------------------------------- 03.3 what leaves softmax unchanged

SOFTMAX_CHANGES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "z + 5": lambda z: z + 5,
    "z - z.mean()": lambda z: z - z.mean(),
    "2 * z": lambda z: 2 * z,
    "z / 10": lambda z: z / 10,
    "-z": lambda z: -z,
}
_SOFTMAX_HINTS = {
    "z + 5": "adding one constant c to every logit multiplies every e^z by e^c, which cancels in the division.",
    "z - z.mean()": "z.mean() is one number, the same for every logit: a shift by a constant, which cancels.",
    "2 * z": "scaling doubles the gaps between the logits: softmax gets sharper (a temperature of 1/2).",
    "z / 10": "dividing shrinks the gaps between the logits: softmax gets flatter (a temperature of 10).",
    "-z": "negation reverses the order: the largest logit becomes the smallest and gets the least probability.",
}


def check_3(keeps_softmax: Any) -> None:
    """Exercise 03.3: which changes of the logits leave softmax(z) unchanged? (a dict change -> bool)"""
    ex = "03.3"
    if checks.unanswered(ex, keeps_softmax, expect="dict", keys=list(SOFTMAX_CHANGES)):
        return
    z = torch.tensor([1.2, 3.5, 0.8])
    reference = torch.softmax(z, dim=-1)
    for name, change in SOFTMAX_CHANGES.items():
        answer = keeps_softmax[name]
        if not isinstance(answer, bool):
            return checks.failed(ex, f"for {name!r} you gave {answer!r}.", "answer each one with True or False.")
        after = torch.softmax(change(z), dim=-1)
        truth = checks.close(after, reference, atol=1e-6)
        if answer != truth:
            return checks.failed(ex, f"{name}: you said {answer}; for z = [1.2, 3.5, 0.8] softmax goes from "
                                     f"{[round(v, 3) for v in reference.tolist()]} to "
                                     f"{[round(v, 3) for v in after.tolist()]}.", _SOFTMAX_HINTS[name])
    checks.passed(ex, "only shifts by one constant leave softmax unchanged (that is why subtracting the max is "
                      "safe); scaling acts as a temperature, and negation flips the ranking.")


# --------------------------------------------------------------------------- 03.5 where a ReLU network bends

def exercise_5_net() -> nn.Sequential:
    """The 1 -> 4 -> 1 ReLU network of exercise 03.5 (fixed weights; the global random state is left alone)."""
    with torch.random.fork_rng(devices=[]):
        net = nn.Sequential(nn.Linear(1, 4), nn.ReLU(), nn.Linear(4, 1))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.5], [-0.8], [2.0], [0.6]]))
        net[0].bias.copy_(torch.tensor([-1.125, -1.2, 1.0, -1.2]))
        net[2].weight.copy_(torch.tensor([[1.0, -1.5, 0.7, 2.0]]))
        net[2].bias.fill_(0.5)
    return net


def _kinks(net: nn.Sequential) -> torch.Tensor:
    w, b = net[0].weight.detach().flatten(), net[0].bias.detach()
    return torch.sort(-b / w).values


def check_5(kinks: Any) -> None:
    """Exercise 03.5: the sorted x-positions where ``exercise_5_net()`` can bend, -b_i / w_i."""
    ex = "03.5"
    if checks.unanswered(ex, kinks):
        return
    net = exercise_5_net()
    expected = _kinks(net)
    w, b = net[0].weight.detach().flatten(), net[0].bias.detach()
    if isinstance(kinks, list | tuple):
        try:
            kinks = torch.tensor([float(k) for k in kinks])
        except (TypeError, ValueError):
            return checks.failed(ex, "expected numbers (a tensor or a list of floats).",
                                 "one x-position per hidden unit: where its pre-activation w·x + b is 0.")
    mistakes = [
        (torch.sort(b / w).values, "every position has the wrong sign.",
         "solve w·x + b = 0 for x: x = -b / w."),
        (torch.sort(-w / b).values, "you divided w by b.", "solve w·x + b = 0 for x: x = -b / w, not -w / b."),
        (lambda k: not checks.close(k, expected, atol=1e-4)
                   and checks.close(torch.sort(k.flatten()).values, expected, atol=1e-4),
         "the positions are right but not in increasing order.", "sort them: torch.sort(...).values."),
        (lambda k: k.numel() == 5, "you gave 5 values: 4 hidden units make 4 kinks and up to 5 linear pieces.",
         "count bends, not pieces: one bend per hidden unit."),
        (lambda k: k.numel() == 1, "you gave one value: each hidden unit bends the function at its own x.",
         "one position per hidden unit: -b_i / w_i for i = 1..4."),
    ]
    found = checks.first_mistake(kinks, mistakes)
    if found:
        return checks.failed(ex, *found)
    checks.check_tensor(ex, kinks, expected, atol=1e-4, check_dtype=False,
                        hint="unit i switches on or off where w_i·x + b_i = 0; take -b / w from the first layer, "
                             "then sort.",
                        success="each hidden unit bends the function once, at x = -b_i / w_i: 4 kinks, "
                                "at most 5 linear pieces.")


# --------------------------------------------------------------------------- 03.4

_ACTIVATION_TYPES = (nn.ReLU, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.Tanh, nn.ELU, nn.Sigmoid, nn.PReLU)


def check_4(four_layer_net: Any) -> None:
    """Exercise 03.4: four Linear layers (8 -> ... -> 1) with activations between, one logit out."""
    ex = "03.4"
    if checks.unanswered(ex, four_layer_net):
        return
    if not isinstance(four_layer_net, nn.Sequential):
        return checks.failed(ex, f"expected an nn.Sequential, got a {type(four_layer_net).__name__}.",
                     "write nn.Sequential(nn.Linear(8, 16), nn.ReLU(), ...).")
    modules = list(four_layer_net)
    linear_positions = [i for i, m in enumerate(modules) if isinstance(m, nn.Linear)]
    if len(linear_positions) != 4:
        return checks.failed(ex, f"found {len(linear_positions)} Linear layers.",
                     "the task asks for exactly four nn.Linear layers.")
    if isinstance(modules[-1], nn.Softmax | nn.LogSoftmax):
        return checks.failed(ex, "the network still ends with a Softmax.",
                     "softmax over a single output is always 1.0; remove it: output one raw logit and train "
                     "with BCEWithLogitsLoss.")
    if isinstance(modules[-1], nn.Sigmoid):
        return checks.failed(ex, "the network ends with a Sigmoid.",
                     "keep the raw logit: BCEWithLogitsLoss applies the sigmoid itself, more stably. Use "
                     "torch.sigmoid(logit) only to report a probability.")
    if linear_positions[-1] != len(modules) - 1:
        return checks.failed(ex, f"the last module is {type(modules[-1]).__name__}, not the output Linear.",
                     "end with nn.Linear(..., 1): the raw logit is the output.")
    for a, b in zip(linear_positions, linear_positions[1:], strict=False):
        between = modules[a + 1:b]
        if not any(isinstance(m, _ACTIVATION_TYPES) for m in between):
            return checks.failed(ex, f"modules [{a}] and [{b}] are Linear layers with no activation between.",
                         "two Linear layers in a row collapse into one linear map: put nn.ReLU() between them.")
    first, last = modules[linear_positions[0]], modules[linear_positions[-1]]
    if first.in_features != 8:
        return checks.failed(ex, f"the first layer takes {first.in_features} features.",
                     "the rows have 8 features: start with nn.Linear(8, ...).")
    if last.out_features != 1:
        return checks.failed(ex, f"the output layer gives {last.out_features} numbers.",
                     "a binary classifier needs one logit: end with nn.Linear(..., 1).")
    try:
        with torch.no_grad():
            out = four_layer_net(torch.randn(16, 8, generator=torch.Generator().manual_seed(0)))
    except Exception as error:
        return checks.failed(ex, f"a (16, 8) batch raised {type(error).__name__}: {error}",
                     "each Linear's in_features must equal the previous Linear's out_features.")
    if out.std().item() < 1e-6:
        return checks.failed(ex, "the output is the same for every input.",
                     "check that nothing at the end squashes the output to a constant.")
    if tuple(out.shape) != (16, 1):
        return checks.failed(ex, f"a (16, 8) batch gives an output of shape {tuple(out.shape)}, not (16, 1).",
                             "keep one raw logit per row: nothing after the last nn.Linear(..., 1).")
    checks.passed(ex, "four Linear layers with activations between them and one raw logit out.")
