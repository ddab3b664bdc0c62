"""Checks for notebook 09 (RNN).

Each check computes the right answer from PyTorch itself (a real ``nn.GRU`` or ``nn.LSTM``), then
compares the learner's answer with the typical wrong ones (``h_n`` laid out batch first, directions
concatenated in ``h_n``, the backward half of ``output`` read at the last step, the second layer's
input taken as ``input_size``, one bias vector instead of two...) and names the mistake it finds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from course_utils import checks
from course_utils.data import sequences

# --------------------------------------------------------------------------- the layer of 09.1 and 09.4

GRU_CONFIG = {"input_size": 8, "hidden_size": 12, "num_layers": 3, "bidirectional": True, "batch_first": True}
GRU_INPUT_SHAPE = (5, 20, 8)  # (batch, time, features)


def _gru_run() -> tuple[nn.GRU, torch.Tensor, torch.Tensor]:
    """The exercises' GRU and its ``output``, ``h_n`` on a fixed input of GRU_INPUT_SHAPE."""
    g = torch.Generator().manual_seed(9)
    with torch.random.fork_rng():
        torch.manual_seed(9)
        gru = nn.GRU(**GRU_CONFIG)
    with torch.no_grad():
        output, h_n = gru(torch.randn(*GRU_INPUT_SHAPE, generator=g))
    return gru, output, h_n


def _as_shape(value: Any) -> tuple[int, ...] | None:
    """A shape given as a tuple, list or torch.Size of ints; None for anything else."""
    if isinstance(value, torch.Size | tuple | list) and all(isinstance(v, int) and not isinstance(v, bool)
                                                            for v in value):
        return tuple(value)
    return None


# --------------------------------------------------------------------------- 09.1 predict the shapes

SHAPE_KEYS = ("output", "h_n")


def _shape_mistakes(key: str) -> list[tuple[Any, str, str | None]]:
    batch, steps, _ = GRU_INPUT_SHAPE
    hidden, layers = GRU_CONFIG["hidden_size"], GRU_CONFIG["num_layers"]
    if key == "output":
        return [
            ((batch, steps, hidden), "output: that is one direction's width.",
             "bidirectional=True concatenates the forward and backward states at every step: 2 · hidden_size."),
            ((steps, batch, 2 * hidden), "output: time and batch are swapped.",
             "with batch_first=True the output keeps the input's layout: (batch, time, ...)."),
            ((batch, steps, 2 * hidden * layers), "output: it holds the top layer only, not every layer.",
             "the lower layers' states feed the next layer; output shows the last layer's, both directions."),
            ((layers * 2, batch, steps, hidden), "output: one tensor per layer is not what output holds.",
             "output is the top layer's states at every step, both directions side by side."),
        ]
    return [
        ((batch, layers * 2, hidden), "h_n: batch and layers·directions are swapped.",
         "h_n ignores batch_first: it is always (num_layers · num_directions, batch, hidden_size)."),
        ((layers, batch, 2 * hidden), "h_n: the two directions are not concatenated in h_n.",
         "each layer and direction gets its own row: num_layers · 2 rows of hidden_size."),
        ((layers, batch, hidden), "h_n: the backward directions are missing.",
         "with bidirectional=True there is one row per layer AND per direction: num_layers · 2."),
        ((2, batch, hidden), "h_n: only the directions are counted.",
         "h_n keeps the last state of every layer, not only the top one: num_layers · 2 rows."),
        ((layers * 2, batch, steps, hidden), "h_n: it holds only the final state, not every step.",
         "every step's states are in output; h_n is (num_layers · num_directions, batch, hidden_size)."),
        ((layers * 2, steps, hidden), "h_n: the batch dimension is missing or replaced by time.",
         "h_n has one final state per sequence: (num_layers · num_directions, batch, hidden_size)."),
    ]


