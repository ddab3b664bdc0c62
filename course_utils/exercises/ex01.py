"""Checks for notebook 01 (tensors)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from course_utils import checks


def _as_tensor(a: Any, b: torch.Tensor) -> bool:
    """``a`` has ``b``'s shape and values, in any dtype (the typical-mistake comparison)."""
    return isinstance(a, torch.Tensor) and checks.close(a.double(), b.double())


# The expressions of exercise 01.1: for each, does it give a view of `g`, a copy, or an error?
EXPRESSIONS_1: dict[str, tuple[str, Callable[[torch.Tensor], torch.Tensor]]] = {
    "a": ("g.view(4, 3)", lambda g: g.view(4, 3)),
    "b": ("g.T.view(12)", lambda g: g.T.view(12)),
    "c": ("g.T.reshape(12)", lambda g: g.T.reshape(12)),
    "d": ("g[:, 1:].view(9)", lambda g: g[:, 1:].view(9)),
    "e": ("g[1].view(2, 2)", lambda g: g[1].view(2, 2)),
    "f": ("g.T.contiguous().view(12)", lambda g: g.T.contiguous().view(12)),
}
_ANSWERS_1 = ("view", "copy", "error")


def _kind(g: torch.Tensor, expression: Callable[[torch.Tensor], torch.Tensor]) -> str:
    try:
        result = expression(g)
    except RuntimeError:
        return "error"
    return "view" if result.untyped_storage().data_ptr() == g.untyped_storage().data_ptr() else "copy"


def expected_kinds_1() -> dict[str, str]:
    """Run the six expressions on ``g = torch.arange(12).reshape(3, 4)``: "view", "copy" or "error" for each."""
    g = torch.arange(12).reshape(3, 4)
    return {key: _kind(g, expression) for key, (_, expression) in EXPRESSIONS_1.items()}


_WHY_1 = {
    "a": "g is contiguous, so any shape with 12 elements is a view.",
    "b": "g.T has strides (1, 4): one flat dimension would need a fixed step, so view refuses.",
    "c": "reshape falls back to a copy where view would refuse (as in b).",
    "d": "g[:, 1:] skips one element per row: no single step walks its 9 elements, so view refuses.",
    "e": "g[1] is one row, 4 neighbours in memory: view(2, 2) is a view.",
    "f": "contiguous() copies g.T into new memory in row order; the view is then of that copy.",
}


def check_1(predictions: Any) -> None:
    """Exercise 01.1: predict, for each expression, whether it gives a view of ``g``, a copy, or an error."""
    ex = "01.1"
    if checks.unanswered(ex, predictions):
        return
    expected = expected_kinds_1()
    if not isinstance(predictions, dict) or set(predictions) != set(expected):
        checks.failed(ex, f"expected a dict with the keys {sorted(expected)}, got {predictions!r}.",
                      'write predictions = {"a": "view", "b": ..., ...}, one entry per expression.')
        return
    bad = [k for k in sorted(expected) if predictions[k] not in _ANSWERS_1]
    if bad:
        checks.failed(ex, f"the prediction for {bad[0]} is {predictions[bad[0]]!r}.",
                      'each prediction is one of the strings "view", "copy" or "error".')
        return
    wrong = [k for k in sorted(expected) if predictions[k] != expected[k]]
    if wrong:
        k = wrong[0]
        checks.failed(ex, f"{len(wrong)} of 6 predictions are off; the first: {EXPRESSIONS_1[k][0]} gives "
                          f"a{'n' if expected[k] == 'error' else ''} {expected[k]}, not a"
                          f"{'n' if predictions[k] == 'error' else ''} {predictions[k]}.", _WHY_1[k])
        return
    checks.passed(ex, "all 6 right: view needs strides that fit, reshape copies when they do not.")


