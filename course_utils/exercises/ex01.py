"""Checks for notebook 01 (tensors)."""

from __future__ import annotations

from typing import Any

import torch

from course_utils import checks


def _same(a: Any, b: torch.Tensor, atol: float = 1e-5) -> bool:
    """True when ``a`` is a tensor with ``b``'s shape and values (any dtype)."""
    return (
        isinstance(a, torch.Tensor)
        and a.shape == b.shape
        and torch.allclose(a.detach().double(), b.double(), atol=atol, equal_nan=False)
    )


def _fail(exercise: str, answer: Any, problem: str, hint: str) -> None:
    checks.check_condition(exercise, answer, lambda _: False, success="", failure=problem, hint=hint)


def check_1(grid: Any) -> None:
    """Exercise 01.1: a (3, 4) float32 tensor holding 0, 1, ..., 11 row by row."""
    expected = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    if not checks.is_placeholder(grid):
        if _same(grid, expected + 1):
            return _fail("01.1", grid, "the values run from 1 to 12.",
                         "torch.arange(12) starts at 0 and stops before 12; arange(1, 13) is off by one.")
        if _same(grid, torch.arange(12, dtype=torch.float32).reshape(4, 3).T):
            return _fail("01.1", grid, "the numbers run down the columns instead of along the rows.",
                         "reshape(3, 4) fills row by row; reshape(4, 3) followed by .T fills column by column.")
    checks.check_tensor("01.1", grid, expected, success="a (3, 4) float32 grid of 0..11.")


def check_2(standardised: Any, readings: torch.Tensor) -> None:
    """Exercise 01.2: every column of ``readings`` shifted to mean 0 and scaled to std 1."""
    if not isinstance(readings, torch.Tensor) or readings.dim() != 2 or not readings.dtype.is_floating_point:
        raise ValueError("check_2 needs the notebook's `readings`: a 2-D float tensor. Re-run the cell that defines it.")
    sample = (readings - readings.mean(dim=0)) / readings.std(dim=0)
    population = (readings - readings.mean(dim=0)) / readings.std(dim=0, correction=0)
    if not checks.is_placeholder(standardised):
        if _same(standardised, population):
            return checks.check_tensor("01.2", standardised, population,
                                       success="each column now has mean 0 and std 1 (population std).")
        by_row = (readings - readings.mean(dim=1, keepdim=True)) / readings.std(dim=1, keepdim=True)
        whole = (readings - readings.mean()) / readings.std()
        if _same(standardised, by_row):
            return _fail("01.2", standardised, "each row, not each column, has mean 0 and std 1.",
                         "dim=1 reduces across a row; use dim=0 to get one mean and one std per column.")
        if _same(standardised, whole):
            return _fail("01.2", standardised, "the whole table was normalised with a single mean and std.",
                         "pass dim=0 to mean() and std() so that each column gets its own.")
        if _same(standardised, readings - readings.mean(dim=0)):
            return _fail("01.2", standardised, "the columns have mean 0, but not std 1.",
                         "divide by readings.std(dim=0) as well.")
        if _same(standardised, readings / readings.std(dim=0)):
            return _fail("01.2", standardised, "the columns have std 1, but not mean 0.",
                         "subtract readings.mean(dim=0) first.")
    checks.check_tensor("01.2", standardised, sample, atol=1e-5,
                        hint="(x - x.mean(dim=0)) / x.std(dim=0): both (3,) rows broadcast over the (5, 3) table.",
                        success="each column now has mean 0 and std 1.")


def check_3(predicted: Any, logits: torch.Tensor) -> None:
    """Exercise 01.3: the predicted class of each row of ``logits`` (batch, classes)."""
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2:
        raise ValueError("check_3 needs the notebook's `logits`: a 2-D tensor. Re-run the cell that defines it.")
    expected = logits.argmax(dim=1)
    if not checks.is_placeholder(predicted):
        if _same(predicted, logits.argmax(dim=0)) and not _same(predicted, expected):
            return _fail("01.3", predicted, f"the shape is {tuple(predicted.shape)}: one entry per class, not per row.",
                         "argmax(dim=0) looks down each column (class); use dim=1 for one class per row.")
        if _same(predicted, logits.max(dim=1).values):
            return _fail("01.3", predicted, "these are the largest scores, not their positions.",
                         "max() gives the values; argmax(dim=1) gives the index of the largest value: the class.")
        if isinstance(predicted, torch.Tensor) and predicted.numel() == 1 and logits.shape[0] > 1:
            return _fail("01.3", predicted, "a single number for the whole batch.",
                         "without dim, argmax flattens the tensor: pass dim=1.")
    checks.check_tensor("01.3", predicted, expected, success="one predicted class per row.")


def check_4(features: Any, counts: torch.Tensor) -> None:
    """Exercise 01.4: ``counts`` as float32, ready for ``nn.Linear``."""
    if not isinstance(counts, torch.Tensor):
        raise ValueError("check_4 needs the notebook's `counts` tensor. Re-run the cell that defines it.")
    expected = counts.to(torch.float32)
    if isinstance(features, torch.Tensor) and features.dtype == torch.float64:
        return _fail("01.4", features, "the dtype is float64, but nn.Linear's weights are float32.",
                     ".double() gives float64, which clashes as well: use .float() (float32).")
    checks.check_tensor("01.4", features, expected, success="float32 values, nn.Linear accepts them.")
