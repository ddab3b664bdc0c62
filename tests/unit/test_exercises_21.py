"""Checks of notebook 21: right answers pass, typical mistakes get a hint naming them, `...` is not done."""

import pytest
import torch

from course_utils.exercises import ex21


def _out(capsys) -> str:
    return capsys.readouterr().out


# --- 21.1: FLOPs of Conv2d(16, 32, 3, stride=2, padding=1) on 64 x 16 x 16 x 16


def test_1_right_and_matches_flop_counter(capsys):
    from torch.utils.flop_counter import FlopCounterMode

    layer, x = torch.nn.Conv2d(16, 32, 3, stride=2, padding=1), torch.zeros(64, 16, 16, 16)
    counter = FlopCounterMode(display=False)
    with counter:
        layer(x)
    ex21.check_1(counter.get_total_flops())
    assert "✅ Exercise 21.1 passed" in _out(capsys)


RIGHT_1 = 2 * 64 * 32 * 8 * 8 * 16 * 9


@pytest.mark.parametrize(
    ("answer", "words"),
    [(RIGHT_1 // 2, "MACs"), (RIGHT_1 * 4, "without the stride"), (2 * 64 * 32 * 7 * 7 * 16 * 9, "without padding"),
     (RIGHT_1 // 64, "one image"), (RIGHT_1 // 3, "k instead of k²"), (12345, "2·B·C_out"),
     ("many", "expected a number")],
)
def test_1_mistakes(answer, words, capsys):
    ex21.check_1(answer)
    out = _out(capsys)
    assert "not right yet" in out and words in out


def test_1_placeholder(capsys):
    ex21.check_1(...)
    assert "not done yet" in _out(capsys)


# --- 21.2: self times from a tree of totals


@pytest.mark.parametrize("answer", [(5, 4), (5.0, 4.0), [torch.tensor(5.0), 4]])
def test_2_right(answer, capsys):
    ex21.check_2(answer)
    assert "✅ Exercise 21.2 passed" in _out(capsys)


@pytest.mark.parametrize(
    ("answer", "words"),
    [((100, 40), "total time"), ((5, 40), "total time"), ((-31, 4), "grandchildren"), ((0, 0), "rarely free"),
     ((4, 5), "swapped"), ((7, 3), "direct children"), ((5,), "two numbers"), ("ab", "pair of numbers")],
)
def test_2_mistakes(answer, words, capsys):
    ex21.check_2(answer)
    out = _out(capsys)
    assert "not right yet" in out and words in out


def test_2_placeholder(capsys):
    ex21.check_2(...)
    assert "not done yet" in _out(capsys)


# --- 21.3: break-even calls of a compile, predicted


@pytest.mark.parametrize("answer", [4000, 4000.0, 12 / ((5 - 2) / 1000), torch.tensor(4000.0)])
def test_3_right(answer, capsys):
    ex21.check_3(answer)
    assert "✅ Exercise 21.3 passed" in _out(capsys)


@pytest.mark.parametrize(
    ("answer", "words"),
    [(4, "milliseconds"), (2400, "eager time"), (6000, "compiled time"), (3000, "not right"),
     ("lots", "expected a number")],
)
def test_3_mistakes(answer, words, capsys):
    ex21.check_3(answer)
    out = _out(capsys)
    assert "not right yet" in out and words in out


def test_3_not_done(capsys):
    ex21.check_3(...)
    assert "not done yet" in _out(capsys)


# --- 21.4: the smallest integer bfloat16 cannot represent


def _first_missing_integer(dtype):
    n = 1
    while float(torch.tensor(float(n)).to(dtype).float()) == n:
        n += 1
    return n


def test_4_right_and_matches_torch(capsys):
    assert _first_missing_integer(torch.bfloat16) == 257
    ex21.check_4(_first_missing_integer(torch.bfloat16))
    assert "✅ Exercise 21.4 passed" in _out(capsys)


@pytest.mark.parametrize(
    ("answer", "words"),
    [(129, "implicit leading 1"), (256, "power of two"), (_first_missing_integer(torch.float16), "float16"),
     (300, "not right")],
)
def test_4_mistakes(answer, words, capsys):
    ex21.check_4(answer)
    out = _out(capsys)
    assert "not right yet" in out and words in out


def test_4_placeholder(capsys):
    ex21.check_4(...)
    assert "not done yet" in _out(capsys)


# --- 21.5: workers load whole batches


@pytest.mark.parametrize("answer", [0.6, 3 / 5, torch.tensor(0.6)])
def test_5_right(answer, capsys):
    ex21.check_5(answer)
    assert "✅ Exercise 21.5 passed" in _out(capsys)


@pytest.mark.parametrize(("answer", "words"), [(0.5, "whole batch"), (0.4, "last one"), (0.75, "not right")])
def test_5_mistakes(answer, words, capsys):
    ex21.check_5(answer)
    out = _out(capsys)
    assert "not right yet" in out and words in out


def test_5_placeholder(capsys):
    ex21.check_5(...)
    assert "not done yet" in _out(capsys)
