"""Checks of notebook 15: right answers pass, typical mistakes get a hint naming them, `...` is not done."""

import math

import pytest
import torch
from torch import nn

from course_utils.exercises import ex15


def _out(capsys) -> str:
    return capsys.readouterr().out


# --- 15.1: a kept value under dropout


@pytest.mark.parametrize("answer", [2 / 0.75, torch.tensor(2 / 0.75)])
def test_1_right(answer, capsys):
    ex15.check_1(answer)
    assert "✅ Exercise 15.1 passed" in _out(capsys)


def test_1_agrees_with_nn_dropout(capsys):
    torch.manual_seed(0)
    out = nn.Dropout(0.25).train()(torch.full((100,), 2.0))
    ex15.check_1(out[out != 0][0])
    assert "passed" in _out(capsys)


@pytest.mark.parametrize(
    ("answer", "hint"),
    [(2.0, "divides every kept value by 1 − p"), (1.5, "inverted dropout"), (8.0, "probability of keeping"),
     (0.0, "dropped entry"), (3.0, "x / (1 − p)")],
)
def test_1_mistakes(answer, hint, capsys):
    ex15.check_1(answer)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


def test_1_placeholder(capsys):
    ex15.check_1(...)
    assert "not done yet" in _out(capsys)


# --- 15.2: the penalty coefficient


def test_2_right(capsys):
    ex15.check_2(0.005)
    assert "✅ Exercise 15.2 passed" in _out(capsys)


@pytest.mark.parametrize(("answer", "hint"), [(0.01, "cancelled"), (0.02, "2c = 0.01"), (0.3, "adds λ·w")])
def test_2_mistakes(answer, hint, capsys):
    ex15.check_2(answer)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


def test_2_placeholder(capsys):
    ex15.check_2(...)
    assert "not done yet" in _out(capsys)


def test_2_the_answer_really_matches_sgd_weight_decay():
    torch.manual_seed(0)
    X, y = torch.randn(32, 4), torch.randn(32, 1)
    a = nn.Linear(4, 1)
    b = nn.Linear(4, 1)
    b.load_state_dict(a.state_dict())
    opt_a, opt_b = torch.optim.SGD(a.parameters(), lr=0.1), torch.optim.SGD(b.parameters(), lr=0.1, weight_decay=0.01)
    for _ in range(5):
        opt_a.zero_grad()
        (nn.functional.mse_loss(a(X), y) + 0.005 * sum((w**2).sum() for w in a.parameters())).backward()
        opt_a.step()
        opt_b.zero_grad()
        nn.functional.mse_loss(b(X), y).backward()
        opt_b.step()
    assert all(torch.allclose(p, q, atol=1e-6) for p, q in zip(a.parameters(), b.parameters(), strict=True))


# --- 15.3: early stopping epochs


def test_3_right(capsys):
    ex15.check_3(ex15._reference_early_stop)
    assert "✅ Exercise 15.3 passed" in _out(capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [(ex15._last_not_best, "the best one, not the last"), (ex15._one_late, "one epoch late"),
     (ex15._one_early, "one epoch early"), (ex15._ties_improve, "strict `<`")],
)
def test_3_mistakes(wrong, hint, capsys):
    ex15.check_3(wrong)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


def test_3_not_done(capsys):
    def stub(val_losses, patience):
        raise NotImplementedError("Exercise 15.3: write this function")

    ex15.check_3(stub)
    assert "not done yet" in _out(capsys)
    ex15.check_3(...)
    assert "not done yet" in _out(capsys)


def test_3_cases_agree_with_training_fit_semantics():
    # patience counts epochs without a strict improvement; ties do not reset it
    assert ex15._reference_early_stop([1.0, 1.0, 1.0], 2) == (1, 3)
    assert ex15._reference_early_stop([3.0, 2.0, 1.0], 5) == (3, 3)


# --- 15.4: BatchNorm running statistics


def test_4_right_and_equal_to_pytorch(capsys):
    bn = nn.BatchNorm1d(2).train()
    bn(ex15.BN_BATCH)
    ex15.check_4((bn.running_mean.clone(), bn.running_var.clone()))
    assert "✅ Exercise 15.4 passed" in _out(capsys)


@pytest.mark.parametrize(
    ("stats", "hint"),
    [
        ((ex15.BN_BATCH.mean(0), 0.9 + 0.1 * ex15.BN_BATCH.var(0)), "batch mean itself"),
        ((0.9 * ex15.BN_BATCH.mean(0), 0.9 + 0.1 * ex15.BN_BATCH.var(0)), "weight 0.9"),
        ((0.1 * ex15.BN_BATCH.mean(0), 0.9 + 0.1 * ex15.BN_BATCH.var(0, unbiased=False)), "unbiased one"),
        ((0.1 * ex15.BN_BATCH.mean(0), 0.1 * ex15.BN_BATCH.var(0)), "starts: at 1"),
        ((0.1 * ex15.BN_BATCH.mean(0), torch.tensor([5.0, 5.0])), "start from 1"),
        ((torch.tensor([1.0, 2.0]),), "pair of tensors"),
    ],
)
def test_4_mistakes(stats, hint, capsys):
    ex15.check_4(stats)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


def test_4_placeholder(capsys):
    ex15.check_4(...)
    assert "not done yet" in _out(capsys)
    ex15.check_4((..., ...))
    assert "not done yet" in _out(capsys)


def test_bn_reference_values():
    mean, var = ex15.bn_running_stats()
    assert torch.allclose(mean, torch.tensor([0.4, 1.2]))
    assert math.isclose(var[0].item(), 0.9 + 0.1 * 20 / 3, rel_tol=1e-6)
