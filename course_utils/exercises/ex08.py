"""Checks for notebook 08 (CNN)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from course_utils import checks

# --------------------------------------------------------------------------- 08.1 shape trace

_EXPECTED_SHAPE = (64, 6, 6)
_SHAPE_HINTS = {
    (64, 5, 5): "(64, 5, 5) is the trace of a 28×28 input. Start from 32: 32 → 30 (conv) → 15 (pool) → 13 → 6.",
    (64, 7, 7): "pooling rounds down: a 13×13 map pooled by 2 gives 6×6 (floor(13 / 2) = 6), not 7.",
    (64, 8, 8): "these convolutions have no padding, so each one removes k − 1 = 2 pixels per side length.",
    (64, 13, 13): "don't forget the last MaxPool2d(2): it halves 13 to 6 (rounding down).",
    (6, 6, 64): "PyTorch orders the dimensions (channels, height, width), not (height, width, channels).",
    (1, 64, 6, 6): "right numbers, but leave out the batch dimension: give (channels, height, width).",
    (64, 15, 15): "that is the size after the first pooling; keep going through the second conv and pool.",
}


def check_1(output_shape: Any) -> None:
    """Exercise 08.1: the output shape of conv3 -> pool2 -> conv3 -> pool2 for a 3x32x32 input."""
    if checks.unanswered("08.1", output_shape):
        return
    answer = tuple(output_shape) if isinstance(output_shape, list | tuple | torch.Size) else output_shape
    if isinstance(answer, tuple):
        answer = tuple(int(v) if isinstance(v, int | float) and float(v).is_integer() else v for v in answer)
    hint = _SHAPE_HINTS.get(answer) if isinstance(answer, tuple) else None
    if hint is None and isinstance(answer, tuple) and len(answer) == 3 and answer[0] != 64:
        hint = "the channels come from the last convolution: Conv2d(32, 64, 3) has 64 output channels."
    if hint is None:
        hint = ("apply n_out = floor((n + 2p − k) / s) + 1 layer by layer: each conv has k=3, p=0, s=1; "
                "each pool has k=2, s=2.")
    checks.check_value("08.1", answer, _EXPECTED_SHAPE, hint=hint,
                       success="(64, 6, 6): 32 → 30 → 15 → 13 → 6, with 64 channels.")


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


# --------------------------------------------------------------------------- 08.3 edge kernel


def _edge_responses(kernel: torch.Tensor) -> tuple[float, float, float]:
    """Largest |response| of the kernel to a flat image, a vertical edge and a horizontal edge."""
    flat = torch.full((9, 9), 0.5)
    vertical = torch.zeros(9, 9)
    vertical[:, 5:] = 1.0
    horizontal = vertical.T.contiguous()
    k = kernel.float()[None, None]
    return tuple(F.conv2d(img[None, None], k).abs().max().item() for img in (flat, vertical, horizontal))


def check_3(edge_kernel: Any) -> None:
    """Exercise 08.3: a 3x3 kernel that responds to horizontal edges only."""
    exercise = "08.3"
    if checks.unanswered(exercise, edge_kernel):
        return
    try:
        kernel = torch.as_tensor(edge_kernel).detach()
    except Exception:
        kernel = None
    if kernel is None or tuple(kernel.shape) != (3, 3):
        shape = tuple(kernel.shape) if kernel is not None else type(edge_kernel).__name__
        checks.failed(exercise, f"expected a 3×3 tensor, got {shape}.",
                      "write it as torch.tensor([[..., ..., ...], [...], [...]]) with 3 rows of 3.")
        return
    flat, vertical, horizontal = _edge_responses(kernel)
    if flat < 1e-4 and vertical < 1e-4 and horizontal >= 0.5:
        checks.passed(exercise, f"flat → 0, vertical edge → 0, horizontal edge → {horizontal:.4g}.")
        return
    if flat >= 1e-4:
        hint = (f"a flat region must give 0, so the nine weights must sum to 0 (yours sum to {kernel.float().sum().item():.4g}).")
    elif vertical >= 1e-4 and horizontal < 1e-4:
        hint = "your kernel detects vertical edges (left-right changes): transpose it."
    elif vertical >= 1e-4:
        hint = "it also responds to vertical edges: make every column sum to 0 (put the change between rows, not columns)."
    else:
        hint = "it barely responds to a horizontal edge: use negative weights in the top row and positive in the bottom row."
    checks.failed(exercise, f"responses: flat {flat:.3g}, vertical edge {vertical:.3g}, horizontal edge {horizontal:.3g} "
                  "(want 0, 0 and at least 0.5).", hint)


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
