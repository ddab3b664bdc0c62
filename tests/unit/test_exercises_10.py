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


# ----------------------------------------------------------------- 10.4 parameters of one GPT block


class _Block(torch.nn.Module):
    """The notebook's GPTBlock, rebuilt: the check's count must be what PyTorch counts."""

    def __init__(self, d):
        super().__init__()
        self.norm1, self.norm2 = torch.nn.LayerNorm(d), torch.nn.LayerNorm(d)
        self.qkv, self.proj = torch.nn.Linear(d, 3 * d), torch.nn.Linear(d, d)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(d, 4 * d), torch.nn.GELU(), torch.nn.Linear(4 * d, d))


def test_4_the_formula_counts_what_pytorch_counts():
    for d in (8, 64):
        assert ex10.block_parameters(d) == sum(p.numel() for p in _Block(d).parameters())


@pytest.mark.parametrize("answer", [49_984, 49_984.0, torch.tensor(49_984)])
def test_4_right_answer_passes(capsys, answer):
    ex10.check_4(answer)
    assert "✅ Exercise 10.4 passed" in _out(capsys)


D = 64


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (12 * D * D, "weight matrices only"),
        (12 * D * D + 9 * D, "two LayerNorms are missing"),
        (12 * D * D + 11 * D, "weight AND a bias"),
        (12 * D * D + 4 * D, "biases of the four nn.Linear"),
        (11 * D * D + 12 * D, "output projection W_O"),
        (11 * D * D + 9 * D, "fourth matrix, the output projection"),
        (6 * D * D + 10 * D, "4 times as wide"),
        (8 * D * D + 12 * D, "two nn.Linear layers"),
        (24 * D * D + 25 * D, "does not depend on the number of heads"),
        (12345, "add up the two nn.Linear layers"),
    ],
)
def test_4_mistakes_are_named(capsys, answer, hint):
    ex10.check_4(answer)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


def test_4_placeholder_and_wrong_kind(capsys):
    ex10.check_4(...)
    assert "not done yet" in _out(capsys)
    ex10.check_4("49984")
    out = _out(capsys)
    assert "not right yet" in out and "expected a number" in out


# ----------------------------------------------------------------- 10.5 top-k filter


def right_top_k(logits, k):
    kth = logits.topk(k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))


def test_5_right_functions_pass(capsys):
    ex10.check_5(right_top_k)
    assert "✅ Exercise 10.5 passed" in _out(capsys)

    def with_scatter(logits, k):
        keep = torch.zeros_like(logits, dtype=torch.bool).scatter(-1, logits.topk(k, dim=-1).indices, True)
        return logits.masked_fill(~keep, float("-inf"))

    ex10.check_5(with_scatter)
    assert "✅ Exercise 10.5 passed" in _out(capsys)

    def in_place(logits, k):
        return logits.masked_fill_(logits < logits.topk(k, dim=-1).values[..., -1:], float("-inf"))

    ex10.check_5(in_place)
    assert "✅ Exercise 10.5 passed" in _out(capsys)


INF = float("-inf")
WRONG_TOP_K = {
    "k - 1": (lambda z, k: z.masked_fill(z <= z.topk(k, dim=-1).values[..., -1:], INF), "dropped the k-th largest"),
    "zero fill": (lambda z, k: z.masked_fill(z < z.topk(k, dim=-1).values[..., -1:], 0.0), "must become -inf"),
    "probabilities": (lambda z, k: torch.softmax(right_top_k(z, k), dim=-1), "not probabilities"),
    "smallest": (lambda z, k: z.masked_fill(z > z.topk(k, dim=-1, largest=False).values[..., -1:], INF), "SMALLEST"),
    "values only": (lambda z, k: z.topk(k, dim=-1).values, "shape of the logits"),
    "sorted": (lambda z, k: z.sort(dim=-1, descending=True).values.masked_fill(torch.arange(z.shape[-1]) >= k, INF),
               "do not sort"),
    "nothing": (lambda z, k: z * 0, "each row should keep"),
}


@pytest.mark.parametrize("mistake", list(WRONG_TOP_K))
def test_5_mistakes_are_named(capsys, mistake):
    fn, hint = WRONG_TOP_K[mistake]
    ex10.check_5(fn)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


def test_5_wrong_dimension_is_named_even_though_it_crashes_later(capsys):
    ex10.check_5(lambda z, k: z.masked_fill(z < z.topk(k, dim=0).values[-1:], INF))
    out = _out(capsys)
    assert "not right yet" in out and "LAST dimension" in out


def test_5_k_plus_one_is_named(capsys):
    ex10.check_5(lambda z, k: z.masked_fill(z < z.topk(min(k + 1, z.shape[-1]), dim=-1).values[..., -1:], INF))
    out = _out(capsys)
    assert "not right yet" in out and "k + 1 logits survive" in out


def test_5_crash_placeholder_and_unwritten(capsys):
    def crashes(logits, k):
        return logits[99]

    ex10.check_5(crashes)
    out = _out(capsys)
    assert "not right yet" in out and "IndexError" in out
    ex10.check_5(...)
    assert "not done yet" in _out(capsys)

    def top_k_filter(logits, k):
        raise NotImplementedError

    ex10.check_5(top_k_filter)
    assert "not done yet" in _out(capsys)
    ex10.check_5(3)
    out = _out(capsys)
    assert "not right yet" in out and "expected a function" in out
