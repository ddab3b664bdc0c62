"""Checks for notebook 00 (welcome)."""

from __future__ import annotations

from typing import Any

import torch

from course_utils import checks


def check_1(n_numbers: Any, images: torch.Tensor) -> None:
    """Exercise 00.1: how many numbers the tensor ``images`` holds, predicted from its shape."""
    ex = "00.1"
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        raise ValueError("check_1 needs the notebook's `X`: the (N, 1, 8, 8) tensor of digit images. "
                         "Re-run the cell that loads it.")
    if checks.unanswered(ex, n_numbers, expect="number", hint="multiply the sizes in the shape printed above."):
        return
    n_numbers = checks.as_number(n_numbers)
    n, c, h, w = images.shape
    expected = images.numel()
    if checks.close(n_numbers, expected, atol=0):
        checks.passed(ex, f"{n} images × {c} channel × {h} × {w} pixels = {expected:,} numbers, "
                          "which is what X.numel() says.")
        return
    found = checks.first_mistake(n_numbers, [
        (h * w, f"{h * w} is the size of one image.", f"the tensor holds all {n} images: multiply by {n} too."),
        (n, f"{n} is the number of images.", f"each image holds {h}×{w} numbers: multiply by {h * w}."),
        (n + c + h + w, "you added the sizes.", "the number of entries is the product of the sizes, not their sum."),
        (n * (h + w), "you added the rows and the columns.", "an 8×8 grid holds 8 × 8 numbers, not 8 + 8."),
    ], atol=0)
    problem, hint = found or (f"{n_numbers!r} is not the number of entries.",
                              "multiply every size in the shape: N × C × H × W.")
    checks.failed(ex, problem, hint)
