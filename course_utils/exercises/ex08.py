"""Checks for notebook 08 (CNN)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from course_utils import checks

# --------------------------------------------------------------------------- 08.1 receptive field

# Conv2d(k=3) -> Conv2d(k=3, stride 2) -> Conv2d(k=3, dilation 2) -> MaxPool2d(2) -> Conv2d(k=5)
_RF_LAYERS = [(3, 1, 1), (3, 2, 1), (3, 1, 2), (2, 2, 1), (5, 1, 1)]  # (kernel, stride, dilation)


def _rf(layers, *, use_jump: bool = True, use_dilation: bool = True, jump_after: bool = False) -> int:
    r, j = 1, 1
    for k, s, d in layers:
        span = (d if use_dilation else 1) * (k - 1)
        if jump_after:
            j *= s
        r += span * (j if use_jump else 1)
        if not jump_after:
            j *= s
    return r


_RF_HINTS = {
    _rf(_RF_LAYERS, use_jump=False): "each layer adds d·(k − 1) times the *jump* j (the input distance between two "
                                     "neighbouring outputs so far), not just d·(k − 1): strides multiply the jump.",
    _rf(_RF_LAYERS, use_dilation=False): "the dilated kernel spans d·(k − 1) + 1 = 5 pixels: multiply k − 1 by the dilation.",
    _rf(_RF_LAYERS, jump_after=True): "a layer's own stride changes the jump only for the layers *after* it: "
                                      "use the jump before the layer, then multiply it by the stride.",
    sum(k for k, _, _ in _RF_LAYERS): "adding the kernel sizes ignores strides, dilation and the overlap of kernels: "
                                      "use r ← r + d·(k − 1)·j, j ← j·s.",
}


def check_1(receptive_field: Any) -> None:
    """Exercise 08.1: the receptive field of conv3 -> conv3/s2 -> conv3/d2 -> pool2 -> conv5."""
    exercise = "08.1"
    if checks.unanswered(exercise, receptive_field):
        return
    value = checks.as_number(receptive_field)
    expected = _rf(_RF_LAYERS)
    hint = _RF_HINTS.get(value) if isinstance(value, int | float) else None
    checks.check_value(exercise, value, expected, hint=hint or "start from r = 1, j = 1 and apply "
                       "r ← r + d·(k − 1)·j, then j ← j·s, layer by layer.",
                       success=f"{expected} pixels: r goes 3, 5, 13, 15, 31 while the jump goes 1, 2, 2, 4, 4.")


# --------------------------------------------------------------------------- 08.2 parameter count

_PARAM_CASES = [((3, 32, 3), 896), ((1, 16, 3), 160), ((64, 128, 5), 204_928), ((16, 8, 1), 136)]
_PARAM_MISTAKES: list[tuple[Callable[[int, int, int], int], str]] = [
    (lambda ci, co, k: k * k * ci * co, "you forgot the bias: add one per output channel, (k·k·C_in + 1)·C_out."),
    (lambda ci, co, k: k * k * ci * co + 1, "there is one bias per output channel (C_out of them), not one in total."),
    (lambda ci, co, k: (k * k + 1) * co, "each kernel spans ALL input channels: it has k·k·C_in weights."),
    (lambda ci, co, k: (k * ci + 1) * co, "a k×k kernel has k·k weights per input channel, not k."),
    (lambda ci, co, k: (k * k * co + 1) * ci, "C_in and C_out are swapped: (k·k·C_in + 1)·C_out."),
]


def check_2(conv_params: Any) -> None:
    """Exercise 08.2: conv_params(c_in, c_out, k) = (k*k*c_in + 1) * c_out."""
    hint = checks.match_mistake(conv_params, _PARAM_MISTAKES, _PARAM_CASES)
    checks.check_function("08.2", conv_params, _PARAM_CASES,
                          hint=hint or "compare with sum(p.numel() for p in nn.Conv2d(c_in, c_out, k).parameters()).",
                          success="your count matches nn.Conv2d in all test cases.")


# --------------------------------------------------------------------------- 08.3 depthwise-separable block

_C_IN, _C_OUT, _K = 48, 96, 5


def _separable(c_in: int, c_out: int, k: int) -> int:
    return (k * k * c_in + c_in) + (c_in * c_out + c_out)  # depthwise k×k (groups=c_in) + pointwise 1×1, with biases


_SEPARABLE_HINTS = {
    (_K * _K * _C_IN * _C_IN + _C_IN) + (_C_IN * _C_OUT + _C_OUT):
        "with groups=C_in each kernel sees ONE input channel: the depthwise layer has k·k weights per channel, "
        "not k·k·C_in.",
    _K * _K * _C_IN + _C_IN * _C_OUT: "you left out the biases: one per output channel of each of the two layers.",
    (_K * _K * _C_IN + 1) * _C_OUT: "that is a full 5×5 convolution, the layer the separable block replaces.",
    (_K * _K * _C_IN + _C_IN) + (_K * _K * _C_IN * _C_OUT + _C_OUT):
        "the pointwise layer is 1×1: C_in weights per output channel, not k·k·C_in.",
    (_K * _K * _C_OUT + _C_OUT) + (_C_IN * _C_OUT + _C_OUT):
        "the depthwise layer works on the C_in = 48 input channels, before the 1×1 layer widens them to 96.",
}


def check_3(separable_params: Any) -> None:
    """Exercise 08.3: parameters of Conv2d(48, 48, 5, groups=48) followed by Conv2d(48, 96, 1), both with bias."""
    exercise = "08.3"
    if checks.unanswered(exercise, separable_params):
        return
    value = checks.as_number(separable_params)
    expected = _separable(_C_IN, _C_OUT, _K)
    hint = _SEPARABLE_HINTS.get(value) if isinstance(value, int | float) else None
    full = (_K * _K * _C_IN + 1) * _C_OUT
    checks.check_value(exercise, value, expected, hint=hint or
                       "depthwise: (k·k + 1)·C_in (one k×k kernel and a bias per channel); pointwise: (C_in + 1)·C_out.",
                       success=f"{expected:,} = 1,248 (depthwise) + 4,704 (pointwise), against {full:,} for a full "
                               f"5×5 convolution ({full / expected:.1f}× more).")


# --------------------------------------------------------------------------- 08.4 max pooling


def _pool_cases() -> list[tuple[tuple, torch.Tensor]]:
    g = torch.Generator().manual_seed(8)
    x1 = torch.randn(2, 3, 4, 6, generator=g)
    x2 = torch.randn(1, 1, 2, 2, generator=g)
    return [((x1,), F.max_pool2d(x1, 2)), ((x2,), F.max_pool2d(x2, 2))]


def check_4(max_pool_2x2: Any) -> None:
    """Exercise 08.4: 2x2 max pooling with reshape and amax."""
    cases = _pool_cases()
    x = cases[0][0][0]
    n, c, h, w = x.shape
    try:  # the typical mistakes are named from the answer on the first case
        got = max_pool_2x2(x.clone())
    except Exception:  # check_function reports a placeholder, NotImplementedError or a crash
        got = None
    _, hint = checks.first_mistake(got, [
        (F.avg_pool2d(x, 2), None, "you took the mean of each window (average pooling): use .amax(...) for max pooling."),
        (x.reshape(n, c, h // 2, w // 2, 2, 2).amax(dim=(4, 5)), None,
         "reshape(n, c, h//2, w//2, 2, 2) mixes pixels of different windows: use "
         "reshape(n, c, h//2, 2, w//2, 2) and take the max over dims 3 and 5."),
    ], atol=1e-6) or (None, "reshape to (N, C, H/2, 2, W/2, 2), then .amax(dim=(3, 5)).")
    checks.check_function("08.4", max_pool_2x2, cases, hint=hint, success="matches F.max_pool2d(x, 2).")
