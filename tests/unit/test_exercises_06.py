"""Checks of notebook 06: right answers pass, typical mistakes get a hint that names them, `...` is not done."""

from __future__ import annotations

import math

import pytest
import torch

from course_utils.exercises import ex06


def out(capsys) -> str:
    return capsys.readouterr().out


# ------------------------------------------------------------------ 06.1


def test_1_right(capsys):
    assert ex06.check_1(100, 40, False) is None  # a check prints; it returns nothing for the cell to show
    text = out(capsys)
    assert "✅ Exercise 06.1 passed" in text and "a different random set" in text


@pytest.mark.parametrize(
    "answer, hint",
    [((105, 40, False), "drop_last=True throws the partial last batch away"),
     ((104.1666, 40, False), "not a whole number"),
     ((20, 40, False), "multiply the batches per epoch"),
     ((99, 40, False), "iterations = (batches per epoch)"),
     (("many", 40, False), "iterations = (batches per epoch)"),
     ((100, 0, False), "some samples are left out of every epoch"),
     ((100, 8, False), "how many the last batch lacks"),
     ((100, 41, False), "left out = samples"),
     ((100, 40, True), "a different random set ends up in the partial batch"),
     ((100, 40, "no"), "should be True or False")],
)
def test_1_mistakes(capsys, answer, hint):
    ex06.check_1(*answer)
    text = out(capsys)
    assert "❌ Exercise 06.1 is not right yet" in text and hint in text


def test_1_not_done(capsys):
    ex06.check_1(..., ..., ...)
    assert "⏳ Exercise 06.1 is not done yet" in out(capsys)
    ex06.check_1(100, 40, ...)
    assert "⏳ Exercise 06.1 is not done yet" in out(capsys)



# ------------------------------------------------------------------ 06.2


def test_2_right(capsys):
    assert ex06.check_2(4, 4, 80) is None
    text = out(capsys)
    assert "✅ Exercise 06.2 passed" in text and "80 per epoch" in text


@pytest.mark.parametrize(
    "answer, hint",
    [((1, 4, 80), "it adds to it"),
     ((0.25, 4, 80), "backward() sums"),
     ((3, 4, 80), "is not right"),
     ((4, 16, 80), "mean reduction"),
     ((4, 64, 80), "rows of the full batch"),
     ((4, 2, 80), "divide by the factor"),
     ((4, 4, 320), "nothing accumulates"),
     ((4, 4, 4), "one zero_grad() per optimizer step"),
     (("four", 4, 80), "should be a number"),
     ((4, True, 80), "should be a number")],
)
def test_2_mistakes(capsys, answer, hint):
    ex06.check_2(*answer)
    text = out(capsys)
    assert "❌ Exercise 06.2 is not right yet" in text and hint in text


def test_2_not_done(capsys):
    ex06.check_2(..., ..., ...)
    ex06.check_2(4, ..., 80)
    text = out(capsys)
    assert text.count("⏳ Exercise 06.2 is not done yet") == 2


def test_checks_leave_the_global_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    ex06.check_2(4, 4, 80)
    ex06.check_4(6.4, 1.25, True)
    ex06.check_5(0.75)
    assert torch.equal(torch.rand(3), expected)


# ------------------------------------------------------------------ 06.3


def test_3_right(capsys):
    def standardise(train, test):
        mean, std = train.mean(0), train.std(0)
        return (train - mean) / std, (test - mean) / std

    def standardise_population_std(train, test):
        mean, std = train.mean(0), train.std(0, unbiased=False)
        return (train - mean) / std, (test - mean) / std

    ex06.check_3(standardise)
    ex06.check_3(standardise_population_std)
    assert out(capsys).count("✅ Exercise 06.3 passed") == 2


def test_3_leakage_and_other_mistakes(capsys):
    def own_stats(train, test):
        return (train - train.mean(0)) / train.std(0), (test - test.mean(0)) / test.std(0)

    def all_rows(train, test):
        both = torch.cat([train, test])
        return (train - both.mean(0)) / both.std(0), (test - both.mean(0)) / both.std(0)

    def centred_only(train, test):
        return train - train.mean(0), test - train.mean(0)

    def one_number(train, test):
        return (train - train.mean()) / train.std(), (test - train.mean()) / train.std()

    def single(train, test):
        return (train - train.mean(0)) / train.std(0)

    expectations = [(own_stats, "their own mean and std"), (all_rows, "that is leakage"),
                    (centred_only, "divide by the std"), (one_number, "each column on its own"),
                    (single, "expected a pair")]
    for fn, hint in expectations:
        ex06.check_3(fn)
        text = out(capsys)
        assert "❌ Exercise 06.3 is not right yet" in text and hint in text, fn.__name__


def test_3_not_done(capsys):
    ex06.check_3(...)

    def todo(train, test):
        raise NotImplementedError

    ex06.check_3(todo)
    assert out(capsys).count("⏳ Exercise 06.3 is not done yet") == 2


# ------------------------------------------------------------------ 06.4


def test_4_right(capsys):
    ex06.check_4(6.4, 1.25, True)
    text = out(capsys)
    assert "✅ Exercise 06.4 passed" in text and "multiplied by 1.25" in text


@pytest.mark.parametrize(
    "answer, hint",
    [((0.2, 1.25, True), "the share of units"),
     ((25.6, 1.25, True), "how many are KEPT"),
     ((6, 1.25, True), "on average p"),
     ((6.4, 1, True), "inverted dropout"),
     ((6.4, 0.8, True), "scaled UP"),
     ((6.4, 2, True), "which factor keeps its average"),
     ((6.4, 1.25, False), "that is what the scale is for"),
     ((6.4, 1.25, "yes"), "should be True or False"),
     (("6.4", 1.25, True), "should be a number")],
)
def test_4_mistakes(capsys, answer, hint):
    ex06.check_4(*answer)
    text = out(capsys)
    assert "❌ Exercise 06.4 is not right yet" in text and hint in text


def test_4_not_done(capsys):
    ex06.check_4(..., ..., ...)
    ex06.check_4(6.4, ..., True)
    assert out(capsys).count("⏳ Exercise 06.4 is not done yet") == 2


# ------------------------------------------------------------------ 06.5


@pytest.mark.parametrize("lr", [0.75, 0.752])
def test_5_right(capsys, lr):
    ex06.check_5(lr)
    text = out(capsys)
    assert "✅ Exercise 06.5 passed" in text and "converged" in text and "diverged" in text


@pytest.mark.parametrize(
    "lr, hint",
    [(0.5, "WITHOUT momentum"), (0.25, "starts to bounce"), (1.0, "1/(1 − μ)"), (0.6, "not the largest"),
     (0.9, "too large"), (-0.1, "positive number"), ("0.75", "should be a number")],
)
def test_5_mistakes(capsys, lr, hint):
    ex06.check_5(lr)
    text = out(capsys)
    assert "❌ Exercise 06.5 is not right yet" in text and hint in text


def test_5_not_done(capsys):
    ex06.check_5(...)
    assert "⏳ Exercise 06.5 is not done yet" in out(capsys)


def test_ids_and_math():
    assert math.ceil(60_000 / 64) == 938
