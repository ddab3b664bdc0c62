"""Checks for notebook 09 (RNN)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from course_utils import checks

# --------------------------------------------------------------------------- 09.1 one RNN step


def _rnn_case(seed: int, batch: int, n_in: int, hidden: int) -> tuple[tuple, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, n_in, generator=g)
    h = torch.randn(batch, hidden, generator=g).tanh()
    W_ih, W_hh = torch.randn(hidden, n_in, generator=g), torch.randn(hidden, hidden, generator=g) * 0.5
    b_ih, b_hh = torch.randn(hidden, generator=g), torch.randn(hidden, generator=g)
    expected = torch.tanh(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh)
    return (x, h, W_ih, W_hh, b_ih, b_hh), expected


def _rnn_step_hint(fn: Any, args: tuple) -> str | None:
    """Name the typical mistake behind a wrong ``rnn_step`` from its answer on ``args``, if we recognise it."""
    x, h, W_ih, W_hh, b_ih, b_hh = args
    try:
        got = fn(*(a.clone() for a in args))
    except Exception as error:  # check_function reports it; a shape error gets its own hint
        if "shape" in str(error) or "size" in str(error) or "mat1" in str(error):
            return ("a shape error: the weights are stored as (out, in), so multiply by their transpose: "
                    "x_t @ W_ih.T and h_prev @ W_hh.T.")
        return None
    pre = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    found = checks.first_mistake(got, [
        (pre, None, "you forgot the tanh: h_t = tanh(...)."),
        (torch.tanh(x @ W_ih.T + b_ih + b_hh), None, "the previous state is missing: add h_prev @ W_hh.T."),
        (torch.tanh(x @ W_ih.T + h @ W_hh.T), None, "the biases are missing: add b_ih and b_hh."),
        (torch.tanh(x @ W_ih.T + b_ih + h @ W_hh.T), None, "b_hh is missing: PyTorch adds both biases."),
        (torch.sigmoid(pre), None, "an RNN cell uses tanh here, not the sigmoid."),
    ], atol=1e-5)
    return None if found is None else found[1]


def check_1(rnn_step: Any) -> None:
    """Exercise 09.1: h_t = tanh(x_t W_ih^T + b_ih + h_prev W_hh^T + b_hh)."""
    cases = [_rnn_case(0, 4, 3, 5), _rnn_case(1, 2, 6, 6)]
    hint = _rnn_step_hint(rnn_step, cases[0][0])
    checks.check_function("09.1", rnn_step, cases, atol=1e-5,
                          hint=hint or "compare with the formula term by term: x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh.",
                          success="your step matches the formula (and nn.RNN's cell).")


# --------------------------------------------------------------------------- 09.2 LSTM parameters

_LSTM_CASES = [((3, 5), 200), ((10, 20), 2_560), ((1, 1), 16), ((64, 128), 99_328)]
_LSTM_MISTAKES: list[tuple[Callable[[int, int], int], str]] = [
    (lambda i, h: 4 * (h * i + h * h + h), "PyTorch keeps TWO bias vectors per gate block (b_ih and b_hh)."),
    (lambda i, h: 4 * (h * i + h * h), "you left out the biases: 2 · hidden_size per gate block."),
    (lambda i, h: 3 * (h * i + h * h + 2 * h), "3 blocks is a GRU; an LSTM has four (input, forget, cell, output)."),
    (lambda i, h: h * i + h * h + 2 * h, "that is a plain RNN; an LSTM has four blocks of weights (i, f, g, o)."),
    (lambda i, h: 4 * (h * i + 2 * h), "the recurrent weights are missing: hidden_size × hidden_size per block."),
    (lambda i, h: 4 * (i * i + h * h + 2 * h), "W_ih maps input_size to hidden_size: it is hidden_size × input_size."),
]


def check_2(lstm_params: Any) -> None:
    """Exercise 09.2: 4 * (H*I + H*H + 2H)."""
    hint = checks.match_mistake(lstm_params, _LSTM_MISTAKES, _LSTM_CASES)
    checks.check_function("09.2", lstm_params, _LSTM_CASES,
                          hint=hint or "compare with sum(p.numel() for p in nn.LSTM(i, h).parameters()).",
                          success="your count matches nn.LSTM in all test cases.")


# --------------------------------------------------------------------------- 09.3 windows


def _expected_windows(series: torch.Tensor, window: int) -> tuple[torch.Tensor, torch.Tensor]:
    spans = series.unfold(0, window + 1, 1)
    return spans[:, :window].unsqueeze(-1), spans[:, window:]


def check_3(make_windows: Any) -> None:
    """Exercise 09.3: X (N, window, 1) and y (N, 1)."""
    exercise = "09.3"
    if checks.unanswered(exercise, make_windows):
        return
    series = torch.arange(10, dtype=torch.float32) * 0.5
    window = 3
    X_exp, y_exp = _expected_windows(series, window)
    try:
        result = make_windows(series.clone(), window)
    except NotImplementedError:
        checks.not_done(exercise, checks.NOT_WRITTEN_MESSAGE)
        return
    except Exception as error:
        checks.failed(exercise, f"make_windows raised {type(error).__name__}: {error}", "return a pair (X, y).")
        return
    if not isinstance(result, tuple | list) or len(result) != 2:
        checks.failed(exercise, f"make_windows should return a pair (X, y); got {type(result).__name__}.",
                      "end with `return X, y`.")
        return
    X, y = result
    n = len(y_exp)
    hint = None
    if isinstance(y, torch.Tensor) and tuple(y.shape) == (n,):
        hint = ("y has shape (N,), but the model outputs (N, 1): MSELoss would broadcast them to (N, N). "
                "Use y.unsqueeze(-1).")
    elif isinstance(X, torch.Tensor) and tuple(X.shape) == (n, window):
        hint = "X needs a feature dimension for the RNN: (N, window, 1), e.g. X.unsqueeze(-1)."
    elif isinstance(X, torch.Tensor) and X.dim() == 3 and X.shape[0] in (n - 1, n + 1):
        hint = (f"off by one: a series of {len(series)} values gives {n} windows of {window} "
                "(the last window must leave one value for its target).")
    elif checks.close(y, y_exp - 0.5, atol=1e-8, rtol=1e-5):  # torch.allclose's default tolerances
        hint = "each target must be the value right AFTER its window: series[k + window], not series[k + window - 1]."
    x_problem = checks.diagnose_tensor(X, X_exp)
    y_problem = checks.diagnose_tensor(y, y_exp)
    if x_problem is None and y_problem is None:
        checks.passed(exercise, f"X {tuple(X_exp.shape)} and y {tuple(y_exp.shape)}, with the right values.")
        return
    problem, specific = (f"X: {x_problem[0]}", x_problem[1]) if x_problem is not None else (f"y: {y_problem[0]}", y_problem[1])
    checks.failed(exercise, problem, hint or specific)


# --------------------------------------------------------------------------- 09.4 temperature


def _temperature_cases() -> list[tuple[tuple, torch.Tensor]]:
    g = torch.Generator().manual_seed(9)
    logits = torch.randn(3, 6, generator=g) * 2
    return [((logits, t), torch.softmax(logits / t, dim=-1)) for t in (0.5, 1.0, 2.0)]


def check_4(temperature_probs: Any) -> None:
    """Exercise 09.4: softmax(logits / temperature, dim=-1)."""
    cases = _temperature_cases()
    logits, t = cases[0][0]
    try:  # the typical mistakes are named from the answer on the first case
        got = temperature_probs(logits.clone(), t)
    except Exception:  # check_function reports a placeholder, NotImplementedError or a crash
        got = None
    _, hint = checks.first_mistake(got, [
        (torch.softmax(logits * t, dim=-1), None,
         "you multiplied by the temperature: divide the logits by it (τ < 1 must sharpen)."),
        (torch.softmax(logits / t, dim=0), None, "softmax over the wrong dimension: normalise over the vocabulary, dim=-1."),
        (logits / t, None, "you returned scaled logits: apply the softmax so each row sums to 1."),
        (torch.softmax(logits, dim=-1) ** (1 / t), None,
         "after raising probabilities to 1/τ, renormalise them; simpler: softmax(logits / τ)."),
    ], atol=1e-6) or (None, "return torch.softmax(logits / temperature, dim=-1).")
    checks.check_function("09.4", temperature_probs, cases, atol=1e-6, hint=hint,
                          success="the right probabilities at τ = 0.5, 1 and 2.")
