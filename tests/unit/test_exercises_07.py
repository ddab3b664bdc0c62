"""Checks of notebook 07: right answers pass, typical mistakes get a hint naming them, `...` is not done."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from course_utils.exercises import ex07


def _out(capsys) -> str:
    return capsys.readouterr().out


# --- 07.1: Kaiming normal std, fan_out, tanh, for nn.Linear(512, 128)

RIGHT_1 = (5 / 3) / math.sqrt(128)


@pytest.mark.parametrize("answer", [RIGHT_1, torch.tensor(RIGHT_1), np.float64(RIGHT_1)])
def test_1_right(answer, capsys):
    ex07.check_1(answer)
    assert "✅ Exercise 07.1 passed" in _out(capsys)


@pytest.mark.parametrize(
    ("answer", "hint"),
    [((5 / 3) / math.sqrt(512), "that is fan_in"), (math.sqrt(2 / 128), "ReLU gain"),
     (1 / math.sqrt(128), "gain 5/3 is missing"), ((5 / 3) ** 2 / 128, "variance"),
     ((5 / 3) * math.sqrt(2 / 640), "Xavier"), ((5 / 3) * math.sqrt(3 / 128), "kaiming_uniform_"),
     (0.5, "std = gain / sqrt(fan)")],
)
def test_1_mistakes(answer, hint, capsys):
    ex07.check_1(answer)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


def test_1_placeholder(capsys):
    ex07.check_1(...)
    assert "not done yet" in _out(capsys)


def test_1_answer_agrees_with_nn_init():
    w = nn.init.kaiming_normal_(torch.empty(128, 512), mode="fan_out", nonlinearity="tanh",
                                generator=torch.Generator().manual_seed(0))
    assert w.std().item() == pytest.approx(RIGHT_1, rel=0.01)


# --- 07.2: the gradients of a zero-initialised sigmoid network

ALL = {"0.weight", "0.bias", "2.weight", "2.bias"}


def test_2_autograd_facts():
    step1, step2 = ex07.zero_sigmoid_gradients()
    assert {n for n, g in step1.items() if g.abs().max() > 0} == {"2.weight", "2.bias"}
    assert {n for n, g in step2.items() if g.abs().max() > 0} == ALL
    assert torch.unique(step2["0.weight"], dim=0).shape[0] == 1


@pytest.mark.parametrize("answer", [({"2.weight", "2.bias"}, ALL, 1), (["model.2.weight", "2.bias"], sorted(ALL), 1.0)])
def test_2_right(answer, capsys):
    ex07.check_2(*answer)
    assert "✅ Exercise 07.2 passed" in _out(capsys)


@pytest.mark.parametrize(
    ("answer", "hint"),
    [(({"2.bias"}, ALL, 1), "sigmoid(0) = 1/2"),
     (({"2.weight"}, ALL, 1), "softmax − one-hot"),
     ((ALL, ALL, 1), "W₂ = 0"),
     (({"2.weight", "2.bias"}, {"2.weight", "2.bias"}, 1), "no longer 0"),
     (({"2.weight", "2.bias"}, ALL, 16), "same column of W₂"),
     (({"2.weight", "2.bias"}, ALL, "one"), "same column of W₂"),
     (({"W2"}, ALL, 1), "named_parameters")],
)
def test_2_mistakes(answer, hint, capsys):
    ex07.check_2(*answer)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


def test_2_not_done(capsys):
    ex07.check_2(..., ALL, 1)
    assert "not done yet" in _out(capsys)
    ex07.check_2({"2.bias"}, ALL, ...)
    assert "not done yet" in _out(capsys)


# --- 07.3: Xavier uniform with the tanh gain, nn.Linear(128, 512)


def _layer(init, shape=(128, 512)) -> nn.Linear:
    torch.manual_seed(0)
    layer = nn.Linear(*shape)
    init(layer)
    return layer


def _by_hand(layer):
    a = (5 / 3) * math.sqrt(6 / (128 + 512))
    with torch.no_grad():
        layer.weight.uniform_(-a, a)
        layer.bias.zero_()


def _with(init, **kwargs):
    def apply(layer):
        init(layer.weight, **kwargs)
        nn.init.zeros_(layer.bias)
    return apply


@pytest.mark.parametrize("init", [_by_hand, _with(nn.init.xavier_uniform_, gain=5 / 3)])
def test_3_right(init, capsys):
    ex07.check_3(_layer(init))
    assert "✅ Exercise 07.3 passed" in _out(capsys)


@pytest.mark.parametrize(
    ("answer", "hint"),
    [(_layer(_with(nn.init.xavier_uniform_)), "tanh gain is missing"),
     (_layer(_with(nn.init.xavier_uniform_, gain=math.sqrt(2))), "ReLU gain"),
     (_layer(_with(nn.init.xavier_normal_, gain=5 / 3)), "look normal"),
     (_layer(_with(nn.init.kaiming_uniform_, nonlinearity="tanh")), "kaiming_uniform_ with fan_in"),
     (_layer(_with(nn.init.kaiming_uniform_, mode="fan_out", nonlinearity="tanh")), "kaiming_uniform_ with fan_out"),
     (_layer(lambda layer: nn.init.zeros_(layer.bias)), "PyTorch's default"),
     (_layer(lambda layer: nn.init.xavier_uniform_(layer.weight, gain=5 / 3)), "biases"),
     (_layer(_with(nn.init.xavier_uniform_, gain=5 / 3), shape=(512, 128)), "(out, in)"),
     (torch.zeros(512, 128), "nn.Linear(128, 512)")],
)
def test_3_mistakes(answer, hint, capsys):
    ex07.check_3(answer)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


def test_3_placeholder(capsys):
    ex07.check_3(...)
    assert "not done yet" in _out(capsys)


# --- 07.4: predict a tanh stack's activation std from the variance recursion


def _predict(gain, depth, samples=50_000):
    z = torch.randn(samples, generator=torch.Generator().manual_seed(3))
    q = gain**2
    for _ in range(depth - 1):
        q = gain**2 * torch.tanh(math.sqrt(q) * z).pow(2).mean().item()
    return torch.tanh(math.sqrt(q) * z).pow(2).mean().sqrt()  # a tensor: accepted as a number


def test_4_right(capsys):
    ex07.check_4(_predict)
    assert "✅ Exercise 07.4 passed" in _out(capsys)


def test_4_the_recursion_matches_every_case():
    for gain, depth, width in ex07.PREDICTION_CASES:
        measured = ex07.measured_tanh_std(gain, depth, width)
        assert abs(_predict(gain, depth).item() / measured - 1) < 0.5 * ex07.PREDICTION_RTOL


@pytest.mark.parametrize(("index", "hint"), [(0, "gain is missing"), (1, "not by gain"), (2, "pre-activation z"),
                                             (3, "variance of the pre-activation")])
def test_4_mistakes(index, hint, capsys):
    ex07.check_4(ex07._PREDICTION_MISTAKES[index][0])
    out = _out(capsys)
    assert "not right yet" in out and hint in out


def test_4_other_wrong_answers(capsys):
    ex07.check_4(lambda gain, depth: 0.5)
    out = _out(capsys)
    assert "not right yet" in out and "repeat q ←" in out
    ex07.check_4(lambda gain, depth: "0.5")
    assert "not a number" in _out(capsys)
    ex07.check_4(lambda gain: 0.5)
    assert "raised TypeError" in _out(capsys)
    ex07.check_4(0.65)
    assert "expected a function" in _out(capsys)


def test_4_not_done(capsys):
    def stub(gain, depth):
        raise NotImplementedError

    ex07.check_4(stub)
    assert "not done yet" in _out(capsys)
    ex07.check_4(...)
    assert "not done yet" in _out(capsys)
    ex07.check_4(lambda gain, depth: None)
    assert "not done yet" in _out(capsys)
