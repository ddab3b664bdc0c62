"""The checks of notebook 09: right answers pass, typical mistakes get a hint that names them, `...` is not done."""

import pytest
import torch

from course_utils.exercises import ex09


def run(capsys, check, answer) -> str:
    check(answer)
    return capsys.readouterr().out


def not_implemented(*args):
    raise NotImplementedError


# --------------------------------------------------------------------------- 09.1

RIGHT_SHAPES = {"output": (5, 20, 24), "h_n": (6, 5, 12)}


@pytest.mark.parametrize("shapes", [RIGHT_SHAPES, {"output": torch.Size([5, 20, 24]), "h_n": [6, 5, 12]}])
def test_shapes_right(capsys, shapes):
    assert "✅ Exercise 09.1 passed" in run(capsys, ex09.check_1, shapes)


@pytest.mark.parametrize("key,wrong,words", [
    ("output", (5, 20, 12), "2 · hidden_size"),
    ("output", (20, 5, 24), "batch_first=True"),
    ("output", (5, 20, 72), "top layer only"),
    ("h_n", (5, 6, 12), "h_n ignores batch_first"),
    ("h_n", (3, 5, 24), "not concatenated"),
    ("h_n", (3, 5, 12), "backward directions are missing"),
    ("h_n", (2, 5, 12), "every layer"),
    ("h_n", (6, 5, 20, 12), "only the final state"),
    ("h_n", (1, 2, 3), "whatever batch_first says"),
    ("h_n", "6, 5, 12", "tuple of ints"),
])
def test_shape_mistakes_are_named(capsys, key, wrong, words):
    out = run(capsys, ex09.check_1, {**RIGHT_SHAPES, key: wrong})
    assert "not right yet" in out and words in out


def test_shapes_not_done_and_malformed(capsys):
    assert "not done yet" in run(capsys, ex09.check_1, ...)
    assert "not done yet" in run(capsys, ex09.check_1, {"output": ..., "h_n": (6, 5, 12)})
    out = run(capsys, ex09.check_1, {"output": (5, 20, 24)})
    assert "not right yet" in out and "'h_n' is missing" in out


# --------------------------------------------------------------------------- 09.2


def right_params(i, h, n=1, b=False):
    directions = 2 if b else 1
    return directions * sum(4 * (h * (i if k == 0 else directions * h) + h * h + 2 * h) for k in range(n))


def test_lstm_params_right(capsys):
    assert "✅ Exercise 09.2 passed" in run(capsys, ex09.check_2, right_params)


@pytest.mark.parametrize("fn,words", [
    (lambda i, h, n=1, b=False: right_params(i, h, n, b) - (1 + b) * n * 4 * h, "TWO bias vectors"),
    (lambda i, h, n=1, b=False: right_params(i, h, n, b) - (1 + b) * n * 8 * h, "left out the biases"),
    (lambda i, h, n=1, b=False: (1 + b) * n * right_params(i, h), "not the input"),
    (lambda i, h, n=1, b=False: (1 + b) * (right_params(i, h) + (n - 1) * right_params(h, h)), "2 · hidden_size"),
    (lambda i, h, n=1, b=False: right_params(i, h, n, b) // (1 + b) if n == 1 else
     right_params(i, h) + (n - 1) * right_params((1 + b) * h, h), "each direction has its own weights"),
    (lambda i, h, n=1, b=False: (1 + b) * right_params(i, h), "every layer has its own weights"),
    (lambda i, h, n=1, b=False: 3 * (h * i + h * h + 2 * h), "GRU"),
    (lambda i, h, n=1, b=False: h * i + h * h + 2 * h, "plain RNN"),
    (lambda i, h, n=1, b=False: 4 * (h * i + 2 * h), "recurrent weights are missing"),
    (lambda i, h, n=1, b=False: 4 * (i * i + h * h + 2 * h), "hidden_size × input_size"),
    (lambda i, h, n=1, b=False: 4 * (h * i + h * h + h), "TWO bias vectors"),  # one layer only, one bias
    (lambda i, h, n=1, b=False: 7, "named_parameters"),
])
def test_lstm_params_mistakes_are_named(capsys, fn, words):
    out = run(capsys, ex09.check_2, fn)
    assert "not right yet" in out and words in out


