"""Exercise checks and learning-outcome bars.

Exercises are numbered ``"NN.M"`` (notebook, exercise). An exercise cell assigns
the learner's answer; the next cell calls a check, which prints one line:

* ``✅ Exercise 01.2 passed: ...`` when the answer is right,
* ``❌ Exercise 01.2 is not right yet: <what is wrong>`` plus a hint that points at
  the likely mistake (a transposed shape, a wrong dtype, an off-by-one...),
* ``⏳ Exercise 01.2 is not done yet: ...`` while the answer is still the
  placeholder ``...`` (or a function still raises ``NotImplementedError``).

Checks never raise for a wrong answer, so a learner sees a sentence, not a
traceback. Learning outcomes are different: ``expect_at_least`` and friends raise
``OutcomeNotReached`` so that a notebook that stops teaching what it claims fails
its test. Pure diagnosis (``diagnose_tensor``) is kept apart from printing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from course_utils import outcomes

PASSED, FAILED, NOT_DONE = "passed", "failed", "not done"
_ICONS = {PASSED: "✅", FAILED: "❌", NOT_DONE: "⏳"}


class OutcomeNotReached(AssertionError):
    """A notebook's learning outcome fell short of its bar."""


@dataclass(frozen=True)
class Result:
    """The outcome of one check."""

    exercise: str
    status: str
    message: str
    hint: str | None = None

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def text(self) -> str:
        icon = _ICONS[self.status]
        if self.status == PASSED:
            line = f"{icon} Exercise {self.exercise} passed: {self.message}"
        elif self.status == NOT_DONE:
            line = f"{icon} Exercise {self.exercise} is not done yet: {self.message}"
        else:
            line = f"{icon} Exercise {self.exercise} is not right yet: {self.message}"
        if self.hint and self.status == FAILED:
            line += f"\n   Hint: {self.hint}"
        return line


_results: dict[str, Result] = {}
_hints: dict[str, str] = {}

NOT_DONE_MESSAGE = "replace the `...` in the exercise cell above with your answer, run that cell, then this one."
NOT_WRITTEN_MESSAGE = "your function still raises NotImplementedError: write its body."


def is_placeholder(value: Any) -> bool:
    """True for the student edition's placeholders: ``...`` and ``None``."""
    return value is Ellipsis or value is None


def _validate_exercise_id(exercise: str) -> None:
    parts = exercise.split(".") if isinstance(exercise, str) else []
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"exercise ids look like '01.2' (notebook.number); got {exercise!r}.")


def report(result: Result) -> Result:
    """Remember a result for ``progress()`` and print its line."""
    _results[result.exercise] = result
    if result.hint:
        _hints[result.exercise] = result.hint
    print(result.text())
    return result


# These three return None, so that ``return checks.failed(...)`` as a check's last line shows only the
# printed sentence in the notebook, never a ``Result(...)`` repr.


def passed(exercise: str, message: str) -> None:
    """Report a passed exercise."""
    _validate_exercise_id(exercise)
    report(Result(exercise, PASSED, message))


def failed(exercise: str, problem: str, hint: str | None = None) -> None:
    """Report a wrong answer: what is wrong, and a hint at the likely mistake."""
    _validate_exercise_id(exercise)
    report(Result(exercise, FAILED, problem, hint))


def not_done(exercise: str, message: str = NOT_DONE_MESSAGE) -> None:
    """Report an exercise whose answer is still the placeholder."""
    _validate_exercise_id(exercise)
    report(Result(exercise, NOT_DONE, message))


def _finish(exercise: str, problem: str | None, success: str, hint: str | None) -> None:
    if problem is None:
        passed(exercise, success)
    else:
        failed(exercise, problem, hint)


_not_done = not_done


def verdict(exercise: str, found: tuple[str, str | None] | None, success: str) -> None:
    """The last line of a custom check: ``found`` is ``(problem, hint)`` of a mistake (failed), or None (passed)."""
    if found is None:
        passed(exercise, success)
    else:
        failed(exercise, *found)


