"""Checks of notebook 07: right answers pass, typical mistakes get a hint naming them, `...` is not done."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from course_utils.exercises import ex07


def _out(capsys) -> str:
    return capsys.readouterr().out


# --- 07.1: He std for fan_in = 256


@pytest.mark.parametrize("answer", [math.sqrt(2 / 256), torch.tensor(math.sqrt(2 / 256))])
def test_1_right(answer, capsys):
    ex07.check_1(answer)
    assert "✅ Exercise 07.1 passed" in _out(capsys)


@pytest.mark.parametrize(
    ("answer", "hint"),
    [(2 / 256, "is the variance"), (1 / 16, "misses the factor 2"), (math.sqrt(6 / 256), "*uniform* version"),
     (math.sqrt(2) / 256, "whole fraction"), (0.5, "Var(W) = 2 / fan_in")],
)
def test_1_mistakes(answer, hint, capsys):
    ex07.check_1(answer)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


def test_1_a_numpy_mistake_gets_its_hint(capsys):
    ex07.check_1(np.float32(2 / 256))
    out = _out(capsys)
    assert "not right yet" in out and "is the variance" in out


def test_1_placeholder(capsys):
    ex07.check_1(...)
    assert "not done yet" in _out(capsys)


# --- 07.2: the gradients of a zero-initialised network


def _bias_grad(y):
    return 0.1 - torch.bincount(y, minlength=10).float() / len(y)


@pytest.mark.parametrize("names", [{"2.bias"}, ["model.2.bias"], "2.bias"])
def test_2_right(names, capsys):
    ex07.check_2(names, _bias_grad)
    assert "✅ Exercise 07.2 passed" in _out(capsys)


@pytest.mark.parametrize(
    ("names", "fn", "hint"),
    [({"2.bias", "2.weight"}, _bias_grad, "h = tanh(0) = 0"),
     ({"2.bias", "0.weight"}, _bias_grad, "W₂ = 0"),
     (set(), _bias_grad, "softmax − one-hot"),
     ({"W1"}, _bias_grad, "named_parameters"),
     ({"2.bias"}, lambda y: 0.1 * len(y) - torch.bincount(y, minlength=10).float(), "*summed* loss"),
     ({"2.bias"}, lambda y: torch.full((10,), 0.1), "subtract the one-hot")],
)
def test_2_mistakes(names, fn, hint, capsys):
    ex07.check_2(names, fn)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


def test_2_not_done(capsys):
    def stub(y):
        raise NotImplementedError

    ex07.check_2({"2.bias"}, stub)
    assert "not done yet" in _out(capsys)
    ex07.check_2(..., _bias_grad)
    assert "not done yet" in _out(capsys)


# --- 07.3: an He-initialised layer


def _layer(init) -> nn.Linear:
    torch.manual_seed(0)
    layer = nn.Linear(256, 128)
    init(layer)
    return layer


def _he(layer):
    nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
    nn.init.zeros_(layer.bias)


def test_3_right(capsys):
    ex07.check_3(_layer(_he))
    assert "✅ Exercise 07.3 passed" in _out(capsys)


def _fan_out(layer):
    nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="relu")
    nn.init.zeros_(layer.bias)


def _xavier(layer):
    nn.init.xavier_normal_(layer.weight)
    nn.init.zeros_(layer.bias)


def _no_gain(layer):
    nn.init.kaiming_normal_(layer.weight, nonlinearity="linear")
    nn.init.zeros_(layer.bias)


def _default_with_zero_bias(layer):
    nn.init.zeros_(layer.bias)


@pytest.mark.parametrize(
    ("answer", "hint"),
    [(_layer(_fan_out), "fan_out"), (_layer(_xavier), "Xavier"), (_layer(_no_gain), "gain sqrt(2)"),
     (_layer(_default_with_zero_bias), "PyTorch's default"),
     (_layer(lambda layer: nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")), "zeros_(layer.bias)"),
     (nn.Linear(128, 256), "(out, in)"), (torch.zeros(128, 256), "nn.Linear(256, 128)")],
)
def test_3_mistakes(answer, hint, capsys):
    ex07.check_3(answer)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


def test_3_placeholder(capsys):
    ex07.check_3(...)
    assert "not done yet" in _out(capsys)


# --- 07.4: sweep the tanh gain


def test_4_right(capsys):
    ex07.check_4(5 / 3)
    assert "✅ Exercise 07.4 passed" in _out(capsys)


@pytest.mark.parametrize(
    ("answer", "hint"),
    [(1.0, "the std falls"), (1.4, "the std falls"), (2.0, "saturated"), (3.0, "saturated"), (0.7, "candidates"),
     ("5/3", "candidates")],
)
def test_4_mistakes(answer, hint, capsys):
    ex07.check_4(answer)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


def test_4_placeholder(capsys):
    ex07.check_4(...)
    assert "not done yet" in _out(capsys)
