"""Checks for notebook 08 (CNN)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from course_utils import checks

# --------------------------------------------------------------------------- 08.1 receptive field

# Conv2d(k=5, stride 2) -> Conv2d(k=3, dilation 3) -> MaxPool2d(3, stride 2) -> Conv2d(k=3): not a stack the notebook
# measures, so the answer has to be worked out.
_RF_LAYERS = [(5, 2, 1), (3, 1, 3), (3, 2, 1), (3, 1, 1)]  # (kernel, stride, dilation)


def _rf_trail(layers, *, use_jump: bool = True, use_dilation: bool = True,
              jump_after: bool = False) -> list[tuple[int, int]]:
    """(r, j) after each layer; the keyword arguments reproduce typical mistakes."""
    r, j, trail = 1, 1, []
    for k, s, d in layers:
        span = (d if use_dilation else 1) * (k - 1)
        if jump_after:
            j *= s
        r += span * (j if use_jump else 1)
        if not jump_after:
            j *= s
        trail.append((r, j))
    return trail


def _rf(layers, **mistake: bool) -> int:
    return _rf_trail(layers, **mistake)[-1][0]


_RF_HINTS = {
    _rf(_RF_LAYERS, use_jump=False): "each layer adds d·(k − 1) times the *jump* j (the input distance between two "
                                     "neighbouring outputs so far), not just d·(k − 1): strides multiply the jump.",
    _rf(_RF_LAYERS, use_dilation=False): "the dilated kernel spans d·(k − 1) + 1 = 7 pixels: multiply k − 1 by the "
                                         "dilation.",
    _rf(_RF_LAYERS, jump_after=True): "a layer's own stride changes the jump only for the layers *after* it: "
                                      "use the jump before the layer, then multiply it by the stride.",
    sum(k for k, _, _ in _RF_LAYERS): "adding the kernel sizes ignores strides, dilation and the overlap of kernels: "
                                      "use r ← r + d·(k − 1)·j, j ← j·s.",
}


def check_1(receptive_field: Any) -> None:
    """Exercise 08.1: the receptive field of conv5/s2 -> conv3/d3 -> maxpool3/s2 -> conv3."""
    exercise = "08.1"
    if checks.unanswered(exercise, receptive_field):
        return
    value = checks.as_number(receptive_field)
    trail = _rf_trail(_RF_LAYERS)
    expected = trail[-1][0]
    hint = _RF_HINTS.get(value) if isinstance(value, int | float) else None
    rs, js = (", ".join(str(pair[i]) for pair in trail) for i in (0, 1))
    checks.check_value(exercise, value, expected, hint=hint or "start from r = 1, j = 1 and apply "
                       "r ← r + d·(k − 1)·j, then j ← j·s, layer by layer (pooling counts as a layer).",
                       success=f"{expected} pixels: r goes {rs} while the jump goes {js}.")


# --------------------------------------------------------------------------- 08.2 cost ratio of a separable block


def _ratio(c_in: int, c_out: int, k: int) -> float:
    """Multiply-adds of depthwise k×k + pointwise 1×1 over those of a full k×k conv: 1/C_out + 1/k²."""
    return (k * k * c_in + c_in * c_out) / (k * k * c_in * c_out)


_RATIO_CASES = [((32, 64, 3), _ratio(32, 64, 3)), ((48, 96, 5), _ratio(48, 96, 5)), ((16, 16, 7), _ratio(16, 16, 7)),
                ((128, 256, 3), _ratio(128, 256, 3)), ((3, 24, 5), _ratio(3, 24, 5))]
_RATIO_MISTAKES: list[tuple[Callable[[int, int, int], float], str]] = [
    (lambda ci, co, k: 1 / _ratio(ci, co, k), "that is the full convolution's cost over the separable block's: "
                                              "the ratio asked for is below 1."),
    (lambda ci, co, k: ((k * k + 1) * ci + (ci + 1) * co) / ((k * k * ci + 1) * co),
     "that is the ratio of parameters with the biases: multiply-adds count only the weights' products."),
    (lambda ci, co, k: 1 / (k * k), "that is the 1×1 layer's share only: the depthwise layer costs something too."),
    (lambda ci, co, k: 1 / co, "that is the depthwise layer's share only: the 1×1 layer costs something too."),
    (lambda ci, co, k: 1 / ci + 1 / (k * k), "C_in and C_out are swapped somewhere: the full conv does k²·C_in "
                                             "multiply-adds for each of its C_out output values."),
    (lambda ci, co, k: ci / co + 1 / (k * k), "with groups=C_in each depthwise kernel sees ONE input channel: k² "
                                              "multiply-adds per output value, not k²·C_in."),
]


def check_2(separable_cost_ratio: Any) -> None:
    """Exercise 08.2: separable_cost_ratio(c_in, c_out, k) = 1/c_out + 1/k²."""
    exercise = "08.2"
    if checks.unanswered(exercise, separable_cost_ratio, expect="function"):
        return
    hint = checks.match_mistake(separable_cost_ratio, _RATIO_MISTAKES, _RATIO_CASES, atol=1e-9, rtol=1e-6)
    checks.check_function(exercise, separable_cost_ratio, _RATIO_CASES, atol=1e-9,
                          hint=hint or "count the multiply-adds per output pixel of each layer (k²·C_in·C_out for "
                                       "the full conv); the number of pixels H·W is the same for all three and cancels.",
                          success="the ratio is 1/C_out + 1/k²: for a 3×3 kernel the separable block can never cost "
                                  "less than 1/9 of the full conv, however wide the layer.")


# --------------------------------------------------------------------------- 08.3 multiply-adds of a real layer

# ResNet's stem: Conv2d(3, 64, kernel_size=7, stride=2, padding=3) on one 3x224x224 image.
_STEM_C_IN, _STEM_C_OUT, _STEM_K, _STEM_S, _STEM_P, _STEM_N = 3, 64, 7, 2, 3, 224


def _stem(size_out: int, per_output: int) -> int:
    return _STEM_C_OUT * size_out * size_out * per_output


_STEM_OUT = (_STEM_N + 2 * _STEM_P - _STEM_K) // _STEM_S + 1  # 112
_STEM_PER_OUTPUT = _STEM_C_IN * _STEM_K * _STEM_K           # 147
_STEM_HINTS = {
    _stem(_STEM_N, _STEM_PER_OUTPUT): "the stride 2 halves the height and the width: the output is 112×112, not "
                                      "224×224 (use the output-size formula first).",
    _stem((_STEM_N - _STEM_K) // _STEM_S + 1, _STEM_PER_OUTPUT): "padding=3 adds 3 pixels on every side: the output "
                                                                 "is 112×112.",
    _stem(_STEM_OUT, _STEM_K * _STEM_K): "each kernel spans all 3 colour channels: 3·7·7 multiply-adds per output "
                                         "value.",
    _stem(_STEM_OUT, _STEM_PER_OUTPUT) + _STEM_C_OUT * _STEM_OUT * _STEM_OUT:
        "the bias additions are not multiply-adds: count only the weights' products.",
    _STEM_OUT * _STEM_OUT * _STEM_PER_OUTPUT: "every one of the 64 output channels is computed at every position.",
    _STEM_C_OUT * _STEM_PER_OUTPUT: "that is the number of weights; each weight is used once per output position.",
    _STEM_C_OUT * _STEM_PER_OUTPUT + _STEM_C_OUT: "that is the number of parameters; each weight is used once per "
                                                  "output position.",
}


def check_3(stem_multiply_adds: Any) -> None:
    """Exercise 08.3: multiply-adds of Conv2d(3, 64, 7, stride=2, padding=3) on one 3x224x224 image."""
    exercise = "08.3"
    if checks.unanswered(exercise, stem_multiply_adds):
        return
    value = checks.as_number(stem_multiply_adds)
    expected = _stem(_STEM_OUT, _STEM_PER_OUTPUT)
    hint = _STEM_HINTS.get(value) if isinstance(value, int | float) else None
    checks.check_value(exercise, value, expected, hint=hint or "first the output size, "
                       "⌊(n + 2p − k)/s⌋ + 1, then (output values) × (multiply-adds per output value).",
                       success=f"{expected:,}: 64 × 112 × 112 output values, each 3·7·7 = 147 multiply-adds. With "
                               f"stride 1 it would cost 4× as much, which is why networks shrink the image first.")


# --------------------------------------------------------------------------- 08.4 max pooling

_BUILT_IN = "F.max_pool2d, nn.MaxPool2d, unfold or another built-in pooling"


class _BuiltInPooling(Exception):
    """Raised inside a check when the answer calls a built-in pooling or unfold."""


@contextmanager
def _without_built_in_pooling() -> Iterator[None]:
    """Make the library's pooling and unfold raise while the learner's function runs (restored afterwards)."""
    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise _BuiltInPooling(_BUILT_IN)

    targets = [(F, name) for name in ("max_pool2d", "max_pool2d_with_indices", "adaptive_max_pool2d", "unfold")]
    targets += [(torch, name) for name in ("max_pool2d", "max_pool2d_with_indices", "adaptive_max_pool2d")]
    targets += [(torch.Tensor, "unfold"), (nn.MaxPool2d, "forward"), (nn.AdaptiveMaxPool2d, "forward"),
                (nn.Unfold, "forward")]
    saved = []
    for owner, name in targets:
        if hasattr(owner, name):
            saved.append((owner, name, name in vars(owner), getattr(owner, name) if name in vars(owner) else None))
            setattr(owner, name, refuse)
    try:
        yield
    finally:
        for owner, name, own, value in reversed(saved):
            if own:
                setattr(owner, name, value)
            else:
                delattr(owner, name)


def _pool_cases() -> list[tuple[tuple, torch.Tensor]]:
    g = torch.Generator().manual_seed(8)
    x1 = torch.randn(2, 3, 4, 6, generator=g)
    x2 = torch.randn(1, 1, 2, 2, generator=g)
    return [((x1,), F.max_pool2d(x1, 2)), ((x2,), F.max_pool2d(x2, 2))]


def check_4(max_pool_2x2: Any) -> None:
    """Exercise 08.4: 2x2 max pooling from reshape and a reduction, without the library's pooling."""
    exercise = "08.4"
    if checks.unanswered(exercise, max_pool_2x2, expect="function"):
        return
    cases = _pool_cases()
    x = cases[0][0][0]
    n, c, h, w = x.shape
    try:  # the typical mistakes are named from the answer on the first case
        with _without_built_in_pooling():
            got = max_pool_2x2(x.clone())
    except _BuiltInPooling:
        checks.failed(exercise, f"your function calls {_BUILT_IN}.",
                      "build the windows yourself: which reshape of (N, C, H, W) puts the four pixels of each 2×2 "
                      "window on two axes of their own? Then reduce over those axes.")
        return
    except Exception:  # check_function reports a placeholder, NotImplementedError or a crash
        got = None
    _, hint = checks.first_mistake(got, [
        (F.avg_pool2d(x, 2), None, "you took the mean of each window (average pooling): use .amax(...) for max pooling."),
        (x.reshape(n, c, h // 2, w // 2, 2, 2).amax(dim=(4, 5)), None,
         "reshape(n, c, h//2, w//2, 2, 2) mixes pixels of different windows: a reshape keeps the memory order, "
         "so split H into (H/2, 2) where H is and W into (W/2, 2) where W is."),
    ], atol=1e-6) or (None, "split H into (H/2, 2) and W into (W/2, 2) with one reshape, then take the maximum over "
                            "the two axes of size 2.")

    def guarded(t: torch.Tensor) -> Any:
        with _without_built_in_pooling():
            return max_pool_2x2(t)

    checks.check_function(exercise, guarded, cases, hint=hint,
                          success="matches F.max_pool2d(x, 2), built from a reshape and a maximum.")