def _is_number(value: Any) -> bool:
    value = as_number(value)
    return isinstance(value, int | float) and not isinstance(value, bool)


_KINDS: dict[str, Callable[[Any], bool]] = {
    "function": callable,
    "dict": lambda value: isinstance(value, dict),
    "number": _is_number,
    "tensor": lambda value: isinstance(value, torch.Tensor),
}
_KIND_HINTS = {"dict": "keep the dictionary of the exercise cell and fill in its values."}


def unanswered(exercise: str, *answers: Any, expect: str | None = None, keys: Sequence[str] = (),
               hint: str | None = None) -> bool:
    """Report an answer that cannot be checked yet, and say so (True) so the check can ``return``.

    "Not done yet" when any answer is still the placeholder (also inside a tuple or list); with
    ``expect`` ('function', 'dict', 'number' or 'tensor'), "failed" when the first answer is of
    another kind; with ``keys`` (a dict answer), "failed" for a missing key and "not done" while a
    value is still ``...``. Usage: ``if checks.unanswered(ex, fn, expect="function"): return``.
    """
    def open_(value: Any) -> bool:
        return is_placeholder(value) or (isinstance(value, tuple | list) and any(v is Ellipsis for v in value))

    if any(open_(answer) for answer in answers):
        not_done(exercise)
        return True
    answer = answers[0] if answers else None
    if expect is not None and not _KINDS[expect](answer):
        failed(exercise, f"expected a {expect}, got {type(answer).__name__}.",
               hint or _KIND_HINTS.get(expect))
        return True
    if keys:
        missing = [key for key in keys if key not in answer]
        if missing:
            failed(exercise, f"{missing[0]!r} is missing from your dict.",
                   f"keep the keys of the exercise cell: {', '.join(map(str, keys))}.")
            return True
        if any(is_placeholder(answer[key]) for key in keys):
            not_done(exercise, "some entries of your dict are still `...`.")
            return True
    return False


# --------------------------------------------------------------------------- pure diagnosis


def _shape(x: torch.Tensor) -> tuple[int, ...]:
    return tuple(x.shape)


def diagnose_shape(got: Sequence[int], expected: Sequence[int]) -> tuple[str, str | None] | None:
    """Explain a shape mismatch, or return None when the shapes agree.

    Returns ``(problem, hint)``.
    """
    got, expected = tuple(got), tuple(expected)
    if got == expected:
        return None
    problem = f"the shape is {got}, but it should be {expected}."
    if len(got) == len(expected) == 2 and got == expected[::-1]:
        return problem, "rows and columns are swapped: did you transpose, or mix up (batch, features)?"
    if len(got) == len(expected) and sorted(got) == sorted(expected):
        return problem, "the same sizes in another order: check the order of your dimensions (permute?)."
    squeeze = tuple(d for d in got if d != 1)
    if squeeze == tuple(d for d in expected if d != 1):
        return problem, "only size-1 dimensions differ: use unsqueeze/squeeze (or keepdim=True) to match."
    if math.prod(got) == math.prod(expected):
        return problem, "the number of elements is right: a reshape/view to the expected shape is missing."
    if len(got) == len(expected):
        off = [i for i, (g, e) in enumerate(zip(got, expected, strict=True)) if g != e]
        if len(off) == 1 and abs(got[off[0]] - expected[off[0]]) == 1:
            return problem, f"dimension {off[0]} is off by one: check where your range or slice starts and stops."
        if len(off) == 1:
            return problem, f"dimension {off[0]} differs: did you reduce or index along the wrong dim?"
    if len(got) < len(expected):
        return problem, "a dimension is missing: was it reduced away (sum/mean without keepdim) or indexed out?"
    return problem, "an extra dimension appeared: check for a missing reduction or an unwanted unsqueeze."