def check_1(shapes: Any) -> None:
    """Exercise 09.1: the shapes of ``output`` and ``h_n`` of a 3-layer bidirectional GRU, batch first."""
    ex = "09.1"
    if checks.unanswered(ex, shapes, expect="dict", keys=SHAPE_KEYS):
        return
    _, output, h_n = _gru_run()
    right = {"output": tuple(output.shape), "h_n": tuple(h_n.shape)}
    for key in SHAPE_KEYS:
        got = _as_shape(shapes[key])
        if got is None:
            return checks.failed(ex, f"{key}: {shapes[key]!r} is not a shape.",
                                 "give each shape as a tuple of ints, such as (2, 3, 4).")
        if got != right[key]:
            found = checks.first_mistake(got, _shape_mistakes(key))
            return checks.failed(ex, *(found or (
                f"{key}: you said {got}, but it is not.",
                "output is (batch, time, directions · hidden) with batch_first=True; "
                "h_n is (layers · directions, batch, hidden), whatever batch_first says.")))
    checks.passed(ex, f"output {right['output']} and h_n {right['h_n']}: output holds the top layer's two "
                      "directions at every step, h_n the last state of each of the 6 layer-directions, "
                      "batch in the middle whatever batch_first says.")


# --------------------------------------------------------------------------- 09.2 LSTM parameters

_LSTM_CASES = [((3, 5, 1, False), 200), ((10, 20, 1, False), 2_560), ((1, 1, 1, False), 16),
               ((64, 128, 1, False), 99_328), ((3, 5, 2, False), 440), ((3, 5, 1, True), 400),
               ((3, 5, 2, True), 1_080), ((16, 32, 3, True), 62_976)]


def _layer(d: int, h: int) -> int:
    return 4 * (h * d + h * h + 2 * h)


_LSTM_MISTAKES: list[tuple[Callable[..., int], str]] = [
    (lambda i, h, n=1, b=False: (1 + b) * sum(4 * (h * (i if k == 0 else (1 + b) * h) + h * h + h) for k in range(n)),
     "PyTorch keeps TWO bias vectors per gate block (b_ih and b_hh)."),
    (lambda i, h, n=1, b=False: (1 + b) * sum(4 * (h * (i if k == 0 else (1 + b) * h) + h * h) for k in range(n)),
     "you left out the biases: 2 · hidden_size per gate block."),
    (lambda i, h, n=1, b=False: (1 + b) * n * _layer(i, h),
     "the layers above the first read the layer below, not the input: their input size is "
     "hidden_size · num_directions."),
    (lambda i, h, n=1, b=False: (1 + b) * (_layer(i, h) + (n - 1) * _layer(h, h)),
     "with bidirectional=True the next layer reads both directions side by side: its input is 2 · hidden_size."),
    (lambda i, h, n=1, b=False: _layer(i, h) + sum(_layer((1 + b) * h, h) for _ in range(n - 1)),
     "each direction has its own weights: count every layer twice when bidirectional=True."),
    (lambda i, h, n=1, b=False: (1 + b) * _layer(i, h),
     "every layer has its own weights: add the layers above the first (their input is hidden_size · directions)."),
    (lambda i, h, n=1, b=False: 3 * (h * i + h * h + 2 * h), "3 blocks is a GRU; an LSTM has four (input, forget, cell, output)."),
    (lambda i, h, n=1, b=False: h * i + h * h + 2 * h, "that is a plain RNN; an LSTM has four blocks of weights (i, f, g, o)."),
    (lambda i, h, n=1, b=False: 4 * (h * i + 2 * h), "the recurrent weights are missing: hidden_size × hidden_size per block."),
    (lambda i, h, n=1, b=False: 4 * (i * i + h * h + 2 * h), "W_ih maps input_size to hidden_size: it is hidden_size × input_size."),
]


def check_2(lstm_params: Any) -> None:
    """Exercise 09.2: the parameters of nn.LSTM(input_size, hidden_size, num_layers, bidirectional=...)."""
    exercise = "09.2"
    if checks.unanswered(exercise, lstm_params, expect="function"):
        return
    one_layer = [case for case in _LSTM_CASES if case[0][2:] == (1, False)]
    hint = checks.match_mistake(lstm_params, _LSTM_MISTAKES, _LSTM_CASES) or checks.match_mistake(
        lstm_params, _LSTM_MISTAKES, one_layer)
    checks.check_function(exercise, lstm_params, _LSTM_CASES,
                          hint=hint or "compare with sum(p.numel() for p in nn.LSTM(i, h, num_layers=n, "
                                       "bidirectional=b).parameters()) and its named_parameters().",
                          success="your count matches nn.LSTM for 1 to 3 layers, one or two directions.")


