"""Checks of notebook 19: right answers pass, typical mistakes get a hint naming them, `...` is not done."""

import math

import pytest
import torch

from course_utils.exercises import ex19
from course_utils.topics import contrastive as C


def _out(capsys) -> str:
    return capsys.readouterr().out


# --- 19.1: the CLIP loss floor from false negatives


@pytest.mark.parametrize("answer", [math.log(6.4), torch.tensor(math.log(6.4)), 1.9])
def test_1_right(answer, capsys):
    assert ex19.check_1(answer) is None
    assert "✅ Exercise 19.1 passed" in _out(capsys)


def test_1_is_close_to_the_floor_of_real_batches():
    labels = torch.arange(640) % 10
    floor = C.clip_loss_floor(labels, 64, epochs=3, generator=torch.Generator().manual_seed(0))
    assert abs(floor - ex19.clip_floor()) < 0.15


@pytest.mark.parametrize("answer, hint", [(math.log(64), "cannot tell any caption apart"),
                                          (math.log(10), "number of classes"),
                                          (math.log(5.4), "own caption is one"),
                                          (0, "interchangeable"),
                                          (3.0, "is not it")])
def test_1_mistakes(answer, hint, capsys):
    ex19.check_1(answer)
    out = _out(capsys)
    assert "❌" in out and hint in out


def test_placeholders_and_wrong_kinds(capsys):
    for check in (ex19.check_1, ex19.check_2, ex19.check_3):
        check(...)
        assert "not done yet" in _out(capsys)
        check("four")
        assert "expected a number" in _out(capsys)


# --- 19.2: the NT-Xent floor of section 3's batch


def test_2_right_and_equal_to_nt_xent(capsys):
    n, d = ex19.N_SIMCLR, 2 * ex19.N_SIMCLR
    z = torch.eye(d)[:n].double()
    assert math.isclose(C.nt_xent(z, z, ex19.TAU).item(), ex19.loss_perfect(), rel_tol=1e-9)
    ex19.check_2(ex19.loss_perfect())
    assert "✅ Exercise 19.2 passed" in _out(capsys)


@pytest.mark.parametrize("answer, hint", [
    (math.log(2 + 510 * math.exp(-2)), "the view itself"),
    (math.log(1 + 511 * math.exp(-2)), "2N − 2 negatives"),
    (math.log(1 + 255 * math.exp(-2)), "both views"),
    (math.log(1 + 510 * math.exp(-0.5)), "divided by τ"),
    (0.0, "exp(0) = 1"),
])
def test_2_mistakes(answer, hint, capsys):
    ex19.check_2(answer)
    out = _out(capsys)
    assert "❌" in out and hint in out


# --- 19.3: a hard negative at a small temperature


def test_3_right_and_equal_to_the_softmax(capsys):
    z = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.9, math.sqrt(1 - 0.81)]]).double()
    logits = (z[0] @ z[1:].T) / ex19.TAU_SMALL
    exact = -torch.log_softmax(logits, 0)[0].item()
    assert math.isclose(exact, ex19.loss_wrong_favourite(), rel_tol=1e-6)
    ex19.check_3(10.0)
    assert "✅ Exercise 19.3 passed" in _out(capsys)


@pytest.mark.parametrize("answer, hint", [(0.0, "wrong view"), (0.1, "divided by τ"), (-10.0, "never negative"),
                                          (math.log(2), "far from a tie"), (5.0, "is not it")])
def test_3_mistakes(answer, hint, capsys):
    ex19.check_3(answer)
    out = _out(capsys)
    assert "❌" in out and hint in out
