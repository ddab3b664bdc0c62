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


def test_rnn_step_right(capsys):
    def step(x, h, W_ih, W_hh, b_ih, b_hh):
        return torch.tanh(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh)

    assert "✅ Exercise 09.1 passed" in run(capsys, ex09.check_1, step)


@pytest.mark.parametrize("step,words", [
    (lambda x, h, Wi, Wh, bi, bh: x @ Wi.T + bi + h @ Wh.T + bh, "forgot the tanh"),
    (lambda x, h, Wi, Wh, bi, bh: torch.tanh(x @ Wi.T + bi + bh), "previous state is missing"),
    (lambda x, h, Wi, Wh, bi, bh: torch.tanh(x @ Wi.T + h @ Wh.T), "biases are missing"),
    (lambda x, h, Wi, Wh, bi, bh: torch.tanh(x @ Wi.T + bi + h @ Wh.T), "b_hh is missing"),
    (lambda x, h, Wi, Wh, bi, bh: torch.sigmoid(x @ Wi.T + bi + h @ Wh.T + bh), "not the sigmoid"),
    (lambda x, h, Wi, Wh, bi, bh: torch.tanh(x @ Wi + bi + h @ Wh + bh), "transpose"),
])
def test_rnn_step_mistakes_are_named(capsys, step, words):
    out = run(capsys, ex09.check_1, step)
    assert "not right yet" in out and words in out


def test_rnn_step_not_done(capsys):
    assert "not done yet" in run(capsys, ex09.check_1, not_implemented)
    assert "not done yet" in run(capsys, ex09.check_1, ...)


# --------------------------------------------------------------------------- 09.2


def test_lstm_params_right(capsys):
    assert "✅ Exercise 09.2 passed" in run(capsys, ex09.check_2, lambda i, h: 4 * (h * i + h * h + 2 * h))


@pytest.mark.parametrize("fn,words", [
    (lambda i, h: 4 * (h * i + h * h + h), "TWO bias vectors"),
    (lambda i, h: 4 * (h * i + h * h), "left out the biases"),
    (lambda i, h: 3 * (h * i + h * h + 2 * h), "GRU"),
    (lambda i, h: h * i + h * h + 2 * h, "plain RNN"),
    (lambda i, h: 4 * (h * i + 2 * h), "recurrent weights are missing"),
    (lambda i, h: 4 * (i * i + h * h + 2 * h), "hidden_size × input_size"),
    (lambda i, h: 7, "nn.LSTM"),
])
def test_lstm_params_mistakes_are_named(capsys, fn, words):
    out = run(capsys, ex09.check_2, fn)
    assert "not right yet" in out and words in out


def test_lstm_params_not_done(capsys):
    assert "not done yet" in run(capsys, ex09.check_2, not_implemented)
    assert "not done yet" in run(capsys, ex09.check_2, ...)


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


def test_windows_errors_and_not_done(capsys):
    out = run(capsys, ex09.check_3, lambda s, w: s.reshape(-1, 5, 5))
    assert "not right yet" in out and "RuntimeError" in out
    assert "not done yet" in run(capsys, ex09.check_3, not_implemented)
    assert "not done yet" in run(capsys, ex09.check_3, ...)


# --------------------------------------------------------------------------- 09.4


def test_temperature_right(capsys):
    assert "✅ Exercise 09.4 passed" in run(capsys, ex09.check_4, lambda z, t: torch.softmax(z / t, dim=-1))


@pytest.mark.parametrize("fn,words", [
    (lambda z, t: torch.softmax(z * t, dim=-1), "multiplied"),
    (lambda z, t: torch.softmax(z / t, dim=0), "wrong dimension"),
    (lambda z, t: z / t, "apply the softmax"),
    (lambda z, t: torch.softmax(z, dim=-1) ** (1 / t), "renormalise"),
    (lambda z, t: torch.softmax(z, dim=-1), "softmax(logits / temperature"),
])
def test_temperature_mistakes_are_named(capsys, fn, words):
    out = run(capsys, ex09.check_4, fn)
    assert "not right yet" in out and words in out


def test_temperature_not_done(capsys):
    assert "not done yet" in run(capsys, ex09.check_4, not_implemented)
    assert "not done yet" in run(capsys, ex09.check_4, ...)
