"""Checks of notebook 11: right answers pass, typical mistakes get a hint that names them, placeholders are 'not done'."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from course_utils.exercises import ex11

bce = F.binary_cross_entropy_with_logits


def not_written(*args):
    raise NotImplementedError


P = 1 / (1 + math.exp(5))  # σ(−5)


@pytest.mark.parametrize(
    ("d", "loss", "hint"),
    [
        (0.45, 2 * math.log(2), "fake target 0.1"),
        (0.9, 1.0, "half of what it sees are fakes"),
        (1.5, 1.0, "strictly between 0 and 1"),
        (0.6, 1.4, "minimise −ln d − ln(1 − d)"),
        (0.5, 1.3763, "put d* = 0.5 into both"),
        (0.5, math.log(2), "real term plus the fake term"),
        (0.5, 0.5, "not its loss"),
        (0.5, 1.2, "add the two"),
    ],
)
def test_11_1_mistakes(capsys, d, loss, hint):
    ex11.check_1(d, loss)
    out = capsys.readouterr().out
    assert "not right yet" in out and hint in out


def test_11_1_right_and_not_done(capsys):
    ex11.check_1(0.5, 2 * math.log(2))
    assert "✅ Exercise 11.1 passed" in capsys.readouterr().out
    ex11.check_1(torch.tensor(0.5), torch.tensor(1.3863))
    assert "passed" in capsys.readouterr().out
    ex11.check_1(..., 1.0)
    assert "not done yet" in capsys.readouterr().out
    ex11.check_1("0.5", 1.0)
    assert "expected two numbers" in capsys.readouterr().out


def test_11_1_loss_formula_matches_the_gan_loss():
    # the check's two-sided loss at d, against discriminator_loss with both targets smoothed by hand
    d = 0.3
    logit = torch.logit(torch.tensor([[d]]))
    expected = bce(logit, torch.full_like(logit, 0.9)) + bce(logit, torch.full_like(logit, 0.1))
    assert ex11.two_sided_loss(d) == pytest.approx(expected.item(), abs=1e-6)


@pytest.mark.parametrize(
    ("sat", "ns", "hint"),
    [
        (1 - P, P, "swapped"),
        (1 / (1 - P), 1 / P, "with respect to D"),
        (P * (1 - P), P * (1 - P), "σ'(ℓ) alone"),
        (-math.log(1 - P), -math.log(P), "losses' values"),
        (0.1, 0.9, "d/dℓ log(1 − D) = −σ(ℓ)"),
    ],
)
def test_11_2_mistakes(capsys, sat, ns, hint):
    ex11.check_2(sat, ns)
    out = capsys.readouterr().out
    assert "not right yet" in out and hint in out


def test_11_2_right_signs_either_way_and_not_done(capsys):
    ex11.check_2(P, 1 - P)
    assert "✅ Exercise 11.2 passed" in capsys.readouterr().out
    ex11.check_2(-P, -(1 - P))
    assert "passed" in capsys.readouterr().out
    # the right answer agrees with autograd
    logit = torch.tensor(-5.0, requires_grad=True)
    grad_sat, = torch.autograd.grad(torch.log1p(-torch.sigmoid(logit)), logit)
    grad_ns, = torch.autograd.grad(-F.logsigmoid(logit), logit)
    ex11.check_2(grad_sat, grad_ns)
    assert "passed" in capsys.readouterr().out
    ex11.check_2(P, ...)
    assert "not done yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("answer", "hint"),
    [(4.0, "typical norm"), (math.sqrt(8), "midpoint"), (10.0, "take the square root"),
     (2.5, "its square root"), (3.0, "sum over 16 coordinates")],
)
def test_11_3_mistakes(capsys, answer, hint):
    ex11.check_3(answer)
    out = capsys.readouterr().out
    assert "not right yet" in out and hint in out


def test_11_3_right_and_not_done(capsys):
    ex11.check_3(math.sqrt(10))
    assert "✅ Exercise 11.3 passed" in capsys.readouterr().out
    # a Monte-Carlo walk agrees with the expected answer
    g = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(20000, 16, generator=g), torch.randn(20000, 16, generator=g)
    rms = (0.75 * z0 + 0.25 * z1).pow(2).sum(1).mean().sqrt().item()
    assert rms == pytest.approx(math.sqrt(10), abs=0.05)
    ex11.check_3(...)
    assert "not done yet" in capsys.readouterr().out
    ex11.check_3("3.16")
    assert "expected a number" in capsys.readouterr().out


def right_interpolate(z0, z1, n):
    w = torch.linspace(0, 1, n)[:, None]
    return (1 - w) * z0 + w * z1


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (lambda z0, z1, n: right_interpolate(z0, z1, n + 1)[:-1], "off by one"),
        (lambda z0, z1, n: right_interpolate(z1, z0, n), "order is reversed"),
        (lambda z0, z1, n: right_interpolate(z0, z1, n).T, "transpose"),
    ],
)
def test_11_4_mistakes(capsys, answer, hint):
    ex11.check_4(answer)
    out = capsys.readouterr().out
    assert "not right yet" in out and hint in out


def test_11_4_right_and_not_done(capsys):
    ex11.check_4(right_interpolate)
    assert "✅ Exercise 11.4 passed" in capsys.readouterr().out
    ex11.check_4(not_written)
    assert "not done yet" in capsys.readouterr().out