def check_2(standardised: Any, readings: torch.Tensor) -> None:
    """Exercise 01.2: every column of ``readings`` shifted to mean 0 and scaled to std 1."""
    ex = "01.2"
    if not isinstance(readings, torch.Tensor) or readings.dim() != 2 or not readings.dtype.is_floating_point:
        raise ValueError("check_2 needs the notebook's `readings`: a 2-D float tensor. Re-run the cell that defines it.")
    sample = (readings - readings.mean(dim=0)) / readings.std(dim=0)
    population = (readings - readings.mean(dim=0)) / readings.std(dim=0, correction=0)
    if checks.unanswered(ex, standardised):
        return
    if _as_tensor(standardised, population):
        return checks.check_tensor(ex, standardised, population,
                                   success="each column now has mean 0 and std 1 (population std).")
    by_row = (readings - readings.mean(dim=1, keepdim=True)) / readings.std(dim=1, keepdim=True)
    found = checks.first_mistake(standardised, [
        (lambda a: _as_tensor(a, by_row), "each row, not each column, has mean 0 and std 1.",
         "dim=1 reduces across a row; use dim=0 to get one mean and one std per column."),
        (lambda a: _as_tensor(a, (readings - readings.mean()) / readings.std()),
         "the whole table was normalised with a single mean and std.",
         "pass dim=0 to mean() and std() so that each column gets its own."),
        (lambda a: _as_tensor(a, readings - readings.mean(dim=0)), "the columns have mean 0, but not std 1.",
         "divide by readings.std(dim=0) as well."),
        (lambda a: _as_tensor(a, readings / readings.std(dim=0)), "the columns have std 1, but not mean 0.",
         "subtract readings.mean(dim=0) first."),
    ])
    if found:
        return checks.failed(ex, *found)
    checks.check_tensor(ex, standardised, sample, atol=1e-5,
                        hint="(x - x.mean(dim=0)) / x.std(dim=0): both (3,) rows broadcast over the (5, 3) table.",
                        success="each column now has mean 0 and std 1.")


def check_3(confident: Any, logits: torch.Tensor) -> None:
    """Exercise 01.3: the predicted classes of only the rows whose highest score is above 2.0, in row order."""
    ex = "01.3"
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2:
        raise ValueError("check_3 needs the notebook's `logits`: a 2-D tensor. Re-run the cell that defines it.")
    keep = logits.max(dim=1).values > 2.0
    expected = logits.argmax(dim=1)[keep]
    found = None if checks.is_placeholder(confident) else checks.first_mistake(confident, [
        (lambda a: _as_tensor(a, logits[logits > 2.0]), "these are the high scores themselves, not classes.",
         "logits[logits > 2.0] picks the scores above 2.0 (a 2-D mask gives a 1-D tensor of values); "
         "you want the argmax of the rows whose largest score passes 2.0."),
        (lambda a: _as_tensor(a, logits.argmax(dim=1)[logits.max(dim=1).values >= 2.0]),
         "one row too many: a row whose best score is exactly 2.0 is not above 2.0.", "use > rather than >=."),
        (lambda a: _as_tensor(a, logits.argmax(dim=1)), "these are the classes of every row.",
         "keep only the rows whose highest score (logits.max(dim=1).values) is above 2.0: a 1-D mask."),
        (lambda a: _as_tensor(a, keep.nonzero().flatten()), "these are the row numbers, not their classes.",
         "index the predicted classes, logits.argmax(dim=1), with the mask of confident rows."),
        (lambda a: _as_tensor(a, logits.max(dim=1).values[keep]), "these are the top scores, not their positions.",
         "argmax gives the class (the position of the largest score); max().values gives the score."),
    ])
    if found:
        return checks.failed(ex, *found)
    checks.check_tensor(ex, confident, expected, success=f"{expected.numel()} confident rows, classes {expected.tolist()}.")


# --------------------------------------------------------------------------- 01.4: predict, then check

# The tensors of exercise 01.4 (only their shapes matter) and the expressions whose shapes are predicted.
def _exercise_4_tensors() -> dict[str, torch.Tensor]:
    return {"images": torch.zeros(16, 3, 32, 32), "channel_mean": torch.tensor([0.5, 0.4, 0.3]),
            "x": torch.ones(2, 5), "scores": torch.zeros(4, 10), "labels": torch.tensor([3, 0, 9, 3])}


