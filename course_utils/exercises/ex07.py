"""Checks for notebook 07 (initialization)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from course_utils import checks


def _number(answer: Any) -> Any:
    """A one-element tensor or a NumPy scalar as a plain float; anything else unchanged."""
    if isinstance(answer, torch.Tensor) and answer.numel() == 1:
        return float(answer.item())
    if isinstance(answer, np.generic):
        return float(answer)
    return answer


def _close(a: Any, b: float, rel: float = 1e-3) -> bool:
    return isinstance(a, int | float) and not isinstance(a, bool) and math.isclose(a, b, rel_tol=rel)


def check_1(he_std_256: Any) -> None:
    """Exercise 07.1: the He (Kaiming) normal std for a ReLU layer with fan_in = 256."""
    expected = math.sqrt(2 / 256)
    value = _number(he_std_256)
    hint = "He init: Var(W) = 2 / fan_in, and the std is the square root of the variance."
    if _close(value, 2 / 256):
        hint = "2/256 is the variance; the std is its square root."
    elif _close(value, 1 / math.sqrt(256)):
        hint = "1/sqrt(fan_in) misses the factor 2 that makes up for ReLU zeroing half of its inputs."
    elif _close(value, math.sqrt(6 / 256)):
        hint = "sqrt(6 / fan_in) is the bound of He's *uniform* version; the normal version's std is sqrt(2 / fan_in)."
    elif _close(value, math.sqrt(2) / 256):
        hint = "take the square root of the whole fraction 2/256, not only of the 2."
    checks.check_value("07.1", value, expected, tol=1e-4, hint=hint, success=f"sqrt(2/256) = {expected:.4f}.")


def check_2(xavier_uniform_bound: Any) -> None:
    """Exercise 07.2: the bound a of Xavier's uniform U(-a, a) for given fan_in and fan_out."""
    cases = [((256, 128), math.sqrt(6 / 384)), ((64, 10), math.sqrt(6 / 74)), ((3, 3), 1.0)]
    hint = "a uniform U(-a, a) has variance a²/3; set it equal to 2 / (fan_in + fan_out) and solve for a."
    try:
        probe = float(xavier_uniform_bound(100, 50)) if callable(xavier_uniform_bound) else None
    except Exception:  # the check itself reports errors and NotImplementedError
        probe = None
    if probe is not None:
        if _close(probe, math.sqrt(2 / 150)):
            hint = "that is Xavier's *normal* std; the uniform bound is sqrt(3) times larger: sqrt(6/(fan_in+fan_out))."
        elif _close(probe, math.sqrt(6 / 100)) or _close(probe, math.sqrt(6 / 50)):
            hint = "Xavier uses both fans: the denominator is fan_in + fan_out."
        elif _close(probe, 6 / 150):
            hint = "6/(fan_in+fan_out) is a² (three times the variance): take the square root."
    checks.check_function("07.2", xavier_uniform_bound, cases, atol=1e-6, hint=hint)


def check_3(he_layer: Any) -> None:
    """Exercise 07.3: an nn.Linear(256, 128) with He-normal weights (ReLU, fan_in) and zero biases."""
    exercise = "07.3"
    want = math.sqrt(2 / 256)

    def problem(layer: Any) -> tuple[str, str] | None:
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
        if abs(std - math.sqrt(2 / 128)) <= 0.05 * math.sqrt(2 / 128):
            return text, "you used fan_out (128): keep mode='fan_in' (the default) for the forward pass."
        if abs(std - 1 / math.sqrt(3 * 256)) <= 0.05 / math.sqrt(3 * 256):
            return text, "these are PyTorch's default weights: you still have to re-initialise them."
        if abs(std - math.sqrt(2 / 384)) <= 0.05 * math.sqrt(2 / 384):
            return text, "that is Xavier init; He uses nn.init.kaiming_normal_(w, nonlinearity='relu')."
        if abs(std - 1 / math.sqrt(256)) <= 0.05 / math.sqrt(256):
            return text, "the ReLU gain sqrt(2) is missing: pass nonlinearity='relu'."
        return text, "use nn.init.kaiming_normal_(layer.weight, mode='fan_in', nonlinearity='relu')."

    found = problem(he_layer)
    checks.check_condition(
        exercise,
        he_layer,
        lambda layer: problem(layer) is None,
        success=f"weight std ≈ {want:.4f} = sqrt(2/256), biases zero.",
        failure=found[0] if found else "",
        hint=found[1] if found else None,
    )


def check_4(default_bound: Any) -> None:
    """Exercise 07.4: the bound of PyTorch's default uniform init for nn.Linear(64, 10)."""
    value = _number(default_bound)
    hint = "the default is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and fan_in is the number of inputs."
    if _close(value, 1 / math.sqrt(10)):
        hint = "fan_in is the number of inputs (64), not of outputs (10)."
    elif _close(value, 1 / 64):
        hint = "the bound is 1/sqrt(fan_in): take the square root of 64."
    elif _close(value, math.sqrt(6 / 64)):
        hint = "sqrt(6/fan_in) is He's (Kaiming's) uniform bound for ReLU; the default uses a = sqrt(5), which gives 1/sqrt(fan_in)."
    checks.check_value("07.4", value, 0.125, tol=1e-4, hint=hint, success="1/sqrt(64) = 0.125.")
