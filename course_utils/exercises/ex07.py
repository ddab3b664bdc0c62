"""Checks for notebook 07 (initialization)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from torch import nn

from course_utils import checks


def _is(*values: float) -> Callable[[Any], bool]:
    """A ``checks.first_mistake`` predicate: the answer is one of ``values``, to 0.1 % (relative)."""
    return lambda answer: any(checks.close(answer, value, atol=0.0, rtol=1e-3) for value in values)


def check_1(he_std_256: Any) -> None:
    """Exercise 07.1: the He (Kaiming) normal std for a ReLU layer with fan_in = 256."""
    expected = math.sqrt(2 / 256)
    value = checks.as_number(he_std_256)
    _, hint = checks.first_mistake(value, [
        (_is(2 / 256), None, "2/256 is the variance; the std is its square root."),
        (_is(1 / math.sqrt(256)), None,
         "1/sqrt(fan_in) misses the factor 2 that makes up for ReLU zeroing half of its inputs."),
        (_is(math.sqrt(6 / 256)), None,
         "sqrt(6 / fan_in) is the bound of He's *uniform* version; the normal version's std is sqrt(2 / fan_in)."),
        (_is(math.sqrt(2) / 256), None, "take the square root of the whole fraction 2/256, not only of the 2."),
    ]) or (None, "He init: Var(W) = 2 / fan_in, and the std is the square root of the variance.")
    checks.check_value("07.1", value, expected, tol=1e-4, hint=hint, success=f"sqrt(2/256) = {expected:.4f}.")


def check_2(xavier_uniform_bound: Any) -> None:
    """Exercise 07.2: the bound a of Xavier's uniform U(-a, a) for given fan_in and fan_out."""
    cases = [((256, 128), math.sqrt(6 / 384)), ((64, 10), math.sqrt(6 / 74)), ((3, 3), 1.0)]
    try:  # one probe at fan_in = 100, fan_out = 50 names the typical mistakes
        probe = float(xavier_uniform_bound(100, 50))
    except Exception:  # check_function reports a placeholder, NotImplementedError or a crash
        probe = None
    _, hint = checks.first_mistake(probe, [
        (_is(math.sqrt(2 / 150)), None,
         "that is Xavier's *normal* std; the uniform bound is sqrt(3) times larger: sqrt(6/(fan_in+fan_out))."),
        (_is(math.sqrt(6 / 100), math.sqrt(6 / 50)), None, "Xavier uses both fans: the denominator is fan_in + fan_out."),
        (_is(6 / 150), None, "6/(fan_in+fan_out) is a² (three times the variance): take the square root."),
    ]) or (None, "a uniform U(-a, a) has variance a²/3; set it equal to 2 / (fan_in + fan_out) and solve for a.")
    checks.check_function("07.2", xavier_uniform_bound, cases, atol=1e-6, hint=hint)


def _he_layer_problem(layer: Any, want: float) -> tuple[str, str] | None:
    """``(problem, hint)`` for a layer that is not He-initialised nn.Linear(256, 128) with zero biases, else None."""
    if not isinstance(layer, nn.Linear):
        return f"expected an nn.Linear layer, got {type(layer).__name__}.", "create it with nn.Linear(256, 128)."
    if tuple(layer.weight.shape) != (128, 256):
        return (
            f"the weight has shape {tuple(layer.weight.shape)}, not (128, 256).",
            "nn.Linear(in_features, out_features) stores its weight as (out, in): use nn.Linear(256, 128).",
        )
    w = layer.weight.detach()
    std, mean = w.std().item(), w.mean().item()
    if layer.bias is None or layer.bias.detach().abs().max().item() != 0:
        return "the biases are not all zero.", "set them with nn.init.zeros_(layer.bias)."
    if abs(mean) > 0.01:
        return f"the weights have mean {mean:.4f}; He init is centred on 0.", "use a zero-mean normal distribution."
    if abs(std - want) <= 0.05 * want:
        return None
    text = f"the weight std is {std:.4f}, but He init for fan_in = 256 gives {want:.4f}."

    def std_is(value: float) -> Callable[[float], bool]:  # within 5 % of value, as before
        return lambda s: abs(s - value) <= 0.05 * value

    return checks.first_mistake(std, [
        (std_is(math.sqrt(2 / 128)), text, "you used fan_out (128): keep mode='fan_in' (the default) for the forward pass."),
        (std_is(1 / math.sqrt(3 * 256)), text, "these are PyTorch's default weights: you still have to re-initialise them."),
        (std_is(math.sqrt(2 / 384)), text, "that is Xavier init; He uses nn.init.kaiming_normal_(w, nonlinearity='relu')."),
        (std_is(1 / math.sqrt(256)), text, "the ReLU gain sqrt(2) is missing: pass nonlinearity='relu'."),
    ]) or (text, "use nn.init.kaiming_normal_(layer.weight, mode='fan_in', nonlinearity='relu').")


def check_3(he_layer: Any) -> None:
    """Exercise 07.3: an nn.Linear(256, 128) with He-normal weights (ReLU, fan_in) and zero biases."""
    exercise = "07.3"
    want = math.sqrt(2 / 256)
    if checks.unanswered(exercise, he_layer):
        return
    found = _he_layer_problem(he_layer, want)
    checks.verdict(exercise, found, f"weight std ≈ {want:.4f} = sqrt(2/256), biases zero.")


def check_4(default_bound: Any) -> None:
    """Exercise 07.4: the bound of PyTorch's default uniform init for nn.Linear(64, 10)."""
    value = checks.as_number(default_bound)
    _, hint = checks.first_mistake(value, [
        (_is(1 / math.sqrt(10)), None, "fan_in is the number of inputs (64), not of outputs (10)."),
        (_is(1 / 64), None, "the bound is 1/sqrt(fan_in): take the square root of 64."),
        (_is(math.sqrt(6 / 64)), None,
         "sqrt(6/fan_in) is He's (Kaiming's) uniform bound for ReLU; the default uses a = sqrt(5), which gives 1/sqrt(fan_in)."),
    ]) or (None, "the default is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and fan_in is the number of inputs.")
    checks.check_value("07.4", value, 0.125, tol=1e-4, hint=hint, success="1/sqrt(64) = 0.125.")