EXPRESSIONS_4: dict[str, tuple[str, Callable[[dict[str, torch.Tensor]], torch.Tensor]]] = {
    "a": ("images - channel_mean[:, None]", lambda t: t["images"] - t["channel_mean"][:, None]),
    "b": ("images.mean(dim=(2, 3))", lambda t: t["images"].mean(dim=(2, 3))),
    "c": ("images - images.mean(dim=(2, 3), keepdim=True)",
          lambda t: t["images"] - t["images"].mean(dim=(2, 3), keepdim=True)),
    "d": ("torch.cat([x, x], dim=1)", lambda t: torch.cat([t["x"], t["x"]], dim=1)),
    "e": ("torch.stack([x, x, x], dim=2)", lambda t: torch.stack([t["x"], t["x"], t["x"]], dim=2)),
    "f": ("scores[torch.arange(4)[:, None], labels]", lambda t: t["scores"][torch.arange(4)[:, None], t["labels"]]),
}

_HINTS_4 = {
    "a": "channel_mean[:, None] has shape (3, 1); aligned on the right it meets (32, 32), and 3 against 32 "
         "cannot broadcast, so it raises (None). Per-channel needs (3, 1, 1).",
    "b": "a mean over dims 2 and 3 removes both: one number per image and channel is left.",
    "c": "keepdim=True keeps dims 2 and 3 with size 1, and (16, 3, 1, 1) broadcasts against (16, 3, 32, 32).",
    "d": "cat joins along an EXISTING dimension: along dim=1 the columns add up, no dimension is added.",
    "e": "stack adds a NEW dimension at the position you give: three (2, 5) tensors side by side along dim=2.",
    "f": "index tensors are first broadcast against each other, like operands: (4, 1) and (4,) give (4, 4), "
         "so every row is paired with every label.",
}


def expected_shapes_4() -> dict[str, tuple[int, ...] | None]:
    """The true result shape of each expression of exercise 01.4 (None where it raises)."""
    tensors = _exercise_4_tensors()
    shapes: dict[str, tuple[int, ...] | None] = {}
    for key, (_, fn) in EXPRESSIONS_4.items():
        try:
            shapes[key] = tuple(fn(tensors).shape)
        except RuntimeError:
            shapes[key] = None
    return shapes


def _normalise_shape(value: Any) -> Any:
    if isinstance(value, torch.Size | list):
        return tuple(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,)
    return value


def check_4(predictions: Any) -> None:
    """Exercise 01.4: the predicted result shape of each expression (None for "raises an error")."""
    ex = "01.4"
    if checks.unanswered(ex, predictions):
        return
    if not isinstance(predictions, dict):
        checks.failed(ex, f"expected a dict such as {{'a': (2, 3), ...}}, got a {type(predictions).__name__}.",
                      "keep the dict of the exercise cell and replace each ... by a shape tuple or None.")
        return
    expected = expected_shapes_4()
    missing = [k for k in expected if k not in predictions or predictions[k] is Ellipsis]
    if len(missing) == len(expected):
        checks.not_done(ex)
        return
    if missing:
        checks.failed(ex, f"no prediction yet for {', '.join(missing)}.",
                      "write a shape tuple such as (2, 3), or None if you think the expression raises.")
        return
    wrong = [k for k in expected if _normalise_shape(predictions[k]) != expected[k]]
    if not wrong:
        checks.passed(ex, f"all {len(expected)} shapes predicted, including the one that raises.")
        return
    first = wrong[0]
    source = EXPRESSIONS_4[first][0]
    got = _normalise_shape(predictions[first])
    said = "an error" if got is None else repr(got)
    checks.failed(ex, f"{len(expected) - len(wrong)} of {len(expected)} right; for {first} ({source}) you "
                      f"predicted {said}.", _HINTS_4[first] + " Run the expression to see.")
