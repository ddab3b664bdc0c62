"""Checks of notebook 01: right answers pass, typical mistakes get a hint naming them, `...` is not done."""

import pytest
import torch

from course_utils.exercises import ex01


def _out(capsys) -> str:
    return capsys.readouterr().out


# --- 01.1: view, copy or error

RIGHT_1 = {"a": "view", "b": "error", "c": "copy", "d": "error", "e": "view", "f": "copy"}


def test_1_expected_kinds_come_from_running_the_expressions():
    assert ex01.expected_kinds_1() == RIGHT_1


def test_1_right(capsys):
    ex01.check_1(dict(RIGHT_1))
    assert "✅ Exercise 01.1 passed" in _out(capsys)


@pytest.mark.parametrize(
    ("change", "hint"),
    [({"b": "view"}, "strides (1, 4)"), ({"c": "view"}, "falls back to a copy"), ({"d": "copy"}, "skips one"),
     ({"f": "view"}, "new memory"), ({"a": "copy"}, "contiguous"), ({"e": "maybe"}, '"view", "copy" or "error"')],
)
def test_1_mistakes(change, hint, capsys):
    ex01.check_1({**RIGHT_1, **change})
    out = _out(capsys)
    assert "not right yet" in out and hint in out


def test_1_placeholder_and_wrong_type(capsys):
    ex01.check_1(...)
    assert "not done yet" in _out(capsys)
    ex01.check_1(["view"] * 6)
    assert "dict" in _out(capsys)


# --- 01.2: per-column standardisation

READINGS = torch.tensor([[20.0, 1000.0, 0.5], [22.0, 1010.0, 0.7], [19.0, 990.0, 0.2],
                         [25.0, 1020.0, 0.9], [24.0, 1005.0, 0.4]])


@pytest.mark.parametrize(
    "answer",
    [(READINGS - READINGS.mean(dim=0)) / READINGS.std(dim=0),
     (READINGS - READINGS.mean(dim=0, keepdim=True)) / READINGS.std(dim=0, keepdim=True),
     (READINGS - READINGS.mean(dim=0)) / READINGS.std(dim=0, correction=0)],
)
def test_2_right(answer, capsys):
    ex01.check_2(answer, READINGS)
    assert "✅ Exercise 01.2 passed" in _out(capsys)


@pytest.mark.parametrize(
    ("answer", "hint"),
    [((READINGS - READINGS.mean(dim=1, keepdim=True)) / READINGS.std(dim=1, keepdim=True), "use dim=0"),
     ((READINGS - READINGS.mean()) / READINGS.std(), "each column gets its own"),
     (READINGS - READINGS.mean(dim=0), "divide by readings.std(dim=0)"),
     (READINGS / READINGS.std(dim=0), "subtract readings.mean(dim=0)"),
     (READINGS.T, "rows and columns are swapped"),
     (torch.zeros(5, 3), "broadcast")],
)
def test_2_mistakes(answer, hint, capsys):
    ex01.check_2(answer, READINGS)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


def test_2_placeholder_and_bad_data(capsys):
    ex01.check_2(..., READINGS)
    assert "not done yet" in _out(capsys)
    with pytest.raises(ValueError, match="readings"):
        ex01.check_2(READINGS, torch.arange(3))


# --- 01.3: argmax along the right dim

LOGITS = torch.tensor([[0.1, 2.0, -1.0, 0.3, 0.0, 0.5, 1.1, -0.2, 0.4, 0.9],
                       [1.5, 0.2, 0.3, -0.7, 2.2, 0.1, 0.0, 0.8, -1.0, 0.6],
                       [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 3.0],
                       [2.5, -0.3, 0.7, 0.2, 0.1, -1.2, 0.9, 0.4, 1.1, 0.0],
                       [-0.5, 0.3, 0.1, 1.9, 0.6, 0.2, -0.4, 0.8, 0.5, 1.0],
                       [0.2, 0.4, 0.6, 0.1, -0.3, 0.0, 2.7, 0.9, 1.3, -0.1]])


CONFIDENT = LOGITS.argmax(dim=1)[LOGITS.max(dim=1).values > 2.0]


def test_3_right(capsys):
    assert CONFIDENT.tolist() == [4, 9, 0, 6]
    ex01.check_3(CONFIDENT, LOGITS)
    assert "✅ Exercise 01.3 passed" in _out(capsys)


@pytest.mark.parametrize(
    ("answer", "hint"),
    [(LOGITS[LOGITS > 2.0], "2-D mask"), (LOGITS.argmax(dim=1)[LOGITS.max(dim=1).values >= 2.0], "use >"),
     (LOGITS.argmax(dim=1), "1-D mask"), (torch.tensor([1, 2, 3, 5]), "row numbers"),
     (CONFIDENT.float(), "torch.int64")],
)
def test_3_mistakes(answer, hint, capsys):
    ex01.check_3(answer, LOGITS)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


def test_3_placeholder_and_bad_data(capsys):
    ex01.check_3(..., LOGITS)
    assert "not done yet" in _out(capsys)
    with pytest.raises(ValueError, match="logits"):
        ex01.check_3(torch.tensor([1]), torch.zeros(3))


# --- 01.4: predict the shapes, then check

RIGHT_4 = {"a": None, "b": (16, 3), "c": (16, 3, 32, 32), "d": (2, 10), "e": (2, 5, 3), "f": (4, 4)}


def test_4_expected_shapes_come_from_running_the_expressions():
    assert ex01.expected_shapes_4() == RIGHT_4


@pytest.mark.parametrize("answer", [RIGHT_4, {**RIGHT_4, "b": [16, 3], "d": [2, 10]}, {**RIGHT_4, "e": torch.Size([2, 5, 3])}])
def test_4_right(answer, capsys):
    ex01.check_4(answer)
    assert "✅ Exercise 01.4 passed" in _out(capsys)


@pytest.mark.parametrize(
    ("change", "hint"),
    [({"a": (16, 3, 32, 32)}, "(3, 1, 1)"), ({"b": (16, 3, 1, 1)}, "removes both"), ({"c": None}, "keepdim=True"),
     ({"d": (2, 2, 5)}, "EXISTING dimension"), ({"e": (3, 2, 5)}, "NEW dimension"), ({"f": (4,)}, "broadcast against each other"),
     ({"d": ...}, "no prediction yet for d")],
)
def test_4_mistakes(change, hint, capsys):
    ex01.check_4({**RIGHT_4, **change})
    out = _out(capsys)
    assert "not right yet" in out and hint in out


def test_4_placeholder_and_wrong_type(capsys):
    ex01.check_4(...)
    assert "not done yet" in _out(capsys)
    ex01.check_4(dict.fromkeys(RIGHT_4, ...))
    assert "not done yet" in _out(capsys)
    ex01.check_4([(4, 3)])
    assert "expected a dict" in _out(capsys)
