"""Each check of notebook 10: the right answer passes, typical mistakes get a named hint, `...` is not done."""

import math

import pytest
import torch

from course_utils.exercises import ex10


def _out(capsys) -> str:
    return capsys.readouterr().out


# ----------------------------------------------------------------- 10.1 scale factor


def test_1_right_scale_passes(capsys):
    ex10.check_1(1 / math.sqrt(64))
    assert "✅ Exercise 10.1 passed" in _out(capsys)


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (1 / 64, "divided by d_k itself"),
        (8.0, "DIVIDED by it"),
        (1 / 16, "not in d_model = 256"),
        (1, "softmax saturates"),
        (0.3, "d_k = d_model / heads"),
        ("0.125", "d_k = d_model / heads"),
    ],
)
def test_1_mistakes_are_named(capsys, answer, hint):
    ex10.check_1(answer)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


def test_1_placeholder_is_not_done(capsys):
    ex10.check_1(...)
    assert "not done yet" in _out(capsys)


# ----------------------------------------------------------------- 10.2 shape of the weights


@pytest.mark.parametrize("answer", [(2, 4, 5, 7), torch.Size([2, 4, 5, 7]), [2, 4, 5, 7]])
def test_2_right_shape_passes(capsys, answer):
    ex10.check_2(answer)
    assert "✅ Exercise 10.2 passed" in _out(capsys)


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        ((2, 4, 7, 5), "one ROW per query"),
        ((2, 5, 7), "heads are missing"),
        ((2, 4, 5, 16), "per-head OUTPUT"),
        ((2, 5, 64), "after merging the heads"),
        ((2, 4, 5, 5), "7 keys, not 5"),
        ((1, 2, 3), "(batch, heads, number of queries, number of keys)"),
        ("2x4x5x7", "tuple of ints"),
    ],
)
def test_2_mistakes_are_named(capsys, answer, hint):
    ex10.check_2(answer)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


def test_2_placeholder_is_not_done(capsys):
    ex10.check_2(...)
    assert "not done yet" in _out(capsys)


# ----------------------------------------------------------------- 10.3 causal softmax


def _tril(scores):
    n = scores.shape[-1]
    return torch.ones(n, n, dtype=torch.bool).tril()


def right(scores):
    return torch.softmax(scores.masked_fill(~_tril(scores), float("-inf")), dim=-1)


def test_3_right_function_passes(capsys):
    ex10.check_3(right)
    assert "✅ Exercise 10.3 passed" in _out(capsys)


def test_3_a_triu_based_solution_also_passes(capsys):
    def with_triu(scores):
        n = scores.shape[-1]
        blocked = torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)
        return torch.softmax(scores.masked_fill(blocked, float("-inf")), dim=-1)

    ex10.check_3(with_triu)
    assert "✅ Exercise 10.3 passed" in _out(capsys)


def test_3_an_in_place_solution_passes(capsys):
    # the typical mistakes are looked for on a copy of the scores, so masked_fill_ is not taken for "no mask"
    def in_place(scores):
        scores.masked_fill_(~_tril(scores), float("-inf"))
        return torch.softmax(scores, dim=-1)

    ex10.check_3(in_place)
    assert "✅ Exercise 10.3 passed" in _out(capsys)


WRONG = {
    "future": (lambda s: torch.softmax(s.masked_fill(~_tril(s).T, float("-inf")), dim=-1), "sees the FUTURE"),
    "zero fill": (lambda s: torch.softmax(s.masked_fill(~_tril(s), 0.0), dim=-1), "exp(0)"),
    "multiply": (lambda s: torch.softmax(s * _tril(s), dim=-1), "exp(0)"),
    "wrong dim": (lambda s: torch.softmax(s.masked_fill(~_tril(s), float("-inf")), dim=-2), "dim=-1"),
    "mask after": (lambda s: torch.softmax(s, dim=-1) * _tril(s), "mask the scores, then"),
    "no diagonal": (lambda s: torch.softmax(s.masked_fill(~_tril(s).tril(-1), float("-inf")), dim=-1), "ITSELF"),
    "no mask": (lambda s: torch.softmax(s, dim=-1), "nothing was masked"),
}


@pytest.mark.parametrize("mistake", list(WRONG))
def test_3_mistakes_are_named(capsys, mistake):
    fn, hint = WRONG[mistake]
    ex10.check_3(fn)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


def test_3_unrecognised_and_crashing_functions(capsys):
    ex10.check_3(lambda s: torch.zeros_like(s))
    out = _out(capsys)
    assert "not right yet" in out and "fill the scores above the diagonal with -inf" in out

    def crashes(scores):
        raise IndexError("index 9 is out of bounds")

    ex10.check_3(crashes)
    out = _out(capsys)
    assert "not right yet" in out and "IndexError" in out


def test_3_placeholder_and_unwritten_function_are_not_done(capsys):
    ex10.check_3(...)
    assert "not done yet" in _out(capsys)

    def causal_softmax(scores):
        raise NotImplementedError

    ex10.check_3(causal_softmax)
    assert "not done yet" in _out(capsys)


# ----------------------------------------------------------------- 10.4 ViT tokens


def test_4_right_answer_passes(capsys):
    ex10.check_4(197, 768)
    assert "✅ Exercise 10.4 passed" in _out(capsys)


@pytest.mark.parametrize(
    ("tokens", "dim", "hint"),
    [
        (196, 768, "class token [CLS] is one more"),
        (14, 768, "along ONE side"),
        (15, 768, "14 x 14 grid"),
        (3137, 768, "16 x 16"),
        (200, 768, "(224 / 16)²"),
        (197, 256, "3 colour channels"),
        (197, 48, "two sides"),
        (197, 100, "times colour channels"),
    ],
)
def test_4_mistakes_are_named(capsys, tokens, dim, hint):
    ex10.check_4(tokens, dim)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


@pytest.mark.parametrize(("tokens", "dim"), [(..., ...), (197, ...), (..., 768)])
def test_4_placeholder_is_not_done(capsys, tokens, dim):
    ex10.check_4(tokens, dim)
    assert "not done yet" in _out(capsys)
