"""Checks for notebook 03 (activations).

Each check computes the right answer itself, recognises the typical wrong answers
(the negative side of Leaky ReLU set to 0, softmax without the max trick or over the
wrong dim, the sigmoid's derivative pattern used for tanh, a kink at b/w instead of
-b/w, a Softmax over a single output...) and names the mistake in its hint.
"""

from __future__ import annotations

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


# --------------------------------------------------------------------------- 03.1

LEAKY_PROBE = torch.tensor([-3.0, -2.0, -0.5, 0.0, 0.5, 2.0])


def check_1(my_leaky_relu: Any) -> None:
    """Exercise 03.1: ``my_leaky_relu(x, negative_slope)`` from scratch."""
    ex = "03.1"
    x = LEAKY_PROBE
    mistakes = [
        (torch.relu(x), "my_leaky_relu(x, 0.05): the negative inputs give 0: that is plain ReLU.",
         "for x ≤ 0 return negative_slope * x instead of 0."),
        (torch.where(x > 0, x, torch.full_like(x, 0.05)),
         "my_leaky_relu(x, 0.05): the negative inputs all give the same value.",
         "multiply the slope by x: negative_slope * x, not negative_slope alone."),
        (torch.where(x > 0, 0.05 * x, x), "my_leaky_relu(x, 0.05): the slope is applied on the wrong side.",
         "positive inputs pass unchanged; only x ≤ 0 is multiplied by negative_slope."),
        (torch.where(x > 0, x, 0.01 * x), "my_leaky_relu(x, 0.05): the slope is always 0.01.",
         "use the negative_slope argument instead of a fixed 0.01."),
    ]
    found = _first_mistake(my_leaky_relu, (LEAKY_PROBE.clone(), 0.05), mistakes)
    if found:
        return checks.failed(ex, *found)
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
    t = torch.tanh(x)
    mistakes = [
        (1 - t, "you wrote 1 - tanh(x).", "square the tanh: 1 - tanh(x)**2."),
        (t * (1 - t), "you wrote tanh(x)(1 - tanh(x)).",
         "that is the pattern of the sigmoid's derivative, σ(1 - σ); tanh's is 1 - tanh(x)²."),
        (1 - x**2, "you wrote 1 - x².", "apply tanh first: 1 - torch.tanh(x)**2."),
        (1 - torch.sigmoid(x) ** 2, "you used the sigmoid.", "use torch.tanh(x), not torch.sigmoid(x)."),
    ]
    found = _first_mistake(tanh_derivative, (x.clone(),), mistakes)
    if found:
        return checks.failed(ex, *found)
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
        got_small = _answer(stable_softmax, small.clone())
        got_large = _answer(stable_softmax, large.clone())
        got_batch = _answer(stable_softmax, batch.clone())
        small_right = checks.close(got_small, torch.softmax(small, -1))
        if isinstance(got_large, torch.Tensor) and not torch.isfinite(got_large).all() and small_right:
            return checks.failed(ex, f"stable_softmax([1000, 1001, 1002]) gives {got_large.tolist()}.",
                                 "e^1000 overflows to inf and inf/inf is NaN: subtract the largest logit before exp.")
        if (isinstance(got_small, torch.Tensor) and got_small.shape == small.shape
                and abs(got_small.sum().item() - 1.0) > 1e-4
                and checks.close(got_small / got_small.sum(), torch.softmax(small, -1))):
            return checks.failed(ex, f"the values for [1.2, 3.5, 0.8] sum to {got_small.sum().item():.4f}.",
                                 "divide by the sum of the exponentials, so the probabilities sum to 1.")
        if checks.close(got_batch, torch.softmax(batch, dim=0)):
            return checks.failed(ex, "on a (2, 3) batch the columns sum to 1 instead of the rows.",
                                 "softmax on the wrong dim: use dim=-1 in both the max and the sum, with keepdim=True.")
        if got_batch is None and got_small is not None:
            return checks.failed(ex, "it works on a single vector but fails on a (2, 3) batch.",
                                 "reduce along dim=-1 with keepdim=True so the max and the sum broadcast over each row.")
    cases = [((z.clone(),), torch.softmax(z, dim=-1)) for z in SOFTMAX_CASES]
    checks.check_function(ex, stable_softmax, cases, atol=1e-6,
                          hint="e = exp(z - z.amax(dim=-1, keepdim=True)); return e / e.sum(dim=-1, keepdim=True).",
                          success="right values, no overflow at 1000, and each row of a batch sums to 1.")


# --------------------------------------------------------------------------- 03.4 where a ReLU network bends

def exercise_4_net() -> nn.Sequential:
    """The 1 -> 4 -> 1 ReLU network of exercise 03.4 (fixed weights; the global random state is left alone)."""
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


def check_4(kinks: Any) -> None:
    """Exercise 03.4: the sorted x-positions where ``exercise_4_net()`` can bend, -b_i / w_i."""
    ex = "03.4"
    if checks.is_placeholder(kinks):
        return checks.not_done(ex)
    net = exercise_4_net()
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


# --------------------------------------------------------------------------- 03.5

_ACTIVATION_TYPES = (nn.ReLU, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.Tanh, nn.ELU, nn.Sigmoid, nn.PReLU)


def check_5(four_layer_net: Any) -> None:
    """Exercise 03.5: four Linear layers (8 -> ... -> 1) with activations between, one logit out."""
    ex = "03.5"
    if checks.is_placeholder(four_layer_net):
        return checks.not_done(ex)
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