# --------------------------------------------------------------------------- 09.3 windows


def _expected_windows(series: torch.Tensor, window: int) -> tuple[torch.Tensor, torch.Tensor]:
    spans = series.unfold(0, window + 1, 1)
    return spans[:, :window].unsqueeze(-1), spans[:, window:]


class _HelperCalled(Exception):
    """Raised inside the check when the answer calls ``sequences.sliding_windows``."""


@contextmanager
def _without_sliding_windows() -> Iterator[None]:
    """Make ``course_utils.data.sequences.sliding_windows`` raise while the learner's function runs."""
    saved = sequences.sliding_windows

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise _HelperCalled

    sequences.sliding_windows = refuse
    try:
        yield
    finally:
        sequences.sliding_windows = saved


def check_3(make_windows: Any) -> None:
    """Exercise 09.3: X (N, window, 1) and y (N, 1), written without ``sequences.sliding_windows``."""
    exercise = "09.3"
    if checks.unanswered(exercise, make_windows):
        return
    series = torch.arange(10, dtype=torch.float32) * 0.5
    window = 3
    X_exp, y_exp = _expected_windows(series, window)
    try:
        with _without_sliding_windows():
            result = make_windows(series.clone(), window)
    except _HelperCalled:
        checks.failed(exercise, "make_windows calls sequences.sliding_windows, the helper this exercise rebuilds.",
                      "write it from slicing: how many windows fit in a series of n values, and which value "
                      "follows window k?")
        return
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


# --------------------------------------------------------------------------- 09.4 which row of h_n is which slice

ROW_KEYS = ("packed output[:, -1, :12]", "packed output[:, 0, 12:]", "weight_hh_l1_reverse")
PACKED_LENGTHS = (20, 15, 9, 4, 1)  # the five sequences of GRU_INPUT_SHAPE, cut to these lengths