def diagnose_tensor(
    got: Any, expected: torch.Tensor, *, atol: float = 1e-6, rtol: float = 1e-5, check_dtype: bool = True
) -> tuple[str, str | None] | None:
    """Explain how ``got`` differs from ``expected``; None when they agree.

    Checks, in order: is it a tensor, its shape, its dtype, then its values.
    """
    if not isinstance(got, torch.Tensor):
        kind = type(got).__name__
        hint = "wrap the data with torch.tensor(...)" if isinstance(got, list | tuple) else None
        if hasattr(got, "__array__") and not isinstance(got, torch.Tensor):
            hint = "this is a NumPy array: convert it with torch.from_numpy(...) or torch.tensor(...)."
        return f"expected a torch.Tensor, got a {kind}.", hint
    shape_problem = diagnose_shape(_shape(got), _shape(expected))
    if shape_problem is not None:
        return shape_problem
    if check_dtype and got.dtype != expected.dtype:
        hint = f"convert with .to({expected.dtype}) or create it with dtype={expected.dtype}."
        if got.dtype.is_floating_point is False and expected.dtype.is_floating_point:
            hint = "integer tensors cannot hold fractions and nn layers need floats: use .float()."
        return f"the dtype is {got.dtype}, but it should be {expected.dtype}.", hint
    a = got.detach().to(torch.float64).cpu()
    b = expected.detach().to(torch.float64).cpu()
    if torch.allclose(a, b, atol=atol, rtol=rtol, equal_nan=True):
        return None
    mismatch = ~torch.isclose(a, b, atol=atol, rtol=rtol, equal_nan=True)  # right for ±inf entries too
    diff = torch.where(mismatch, (a - b).abs().nan_to_num(nan=math.inf), 0.0)
    wrong = int(mismatch.sum())
    worst = int(diff.argmax())
    index = tuple(int(i) for i in torch.unravel_index(torch.tensor(worst), a.shape)) if a.dim() else ()
    problem = (
        f"the shape and dtype are right, but {wrong} of {a.numel()} values differ "
        f"(largest gap at index {index}: got {a.flatten()[worst].item():.4g}, expected {b.flatten()[worst].item():.4g})."
    )
    hint = None
    if a.numel() > 1 and a.dim() >= 1:
        for shift in (1, -1):
            if torch.allclose(a.flatten().roll(shift), b.flatten(), atol=atol, rtol=rtol):
                hint = "your values are shifted by one position: an off-by-one in an index or range?"
    if hint is None and torch.allclose(a, -b, atol=atol, rtol=rtol):
        hint = "every value has the wrong sign."
    if hint is None and a.dim() == 2 and a.shape[0] == a.shape[1] and torch.allclose(a.T, b, atol=atol, rtol=rtol):
        hint = "your answer is the transpose of the expected one."
    if hint is None and torch.isnan(a).any():
        hint = "your answer contains NaN: look for 0/0, log(0) or an overflowing exp."
    return problem, hint


