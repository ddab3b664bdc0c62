"""Checks of notebook 22: right answers pass, typical mistakes get a hint naming them, `...` is not done."""

import pytest
import torch

from course_utils.exercises import ex22


def _out(capsys) -> str:
    return capsys.readouterr().out


def test_1_right(capsys):
    ex22.check_1(3, torch.tensor(2))
    assert "✅ Exercise 22.1 passed" in _out(capsys)


@pytest.mark.parametrize(
    ("answers", "words"),
    [((2, 0), "drop_last=True"), ((2.5, 2), "whole samples"), ((10, 2), "size of the data set"),
     ((4, 2), "⌈10/4⌉"), ((3, 0), "repeats indices"), ((3, 12), "not the number repeated"), ((3, 1), "4 × 3 − 10")],
)
def test_1_mistakes(answers, words, capsys):
    ex22.check_1(*answers)
    out = _out(capsys)
    assert "not right yet" in out and words in out


def test_1_placeholder(capsys):
    ex22.check_1(..., 2)
    assert "not done yet" in _out(capsys)


def test_2_right(capsys):
    ex22.check_2(1 / 6, torch.tensor(0.1))
    assert "✅ Exercise 22.2 passed" in _out(capsys)


@pytest.mark.parametrize(
    ("answers", "words"),
    [((1 / 8, 1 / 8), "full-batch mean"), ((1 / 3, 1 / 5), "inside each rank's own mean"),
     ((1 / 10, 1 / 6), "swapped"), ((0.5, 0.5), "1/(samples on the rank)")],
)
def test_2_mistakes(answers, words, capsys):
    ex22.check_2(*answers)
    out = _out(capsys)
    assert "not right yet" in out and words in out


def test_2_placeholder(capsys):
    ex22.check_2(1 / 6, ...)
    assert "not done yet" in _out(capsys)


def test_1_prints_the_real_shards(capsys):
    ex22.check_1(3, 2)
    assert "rank 2 [2, 6, 0]" in _out(capsys)


def test_3_right(capsys):
    ex22.check_3(3)
    out = _out(capsys)
    assert "✅ Exercise 22.3 passed" in out and "N = 3" in out
    assert ex22.first_n_below() == 3


@pytest.mark.parametrize(
    ("answer", "words"),
    [(2, "40 ms"), (1, "sends nothing"), (float("inf"), "not constant"), (1252, "latencies matter"), (5, "first N"),
     (torch.tensor(2), "40 ms")],
)
def test_3_mistakes(answer, words, capsys):
    ex22.check_3(answer)
    out = _out(capsys)
    assert "not right yet" in out and words in out


def test_3_placeholder(capsys):
    ex22.check_3(...)
    assert "not done yet" in _out(capsys)


def test_first_n_below_bad_threshold():
    with pytest.raises(ValueError, match="stays at or above"):
        ex22.first_n_below(threshold=0.0, limit=10)
