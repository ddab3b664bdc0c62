"""Checks of notebook 14: right answers pass, typical mistakes get a hint naming them, `...` is not done."""

import math

import pytest
import torch

from course_utils.exercises import ex14


def _out(capsys) -> str:
    return capsys.readouterr().out


# --- 14.1: Adam's first step without bias correction, betas (0.8, 0.99)


@pytest.mark.parametrize("answer", [0.01 * 0.2 / math.sqrt(0.01), torch.tensor(0.02)])
def test_1_right(answer, capsys):
    ex14.check_1(answer)
    out = _out(capsys)
    assert "✅ Exercise 14.1 passed" in out and "sign(g)" in out and "random" not in out


@pytest.mark.parametrize(
    ("answer", "words"),
    [(0.01, "*with* bias correction"), (0.01 * 0.1 / math.sqrt(0.001), "default betas"), (0.002, "raw m₁"),
     (0.01 / math.sqrt(0.01), "corrects m but not v"), (0.2, "instead of √v₁"), (0.5, "the step is lr·m₁/√v₁")],
)
def test_1_mistakes(answer, words, capsys):
    ex14.check_1(answer)
    out = _out(capsys)
    assert "not right yet" in out and words in out


def test_1_placeholder(capsys):
    ex14.check_1(...)
    assert "not done yet" in _out(capsys)


# --- 14.2: Adagrad's 100th step


def test_2_right(capsys):
    ex14.check_2(0.01)
    assert "✅ Exercise 14.2 passed" in _out(capsys)


@pytest.mark.parametrize(
    ("answer", "words"),
    [(0.1, "very first step"), (0.02, "does not cancel"), (0.0005, "sum of squares, not"), (0.3, "over all 100")],
)
def test_2_mistakes(answer, words, capsys):
    ex14.check_2(answer)
    out = _out(capsys)
    assert "not right yet" in out and words in out


def test_2_placeholder(capsys):
    ex14.check_2(...)
    assert "not done yet" in _out(capsys)


# --- 14.3: clipping by the global norm


def _right(grads, max_norm):
    total = sum((g**2).sum() for g in grads) ** 0.5
    return [g * min(1.0, max_norm / (float(total) + 1e-6)) for g in grads]


COSINE = 7 / (5 * math.sqrt(2))


def test_3_right(capsys):
    ex14.check_3(_right, COSINE)
    assert "✅ Exercise 14.3 passed" in _out(capsys)
    ex14.check_3(_right, torch.tensor(0.98995))
    assert "✅ Exercise 14.3 passed" in _out(capsys)


@pytest.mark.parametrize(("cosine", "words"), [(1.0, "does change the direction"), (0.0, "orthogonal"),
                                               (0.5, "a·b / (|a|·|b|)")])
def test_3_wrong_cosine(cosine, words, capsys):
    ex14.check_3(_right, cosine)
    out = _out(capsys)
    assert "not right yet" in out and words in out


def test_3_cosine_not_done(capsys):
    ex14.check_3(_right, ...)
    assert "not done yet" in _out(capsys)
    ex14.check_3(_right)
    assert "not done yet" in _out(capsys)


def test_3_raising_function_is_reported(capsys):
    def broken(grads, max_norm):
        raise TypeError("oops")

    ex14.check_3(broken, COSINE)
    out = _out(capsys)
    assert "not right yet" in out and "TypeError" in out


@pytest.mark.parametrize(
    ("fn", "words"),
    [(lambda gs, c: [g * min(1.0, c / (g.norm().item() + 1e-6)) for g in gs], "its own norm"),
     (lambda gs, c: [g.clamp(-c, c) for g in gs], "clip_grad_value_"),
     (lambda gs, c: [g * c / (sum((h**2).sum() for h in gs) ** 0.5 + 1e-6) for g in gs], "already below"),
     (lambda gs, c: gs, "min(1, max_norm/total)")],
)
def test_3_mistakes(fn, words, capsys):
    ex14.check_3(fn, COSINE)
    out = _out(capsys)
    assert "not right yet" in out and words in out


def test_3_does_not_modify_the_callers_tensors(capsys):
    def in_place(grads, max_norm):
        for g in grads:
            g.mul_(0.0)
        return grads

    ex14.check_3(in_place, COSINE)
    assert "not right yet" in _out(capsys)
    ex14.check_3(_right, COSINE)  # the cases are rebuilt for each call
    assert "passed" in _out(capsys)


def test_3_not_done(capsys):
    def stub(grads, max_norm):
        raise NotImplementedError("Exercise 14.3: write this function")

    ex14.check_3(stub, ...)
    assert "not done yet" in _out(capsys)
    ex14.check_3(..., ...)
    assert "not done yet" in _out(capsys)


# --- 14.4: ReduceLROnPlateau


def test_4_reference_is_pytorch():
    assert ex14.plateau_lrs() == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025])


def test_4_right(capsys):
    ex14.check_4([0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025])
    assert "✅ Exercise 14.4 passed" in _out(capsys)


@pytest.mark.parametrize(
    ("answer", "words"),
    [([0.1] * 8, "best* loss so far"), ([0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125], "the cut comes on the third"),
     ([0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05], "after epoch 7"), ([0.1] * 7, "8 epochs"), ("0.1", "list of 8 numbers")],
)
def test_4_mistakes(answer, words, capsys):
    ex14.check_4(answer)
    out = _out(capsys)
    assert "not right yet" in out and words in out


def test_4_placeholder(capsys):
    ex14.check_4(...)
    assert "not done yet" in _out(capsys)


@pytest.mark.parametrize("check", [ex14.check_1, ex14.check_2, ex14.check_4])
def test_checks_return_none(check, capsys):
    assert check(...) is None and check(0.123) is None