def as_number(value: Any) -> Any:
    """A one-element tensor or a NumPy scalar as a plain float; anything else unchanged."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value.item())
    if type(value).__module__ == "numpy" and hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        return float(value)
    return value


def close(got: Any, expected: Any, *, atol: float = 1e-5, rtol: float = 0.0) -> bool:
    """Tensor-aware "is this the same answer": same shape and values within ``atol + rtol·|expected|``.

    Never raises: a non-tensor, a shape mismatch or an uncomparable value is simply not close.
    Numbers compare as numbers; other values with ``==``.
    """
    try:
        if isinstance(expected, torch.Tensor) or isinstance(got, torch.Tensor):
            if not (isinstance(got, torch.Tensor) and isinstance(expected, torch.Tensor)):
                return False
            if got.shape != expected.shape:
                return False
            return bool(torch.allclose(got.detach().double().cpu(), expected.detach().double().cpu(),
                                       atol=atol, rtol=rtol, equal_nan=True))
        if isinstance(expected, int | float) and not isinstance(expected, bool):
            return isinstance(got, int | float) and not isinstance(got, bool) and math.isclose(
                got, expected, abs_tol=atol, rel_tol=rtol)
        return bool(got == expected)
    except Exception:
        return False


def first_mistake(answer: Any, mistakes: Sequence[tuple[Any, str, str | None]], *,
                  atol: float = 1e-5, rtol: float = 0.0) -> tuple[str, str | None] | None:
    """``(problem, hint)`` of the first typical mistake that ``answer`` reproduces, else None.

    Each mistake is ``(wrong, problem, hint)``: ``wrong`` is the value that mistake gives
    (compared with ``close``), or a predicate ``wrong(answer) -> bool``.
    """
    for wrong, problem, hint in mistakes:
        if callable(wrong) and not isinstance(wrong, torch.Tensor):
            try:
                hit = bool(wrong(answer))
            except Exception:
                hit = False
        else:
            hit = close(answer, wrong, atol=atol, rtol=rtol)
        if hit:
            return problem, hint
    return None


def _fresh(args: tuple) -> tuple:
    """Copies of the tensor arguments, so an in-place answer cannot change what the next call sees."""
    return tuple(a.clone() if isinstance(a, torch.Tensor) else a for a in args)


def match_mistake(fn: Callable, mistakes: Sequence[tuple[Callable, str]], cases: Sequence, *,
                  atol: float = 1e-5, rtol: float = 0.0) -> str | None:
    """The hint of the first typical mistake that reproduces all of ``fn``'s answers.

    ``mistakes`` pairs a wrong implementation with the hint that names it; ``cases`` are
    ``(args, expected)`` pairs as for ``check_function``; answers are compared with ``close``.
    """
    try:
        answers = [fn(*_fresh(args)) for args, _ in cases]
    except Exception:
        return None
    for wrong, hint in mistakes:
        try:
            wrong_answers = [wrong(*_fresh(args)) for args, _ in cases]
        except Exception:
            continue
        if all(close(a, w, atol=atol, rtol=rtol) for a, w in zip(answers, wrong_answers, strict=True)):
            return hint
    return None


# --------------------------------------------------------------------------- checks


def check_tensor(exercise: str, answer: Any, expected: torch.Tensor, *, atol: float = 1e-6, rtol: float = 1e-5,
                 check_dtype: bool = True, hint: str | None = None,
                 success: str = "shape, dtype and values match.") -> None:
    """Compare a tensor answer with the expected tensor (shape, then dtype, then values)."""
    if is_placeholder(answer):
        return _not_done(exercise)
    found = diagnose_tensor(answer, expected, atol=atol, rtol=rtol, check_dtype=check_dtype)
    if found is None:
        return _finish(exercise, None, success, None)
    problem, specific = found
    _finish(exercise, problem, success, specific or hint)


def check_value(exercise: str, answer: Any, expected: Any, *, tol: float = 0.0, hint: str | None = None,
                success: str | None = None) -> None:
    """Compare a plain value (number, string, tuple, ``torch.Size``...) with the expected one."""
    if is_placeholder(answer):
        return _not_done(exercise)
    success = success or f"{answer!r} is right."
    if isinstance(expected, torch.Size) or (isinstance(expected, tuple) and isinstance(answer, torch.Size)):
        answer_t, expected_t = tuple(answer) if isinstance(answer, Sequence) else answer, tuple(expected)
        found = diagnose_shape(answer_t, expected_t) if isinstance(answer_t, tuple) else (
            f"expected a shape like {expected_t}, got {answer!r}.", None)
        if found is None:
            return _finish(exercise, None, success, None)
        return _finish(exercise, found[0], success, found[1] or hint)
    if isinstance(answer, torch.Tensor) and answer.numel() == 1:
        answer = answer.item()
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        if not isinstance(answer, int | float) or isinstance(answer, bool):
            return _finish(exercise, f"expected a number, got {type(answer).__name__} {answer!r}.", success, hint)
        if math.isclose(answer, expected, abs_tol=tol, rel_tol=0.0) or answer == expected:
            return _finish(exercise, None, success, None)
        return _finish(exercise, f"{answer!r} is not the expected value.", success, hint)
    if answer == expected:
        return _finish(exercise, None, success, None)
    _finish(exercise, f"{answer!r} is not the expected answer.", success, hint)


def check_function(exercise: str, fn: Callable[..., Any], cases: Sequence[tuple[tuple, Any]], *, atol: float = 1e-6,
                   rtol: float = 1e-5, hint: str | None = None, success: str | None = None) -> None:
    """Call ``fn(*args)`` for each ``(args, expected)`` case and compare the results.

    A function that still raises ``NotImplementedError`` (or returns ``...``) is "not done".
    """
    if is_placeholder(fn):
        return _not_done(exercise)
    if not callable(fn):
        return _finish(exercise, f"expected a function, got {type(fn).__name__}.", "", hint)
    for number, (args, expected) in enumerate(cases, start=1):
        try:
            got = fn(*args)
        except NotImplementedError:
            return _not_done(exercise, NOT_WRITTEN_MESSAGE)
        except Exception as error:  # the learner's code: report it as a sentence
            return _finish(
                exercise, f"on test case {number} your function raised {type(error).__name__}: {error}", "", hint
            )
        if got is Ellipsis or (got is None and expected is not None):
            return _not_done(exercise, "your function returns nothing yet: finish it and `return` the result.")
        if isinstance(expected, torch.Tensor):
            found = diagnose_tensor(got, expected, atol=atol, rtol=rtol)
        elif isinstance(expected, float):
            ok = isinstance(got, int | float | torch.Tensor) and math.isclose(float(got), expected, abs_tol=atol)
            found = None if ok else (f"returned {got!r}, expected {expected!r}.", None)
        else:
            found = None if got == expected else (f"returned {got!r}, expected {expected!r}.", None)
        if found is not None:
            problem, specific = found
            return _finish(exercise, f"test case {number}: {problem}", "", specific or hint)
    _finish(exercise, None, success or f"all {len(cases)} test cases give the right result.", None)


def check_condition(exercise: str, answer: Any, condition: Callable[[Any], bool], *, success: str, failure: str,
                    hint: str | None = None) -> None:
    """General check: ``condition(answer)`` must be true."""
    if is_placeholder(answer):
        return _not_done(exercise)
    try:
        ok = bool(condition(answer))
    except Exception as error:
        ok, failure = False, f"{failure} (checking it raised {type(error).__name__}: {error})"
    _finish(exercise, None if ok else failure, success, hint)


# --------------------------------------------------------------------------- learning outcomes


def _outcome(name: str, value: float, ok: bool, relation: str, bar: float, advice: str) -> None:
    value = float(value.item() if isinstance(value, torch.Tensor) else value)
    outcomes.record(name, value, bar=bar, relation=relation)
    if not ok:
        raise OutcomeNotReached(f"{name} = {value:.4f}, but the bar is {relation} {bar}. {advice}")
    print(f"✅ {name} = {value:.4f} (bar: {relation} {bar})")


def expect_at_least(name: str, value: float, bar: float, advice: str = "") -> None:
    """Assert a learning outcome such as a test accuracy; prints it, records it, raises if below."""
    v = float(value)
    _outcome(name, v, v >= bar, "≥", bar, advice)


def expect_at_most(name: str, value: float, bar: float, advice: str = "") -> None:
    """Assert an outcome that should be small (a loss, an error, a distance)."""
    v = float(value)
    _outcome(name, v, v <= bar, "≤", bar, advice)


def expect_close(name: str, got: torch.Tensor, expected: torch.Tensor, atol: float = 1e-5) -> None:
    """Assert that a from-scratch result matches PyTorch's (max absolute difference ≤ atol)."""
    if got.shape != expected.shape:
        raise OutcomeNotReached(f"{name}: shapes differ, {tuple(got.shape)} vs {tuple(expected.shape)}.")
    gap = (got.detach().double() - expected.detach().double()).abs().max().item() if got.numel() else 0.0
    outcomes.record(name, gap, bar=atol, relation="≤")
    if not gap <= atol:
        raise OutcomeNotReached(f"{name}: max difference {gap:.3g} exceeds {atol:g}.")
    print(f"✅ {name}: max difference {gap:.1e} (bar: ≤ {atol:g})")


