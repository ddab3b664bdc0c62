"""Checks of notebook 15: right answers pass, typical mistakes get a hint naming them, `...` is not done."""

import math

import pytest
import torch
from torch import nn

from course_utils.exercises import ex15


def _out(capsys) -> str:
    return capsys.readouterr().out


# --- 15.1: the variance of a dropped-out unit


@pytest.mark.parametrize("answer", [6.0, torch.tensor(6.0), 9 / 0.6 - 9])
def test_1_right(answer, capsys):
    assert ex15.check_1(answer) is None
    assert "✅ Exercise 15.1 passed" in _out(capsys)


def test_1_agrees_with_nn_dropout():
    torch.manual_seed(0)
    out = nn.Dropout(ex15.DROP_P).train()(torch.full((400_000,), ex15.DROP_H))
    assert math.isclose(out.var().item(), ex15.dropout_variance(), rel_tol=0.02)


@pytest.mark.parametrize(
    ("answer", "hint"),
    [(15.0, "squared mean"), (2.16, "without the 1/(1 − p)"), (math.sqrt(6.0), "standard deviation"),
     (2.0, "enter squared"), (0.4 / 0.6, "input of 1"), (0.0, "eval mode"), (7.5, "E[out²] − mean²")],
)
def test_1_mistakes(answer, hint, capsys):
    ex15.check_1(answer)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


def test_1_placeholder(capsys):
    ex15.check_1(...)
    assert "not done yet" in _out(capsys)


# --- 15.2: AdamW's decay with zero gradients


def test_2_right_and_equal_to_adamw(capsys):
    w = torch.ones(4, requires_grad=True)
    opt = torch.optim.AdamW([w], lr=1e-3, weight_decay=1.0)
    steps = 0
    while (w > 0.5).any():
        w.grad = torch.zeros(4)
        opt.step()
        steps += 1
    ex15.check_2(steps)
    assert "✅ Exercise 15.2 passed" in _out(capsys)
    ex15.check_2(float(steps))
    assert "✅ Exercise 15.2 passed" in _out(capsys)


@pytest.mark.parametrize(
    ("answer", "hint"),
    [(692, "round up"), (500, "*current*"), (1, "multiplies the decay by the learning rate"),
     (692.8, "whole number"), (100, "only the factor 1 − lr·λ")],
)
def test_2_mistakes(answer, hint, capsys):
    ex15.check_2(answer)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


def test_2_placeholder(capsys):
    ex15.check_2(...)
    assert "not done yet" in _out(capsys)


# --- 15.3: early stopping, predicted by hand and then as a function


def test_3_right(capsys):
    assert ex15._reference_early_stop(*ex15.PREDICTION_CASE) == (2, 4)
    ex15.check_3((2, 4), ex15._reference_early_stop)
    assert "✅ Exercise 15.3 passed" in _out(capsys)


@pytest.mark.parametrize(
    ("prediction", "hint"),
    [((5, 7), "strictly lower"), ((4, 4), "the best one"), ((2, 5), "one epoch late"), ((3, 3), "walk through"),
     (7, "expected a tuple")],
)
def test_3_wrong_prediction(prediction, hint, capsys):
    ex15.check_3(prediction, ex15._reference_early_stop)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [(ex15._last_not_best, "the best one, not the last"), (ex15._one_late, "one epoch late"),
     (ex15._one_early, "one epoch early"), (ex15._ties_improve, "strict `<`")],
)
def test_3_mistakes(wrong, hint, capsys):
    ex15.check_3((2, 4), wrong)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


def test_3_not_done(capsys):
    def stub(val_losses, patience):
        raise NotImplementedError("Exercise 15.3: write this function")

    ex15.check_3(..., stub)
    assert "not done yet" in _out(capsys)
    ex15.check_3((2, 4), stub)
    assert "not done yet" in _out(capsys)
    ex15.check_3(..., ...)
    assert "not done yet" in _out(capsys)


def test_3_cases_agree_with_training_fit_semantics():
    # patience counts epochs without a strict improvement; ties do not reset it
    assert ex15._reference_early_stop([1.0, 1.0, 1.0], 2) == (1, 3)
    assert ex15._reference_early_stop([3.0, 2.0, 1.0], 5) == (3, 3)


# --- 15.4: BatchNorm's eval-mode output after one training batch


def test_4_right_and_equal_to_pytorch(capsys):
    bn = nn.BatchNorm1d(2, eps=ex15.BN_EPS).train()
    bn(ex15.BN_BATCH)
    bn.eval()
    with torch.no_grad():
        out = bn(ex15.BN_SAMPLE[None])[0]
    assert torch.allclose(out.double(), ex15.bn_eval_output(), atol=1e-6)
    ex15.check_4(out)
    assert "✅ Exercise 15.4 passed" in _out(capsys)


_B, _X = ex15.BN_BATCH, ex15.BN_SAMPLE


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        ((_X - _B.mean(0)) / torch.sqrt(_B.var(0, unbiased=False) + 1e-5), "train mode"),
        ((_X - 0.1 * _B.mean(0)) / torch.sqrt(0.9 + 0.1 * _B.var(0, unbiased=False) + 1e-5), "unbiased"),
        ((_X - 0.1 * _B.mean(0)) / torch.sqrt(0.9 + 0.1 * _B.var(0)), "left out ε"),
        ((_X - 0.9 * _B.mean(0)) / torch.sqrt(0.1 + 0.9 * _B.var(0) + 1e-5), "weight 0.9"),
        ((_X - 0.1 * _B.mean(0)) / torch.sqrt(0.1 * _B.var(0) + 1e-5), "starts at 1"),
        (torch.tensor([1.0, 2.0]), "then (sample − mean)"),
        (torch.tensor([1.0, 2.0, 3.0]), "shape (2,)"),
        ((torch.tensor([1.0, 2.0]),), "shape (2,)"),
    ],
)
def test_4_mistakes(answer, hint, capsys):
    ex15.check_4(answer)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


def test_4_placeholder(capsys):
    ex15.check_4(...)
    assert "not done yet" in _out(capsys)


def test_bn_reference_values():
    mean, var = ex15.bn_running_stats()
    assert torch.allclose(mean, torch.tensor([0.4, 1.2]))
    assert math.isclose(var[0].item(), 0.9 + 0.1 * 20 / 3, rel_tol=1e-6)