def _packed_run() -> tuple[torch.Tensor, torch.Tensor]:
    """``output`` (padded back) and ``h_n`` of the exercises' GRU on its input packed to PACKED_LENGTHS."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    gru, _, _ = _gru_run()
    x = torch.randn(*GRU_INPUT_SHAPE, generator=torch.Generator().manual_seed(9))
    lengths = torch.tensor(PACKED_LENGTHS)
    mask = (torch.arange(GRU_INPUT_SHAPE[1]) < lengths[:, None]).unsqueeze(-1)
    with torch.no_grad():
        packed = pack_padded_sequence(x * mask, lengths, batch_first=True, enforce_sorted=False)
        out_packed, h_n = gru(packed)
        output, _ = pad_packed_sequence(out_packed, batch_first=True, total_length=GRU_INPUT_SHAPE[1])
    return output, h_n


def h_n_rows() -> dict[str, int | None]:
    """The rows of ``h_n`` (0-5, or None when no row is equal; the learner writes "none") for the three items of exercise 09.4.

    Found by comparing tensors, not by the layout rule: the first two are slices of the packed batch's
    ``output`` (padded back to 20 steps); the third is the row of the direction whose recurrent
    weights are ``weight_hh_l1_reverse`` (recomputed by running that layer's backward direction alone).
    """
    gru, _, h_n_full = _gru_run()
    hidden = GRU_CONFIG["hidden_size"]
    output, h_n = _packed_run()

    def row_of(piece: torch.Tensor, states: torch.Tensor, atol: float = 1e-6) -> int | None:
        return next((r for r in range(len(states)) if torch.allclose(states[r], piece, atol=atol)), None)

    rows: dict[str, int | None] = {
        "packed output[:, -1, :12]": row_of(output[:, -1, :hidden], h_n),
        "packed output[:, 0, 12:]": row_of(output[:, 0, hidden:], h_n),
    }
    # Layer 1's backward direction alone: a one-layer GRU with its weights, run backwards in time over
    # layer 0's output (both directions of layer 0, side by side, rebuilt from a two-direction layer).
    x = torch.randn(*GRU_INPUT_SHAPE, generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        layer0 = nn.GRU(GRU_CONFIG["input_size"], hidden, bidirectional=True, batch_first=True)
        layer0.load_state_dict({k: v for k, v in gru.state_dict().items() if k.endswith(("_l0", "_l0_reverse"))})
        below, _ = layer0(x)
        back = nn.GRU(2 * hidden, hidden, batch_first=True)
        back.load_state_dict({k.replace("_l1_reverse", "_l0"): v for k, v in gru.state_dict().items()
                              if k.endswith("_l1_reverse")})
        _, last = back(below.flip(1))
    rows["weight_hh_l1_reverse"] = row_of(last[0], h_n_full, atol=1e-5)
    return rows


_ROW_HINTS: dict[str, dict[int | None, str]] = {
    "packed output[:, -1, :12]": {
        4: "row 4 (the top layer's forward state) holds each sequence's state at its OWN last step. In a packed "
           "batch only the longest sequence reaches step 19; the others have padding there, and "
           "pad_packed_sequence fills it with zeros. Their forward summary is output[k, length_k − 1, :12].",
        5: "the half [:12] is the forward direction, and in a packed batch the last step is padding for every "
           "sequence shorter than 20.",
        2: "row 2 is the middle layer; output shows only the top layer. And in a packed batch the last step is "
           "padding for every sequence shorter than 20.",
    },
    "packed output[:, 0, 12:]": {
        None: "packing makes the backward direction start at each sequence's own last real step, so it still "
              "finishes at step 0 for every sequence: its final state is in output at step 0.",
        4: "row 4 is the top layer's forward direction; the half [12:] belongs to the backward direction.",
        1: "row 1 is the first layer's backward direction; output comes from the top layer.",
        2: "rows go layer by layer, forward then backward: the top layer's backward direction is row 2 · 2 + 1.",
    },
    "weight_hh_l1_reverse": {
        4: "h_n is not all forward rows then all backward rows: within each layer forward comes first, then "
           "backward, so layer 1 backward is row 2 · 1 + 1 = 3.",
        2: "row 2 is layer 1's forward direction; _reverse names the backward one, the row after it: 2 · 1 + 1 = 3.",
        1: "row 1 is layer 0's backward direction (weight_hh_l0_reverse); _l1 is the second layer.",
        5: "row 5 is the top layer (l2); _l1 is the middle one.",
        None: "every layer and direction has its final state in h_n, including the middle layer's.",
    },
}


def check_4(rows: Any) -> None:
    """Exercise 09.4: which row of the 3-layer bidirectional GRU's h_n (or none) is which slice or direction."""
    ex = "09.4"
    if checks.unanswered(ex, rows, expect="dict", keys=ROW_KEYS):
        return
    right = h_n_rows()
    n_rows = 2 * GRU_CONFIG["num_layers"]
    for key in ROW_KEYS:
        value = rows[key]
        if isinstance(value, str) and value.strip().lower() == "none":
            value = None
        else:
            value = checks.as_number(value)
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if not isinstance(value, int) or isinstance(value, bool) or not -n_rows <= value < n_rows:
                return checks.failed(ex, f"{key}: {rows[key]!r} is not a row of h_n.",
                                     f"give a row from 0 to {n_rows - 1}, or the string \"none\" when no row of h_n "
                                     "equals it.")
            value %= n_rows
        if value != right[key]:
            shown = '"none"' if value is None else f"row {value}"
            hint = _ROW_HINTS[key].get(value, "h_n's rows go layer by layer and, within a layer, forward (2·layer) "
                                              "then backward (2·layer + 1); in a packed batch every sequence "
                                              "stops at its own length.")
            return checks.failed(ex, f"{key}: {shown} is not the answer.", hint)
    checks.passed(ex, "none, 5 and 3: in a packed batch the forward summaries sit at each sequence's own last step "
                      "(output[k, length_k − 1, :12]; the last step is padding, zeros, for shorter ones), while "
                      "every backward direction still ends at step 0; h_n.view(3, 2, batch, 12)[layer, direction].")