# --------------------------------------------------------------------------- learner helpers


def hint(exercise: str) -> None:
    """Show the last hint given for an exercise."""
    print(_hints.get(exercise, f"No hint recorded for exercise {exercise} yet: run its check cell first."))


def _has_notebooks(folder: Path) -> bool:
    return folder.is_dir() and any(folder.glob("[0-9][0-9]_*.ipynb"))


def _notebooks_dir() -> Path:
    """The folder of the course's notebooks: ``COURSE_NOTEBOOKS``, else the working folder (where a
    notebook runs), else its ``notebooks/`` subfolder, else the one beside an editable install."""
    import os

    candidates = [Path(os.environ["COURSE_NOTEBOOKS"])] if os.environ.get("COURSE_NOTEBOOKS") else []
    candidates += [Path.cwd(), Path.cwd() / "notebooks", Path(__file__).resolve().parents[1] / "notebooks"]
    for folder in candidates:
        if _has_notebooks(folder):
            return folder
    raise LookupError(
        "Cannot find the course's notebooks (files like 01_tensors.ipynb). Run this from the notebooks "
        "folder, or set the environment variable COURSE_NOTEBOOKS to that folder."
    )


def solution_source(exercise: str, notebooks_dir: Path | None = None) -> str:
    """The code of the solution cell of an exercise, read from the course's notebooks.

    Solution cells are tagged ``solution`` and start with the line ``# Exercise NN.M``.
    """
    _validate_exercise_id(exercise)
    folder = notebooks_dir or _notebooks_dir()
    number = exercise.split(".")[0]
    for path in sorted(folder.glob(f"{number}_*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for cell in cells:
            source = "".join(cell.get("source", ""))
            tags = cell.get("metadata", {}).get("tags", [])
            if "solution" in tags and source.splitlines()[:1] == [f"# Exercise {exercise}"]:
                return source
    raise LookupError(f"No solution cell for exercise {exercise} in {folder}.")


def solution(exercise: str) -> None:
    """Print the solution of an exercise (try it yourself first!)."""
    print(solution_source(exercise))


def exercises_in(notebook: Path) -> list[str]:
    """Exercise ids of a notebook, in order, from its solution cells."""
    ids = []
    for cell in json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]:
        first = "".join(cell.get("source", "")).splitlines()[:1]
        if "solution" in cell.get("metadata", {}).get("tags", []) and first and first[0].startswith("# Exercise "):
            ids.append(first[0].removeprefix("# Exercise ").strip())
    return ids


def progress(notebook_number: str | None = None) -> list[tuple[str, str]]:
    """Print and return the status of the exercises checked in this session.

    With ``notebook_number`` (e.g. ``"01"``), exercises of that notebook that were
    never checked are listed as "not checked yet".
    """
    rows: dict[str, str] = {ex: r.status for ex, r in _results.items()}
    if notebook_number is not None:
        rows = {ex: s for ex, s in rows.items() if ex.startswith(f"{notebook_number}.")}
        for path in sorted(_notebooks_dir().glob(f"{notebook_number}_*.ipynb")):
            for ex in exercises_in(path):
                rows.setdefault(ex, "not checked yet")
    ordered = sorted(rows.items(), key=lambda item: tuple(int(p) for p in item[0].split(".")))
    done = sum(status == PASSED for _, status in ordered)
    print(f"Exercises passed: {done} of {len(ordered)}")
    for ex, status in ordered:
        print(f"  {_ICONS.get(status, '·')} {ex}: {status}")
    return ordered
