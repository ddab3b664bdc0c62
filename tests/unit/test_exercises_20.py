"""Checks of notebook 20: right answers pass, typical mistakes get a hint naming them, `...` is not done."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.exercises import ex20
from course_utils.topics.debugging import hooks_left


def _out(capsys) -> str:
    return capsys.readouterr().out


# --- 20.1: the loss floor of softmax before CrossEntropyLoss


@pytest.mark.parametrize("answer", [math.log(1 + 99 / math.e), torch.tensor(math.log(1 + 99 / math.e)),
                                    -math.log(math.e / (math.e + 99))])
def test_1_right(answer, capsys):
    assert ex20.check_1(answer) is None
    assert "✅ Exercise 20.1 passed" in _out(capsys)


def test_1_agrees_with_pytorch():
    one_hot = F.one_hot(torch.tensor([3]), ex20.N_CLASSES).float()
    assert F.cross_entropy(one_hot, torch.tensor([3])).item() == pytest.approx(ex20.softmax_floor(), rel=1e-6)


@pytest.mark.parametrize(
    ("answer", "hint"),
    [(0.0, "floor for logits"), (math.log(100), "loss at init"), (math.log(1 + 9 / math.e), "10 classes"),
     (math.log(1 + 100 / math.e), "appears once"), (math.log(1 + 99 * math.e), "large term"),
     (1 - 1 / math.e, "logarithm"), (0.7, "one-hot vector")],
)
def test_1_mistakes(answer, hint, capsys):
    ex20.check_1(answer)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


def test_1_placeholder(capsys):
    ex20.check_1(...)
    assert "not done yet" in _out(capsys)


# --- 20.2: how far SGD drifts without zero_grad


def test_2_right_and_equal_to_sgd(capsys):
    distances = []
    for clear in (True, False):
        w = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([w], lr=0.1)
        for _ in range(ex20.STEPS):
            if clear:
                opt.zero_grad()
            (3.0 * w).sum().backward()  # a constant gradient g = 3
            opt.step()
        distances.append(abs(w.item()))
    assert distances[1] / distances[0] == pytest.approx(ex20.distance_ratio(), rel=1e-5)
    ex20.check_2(distances[1] / distances[0])
    assert "✅ Exercise 20.2 passed" in _out(capsys)


@pytest.mark.parametrize(("answer", "hint"), [(55, "divide by the 10"), (10, "stored gradient is t·g"), (2, "doubles only"),
                                              (11, "last"), (1, "adds"), (5, "55 / 10"), (7.0, "sum the steps")])
def test_2_mistakes(answer, hint, capsys):
    ex20.check_2(answer)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


def test_2_adam_keeps_its_step_size_without_zero_grad():
    """The success text's claim: Adam divides by the root of the same running sum, so its steps stay ≈ lr."""
    w = torch.zeros(1, requires_grad=True)
    opt = torch.optim.Adam([w], lr=0.1)
    positions = [0.0]
    for _ in range(ex20.STEPS):
        (3.0 * w).sum().backward()
        opt.step()
        positions.append(w.item())
    steps = [abs(b - a) for a, b in zip(positions, positions[1:], strict=False)]
    assert all(step == pytest.approx(0.1, rel=0.1) for step in steps)  # while SGD's grow up to 10×


def test_2_wrong_kind(capsys):
    ex20.check_2("5.5")
    assert "expected a number" in _out(capsys)


def test_2_placeholder(capsys):
    ex20.check_2(None)
    assert "not done yet" in _out(capsys)


# --- 20.3: dead units with forward hooks


def _right(model, X):
    shares, handles = {}, []
    for name, module in model.named_modules():
        if isinstance(module, nn.ReLU):
            handles.append(module.register_forward_hook(
                lambda _m, _i, out, name=name: shares.__setitem__(name, float((out == 0).all(0).float().mean()))))
    with torch.no_grad():
        model(X)
    for handle in handles:
        handle.remove()
    return shares


def test_3_reference_finds_the_planted_units():
    model = ex20.hook_model()
    assert ex20.reference_dead_units(model, ex20.HOOK_INPUT) == pytest.approx({"1": 3 / 8, "3": 2 / 6})
    assert hooks_left(model) == 0


def test_3_right(capsys):
    ex20.check_3(_right)
    assert "✅ Exercise 20.3 passed" in _out(capsys)


def _keeps_hooks(model, X):
    shares = {}
    for name, module in model.named_modules():
        if isinstance(module, nn.ReLU):
            module.register_forward_hook(
                lambda _m, _i, out, name=name: shares.__setitem__(name, float((out == 0).all(0).float().mean())))
    model(X)
    return shares


def _zero_values(model, X):
    return {k: v for k, v in ex20._zero_share(model, X).items()}


def _counts(model, X):
    return {k: v * (8 if k == "1" else 6) for k, v in _right(model, X).items()}


def _raises(model, X):
    raise KeyError("relu")


def _not_written(model, X):
    raise NotImplementedError


@pytest.mark.parametrize(("fn", "hint"), [
    (_keeps_hooks, "handle.remove()"), (_zero_values, "zero *values*"), (_counts, "divide by the width"),
    (_raises, "KeyError"), (lambda model, X: {"0": 0.0}, "as keys"),
    (lambda model, X: {"1": 0.5, "3": 0.5}, "(out == 0).all(0)")])
def test_3_mistakes(fn, hint, capsys):
    ex20.check_3(fn)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


@pytest.mark.parametrize("fn", [..., _not_written, lambda model, X: None])
def test_3_not_done(fn, capsys):
    ex20.check_3(fn)
    assert "not done yet" in _out(capsys)
