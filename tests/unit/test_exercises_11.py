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
    ("d", "logit", "hint"),
    [
        (0.01, -4.6, "solve (1 − D) / D = 100"),
        (1 - 1 / 101, 4.6, "the second must be 100×"),
        (1.5, 0.0, "strictly between 0 and 1"),
        (0.05, -3.0, "solve (1 − D) / D = 100"),
        (1 / 101, math.log(1 / 101), "ln(D / (1 − D))"),
        (1 / 101, math.log(100), "negative logit"),
        (1 / 101, -2.0, "base-10"),
        (1 / 101, -3.0, "invert D = σ(ℓ)"),
    ],
)
def test_11_2_mistakes(capsys, d, logit, hint):
    ex11.check_2(d, logit)
    out = capsys.readouterr().out
    assert "not right yet" in out and hint in out


def test_11_2_right_and_not_done(capsys):
    ex11.check_2(1 / 101, -math.log(100))
    assert "✅ Exercise 11.2 passed" in capsys.readouterr().out
    # the answer agrees with autograd: at that logit the non-saturating gradient is 100× the saturating one
    logit = torch.tensor(-math.log(100), dtype=torch.float64, requires_grad=True)
    grad_sat, = torch.autograd.grad(torch.log1p(-torch.sigmoid(logit)), logit)
    grad_ns, = torch.autograd.grad(-F.logsigmoid(logit), logit)
    assert (grad_ns / grad_sat).item() == pytest.approx(100.0, rel=1e-9)
    ex11.check_2(torch.sigmoid(logit).detach(), logit.detach())
    assert "passed" in capsys.readouterr().out
    ex11.check_2(1 / 101, ...)
    assert "not done yet" in capsys.readouterr().out
    ex11.check_2("0.01", 1.0)
    assert "expected two numbers" in capsys.readouterr().out


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


def right_slerp(z0, z1, n):
    omega = torch.arccos((z0 @ z1 / (z0.norm() * z1.norm())).clamp(-1, 1))
    w = torch.linspace(0, 1, n)[:, None]
    return (torch.sin((1 - w) * omega) * z0 + torch.sin(w * omega) * z1) / torch.sin(omega)


def straight(z0, z1, n):
    w = torch.linspace(0, 1, n)[:, None]
    return (1 - w) * z0 + w * z1


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (straight, "straight line"),
        (lambda z0, z1, n: right_slerp(z1, z0, n), "order is reversed"),
        (lambda z0, z1, n: right_slerp(z0, z1, n + 1)[:-1], "off by one"),
        (lambda z0, z1, n: right_slerp(z0 / z0.norm(), z1 / z1.norm(), n), "unit sphere"),
        (lambda z0, z1, n: right_slerp(z0, z1, n).T, "transpose"),
        (lambda z0, z1, n: torch.zeros(n, len(z0)), "clamp the cosine"),
    ],
)
def test_11_4_mistakes(capsys, answer, hint):
    ex11.check_4(answer)
    out = capsys.readouterr().out
    assert "not right yet" in out and hint in out


def test_11_4_right_and_not_done(capsys):
    ex11.check_4(right_slerp)
    out = capsys.readouterr().out
    assert "✅ Exercise 11.4 passed" in out and "slerp keeps ‖z‖ typical" in out
    ex11.check_4(not_written)
    assert "not done yet" in capsys.readouterr().out


def test_reference_slerp_keeps_the_norm_of_equal_length_ends():
    g = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(16, generator=g), torch.randn(16, generator=g)
    z1 = z1 / z1.norm() * z0.norm()
    walk = ex11.reference_slerp(z0, z1, 7)
    assert torch.allclose(walk.norm(dim=1), z0.norm().expand(7), atol=1e-5)
    assert torch.allclose(walk[0], z0, atol=1e-6) and torch.allclose(walk[-1], z1, atol=1e-5)