def test_lstm_params_not_done_and_old_signature(capsys):
    assert "not done yet" in run(capsys, ex09.check_2, not_implemented)
    assert "not done yet" in run(capsys, ex09.check_2, ...)
    out = run(capsys, ex09.check_2, lambda i, h: 4 * (h * i + h * h + 2 * h))  # num_layers, bidirectional missing
    assert "not right yet" in out and "TypeError" in out


# --------------------------------------------------------------------------- 09.3


def right_windows(series, window):
    n = len(series) - window
    return torch.stack([series[k:k + window] for k in range(n)]).unsqueeze(-1), series[window:].unsqueeze(-1)


def test_windows_right(capsys):
    assert "✅ Exercise 09.3 passed" in run(capsys, ex09.check_3, right_windows)


@pytest.mark.parametrize("fn,words", [
    (lambda s, w: (right_windows(s, w)[0], right_windows(s, w)[1].squeeze(-1)), "(N, N)"),
    (lambda s, w: (right_windows(s, w)[0].squeeze(-1), right_windows(s, w)[1]), "feature dimension"),
    (lambda s, w: (right_windows(s, w)[0][:-1], right_windows(s, w)[1][:-1]), "off by one"),
    (lambda s, w: (right_windows(s, w)[0], s[w - 1:-1].unsqueeze(-1)), "right AFTER its window"),
    (lambda s, w: right_windows(s, w)[0], "pair"),
    (lambda s, w: (right_windows(s, w)[0].double(), right_windows(s, w)[1]), "dtype"),
])
def test_windows_mistakes_are_named(capsys, fn, words):
    out = run(capsys, ex09.check_3, fn)
    assert "not right yet" in out and words in out


def test_windows_refuses_the_library_helper(capsys):
    from course_utils.data import sequences

    helper = sequences.sliding_windows
    out = run(capsys, ex09.check_3, lambda s, w: sequences.sliding_windows(s, w))
    assert "not right yet" in out and "sliding_windows" in out
    assert sequences.sliding_windows is helper              # restored after the check


def test_windows_errors_and_not_done(capsys):
    out = run(capsys, ex09.check_3, lambda s, w: s.reshape(-1, 5, 5))
    assert "not right yet" in out and "RuntimeError" in out
    assert "not done yet" in run(capsys, ex09.check_3, not_implemented)
    assert "not done yet" in run(capsys, ex09.check_3, ...)


# --------------------------------------------------------------------------- 09.4

LAST, FIRST, L1R = "packed output[:, -1, :12]", "packed output[:, 0, 12:]", "weight_hh_l1_reverse"
RIGHT_ROWS = {LAST: "none", FIRST: 5, L1R: 3}


def test_rows_come_from_the_real_layer():
    assert ex09.h_n_rows() == {LAST: None, FIRST: 5, L1R: 3}


@pytest.mark.parametrize("rows", [RIGHT_ROWS, {LAST: "None", FIRST: -1, L1R: torch.tensor(3)}])
def test_rows_right(capsys, rows):
    assert "✅ Exercise 09.4 passed" in run(capsys, ex09.check_4, rows)


@pytest.mark.parametrize("key,wrong,words", [
    (LAST, 4, "OWN last step"),
    (LAST, -2, "OWN last step"),                 # h_n[-2], copied from the unpacked case, is wrong here
    (LAST, 5, "forward direction"),
    (LAST, 2, "middle layer"),
    (LAST, 0, "2·layer + 1"),
    (FIRST, "none", "finishes at step 0"),
    (FIRST, 4, "forward direction"),
    (FIRST, 1, "first layer's backward"),
    (L1R, 4, "not all forward rows"),
    (L1R, 2, "forward direction"),
    (L1R, 1, "layer 0's backward"),
    (L1R, "none", "middle layer's"),
    (L1R, 6, "from 0 to 5"),
    (L1R, 2.5, "not a row"),
    (L1R, "three", "not a row"),
])
def test_row_mistakes_are_named(capsys, key, wrong, words):
    out = run(capsys, ex09.check_4, {**RIGHT_ROWS, key: wrong})
    assert "not right yet" in out and words in out


def test_rows_not_done(capsys):
    assert "not done yet" in run(capsys, ex09.check_4, ...)
    assert "not done yet" in run(capsys, ex09.check_4, {**RIGHT_ROWS, FIRST: ...})
