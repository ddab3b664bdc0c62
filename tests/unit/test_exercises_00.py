"""Checks of notebook 00: the right count passes, typical slips get a hint, `...` is not done, bad data is refused."""

import pytest
import torch

from course_utils.exercises import ex00

IMAGES = torch.zeros(1797, 1, 8, 8)


def _out(capsys) -> str:
    return capsys.readouterr().out


@pytest.mark.parametrize("answer", [115_008, 1797 * 64, torch.tensor(115_008), 115008.0])
def test_right_answer_passes(answer, capsys):
    ex00.check_1(answer, IMAGES)
    assert "✅ Exercise 00.1 passed" in _out(capsys)


@pytest.mark.parametrize(
    ("answer", "hint"),
    [(64, "all 1797 images"), (1797, "multiply by 64"), (1797 + 1 + 8 + 8, "product of the sizes"),
     (1797 * 16, "8 × 8 numbers"), (100, "N × C × H × W"), ("115008", "multiply the sizes")],
)
def test_typical_mistakes_are_named(answer, hint, capsys):
    ex00.check_1(answer, IMAGES)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


def test_placeholder_is_not_done_and_bad_data_is_refused(capsys):
    ex00.check_1(..., IMAGES)
    assert "not done yet" in _out(capsys)
    with pytest.raises(ValueError, match="digit images"):
        ex00.check_1(64, torch.zeros(8, 8))


def test_a_check_returns_none_so_the_notebook_shows_only_its_line(capsys):
    assert ex00.check_1(115_008, IMAGES) is None
    assert ex00.check_1(64, IMAGES) is None
