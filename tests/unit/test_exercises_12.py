"""Checks of notebook 12: right answers pass, typical mistakes get a hint that names them, placeholders are 'not done'."""

from __future__ import annotations

import ast
import inspect
import math

import pytest
import torch

from course_utils.exercises import ex12
from course_utils.topics import diffusion


def not_written(*args):
    raise NotImplementedError


def out_of(capsys) -> str:
    return capsys.readouterr().out


# --------------------------------------------------------------------------- 12.1


def jump_variance(ab_t, ab_s):
    return (1 - ab_s) / (1 - ab_t) * (1 - ab_t / ab_s)


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (lambda t, s: 1 - t / s, "forward jump's own variance"),
        (lambda t, s: (1 - t) / (1 - s) * (1 - t / s), "upside down"),
        (lambda t, s: (1 - s) / (1 - t) * (s - t), "not ᾱ_s − ᾱ_t"),
        (lambda t, s: 1 / (1 / (1 - t / s) + 1 / (1 - s)), "likelihood's precision"),
        (lambda t, s: 1 - s, "q(x_s | x_0) alone"),
        (lambda t, s: t * s, "treat the jump as one step"),
    ],
)
def test_12_1_mistakes(capsys, answer, hint):
    ex12.check_1(answer)
    out = out_of(capsys)
    assert "not right yet" in out and hint in out


def test_12_1_right_and_not_done(capsys):
    ex12.check_1(jump_variance)
    assert "✅ Exercise 12.1 passed" in out_of(capsys)
    # the same variance through the precisions, before simplifying
    ex12.check_1(lambda t, s: 1 / ((t / s) / (1 - t / s) + 1 / (1 - s)))
    assert "✅ Exercise 12.1 passed" in out_of(capsys)
    ex12.check_1(not_written)
    assert "not done yet" in out_of(capsys)
    ex12.check_1(...)
    assert "not done yet" in out_of(capsys)


def test_12_1_cases_include_one_step_and_jumps_to_zero():
    (one_step, jump) = ex12._jump_cases()
    tilde = diffusion.posterior_variances(diffusion.cosine_schedule(100)).double()
    assert torch.allclose(one_step[1], tilde[torch.tensor([10, 40, 70, 100, 55, 30])], atol=1e-6)
    assert jump[1][0].item() == 0  # s = 0: x_0 is known


# --------------------------------------------------------------------------- 12.2


def right_step(x_t, eps, ab_t, ab_s, eta, z):
    sigma = diffusion.ddim_sigma(ab_t, ab_s, eta)
    x0 = (x_t - (1 - ab_t).sqrt() * eps) / ab_t.sqrt()
    return ab_s.sqrt() * x0 + (1 - ab_s - sigma**2).sqrt() * eps + sigma * z


def _x0(x, e, ab_t):
    return (x - (1 - ab_t).sqrt() * e) / ab_t.sqrt()


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (lambda x, e, t, s, eta, z: s.sqrt() * _x0(x, e, t) + (1 - s).sqrt() * e + diffusion.ddim_sigma(t, s, eta) * z,
         "too much noise"),
        (lambda x, e, t, s, eta, z: s.sqrt() * _x0(x, e, t) + (1 - s - diffusion.ddim_sigma(t, s, eta) ** 2).sqrt() * e,
         "fresh noise is missing"),
        (lambda x, e, t, s, eta, z: s.sqrt() * _x0(x, e, t) + (1 - s - diffusion.ddim_sigma(t, s, eta) ** 2).sqrt() * e
         + diffusion.ddim_sigma(t, s, eta) ** 2 * z, "not σ²·z"),
        (lambda x, e, t, s, eta, z: s.sqrt() * _x0(x, e, t) + ((1 - s).sqrt() - diffusion.ddim_sigma(t, s, eta)) * e
         + diffusion.ddim_sigma(t, s, eta) * z, "subtract variances"),
        (lambda x, e, t, s, eta, z: s.sqrt() * _x0(x, e, t) + (1 - s - eta**2).sqrt() * e + eta * z, "η is not σ"),
        (lambda x, e, t, s, eta, z: x, "add up to the variance"),
    ],
)
def test_12_2_mistakes(capsys, answer, hint):
    ex12.check_2(answer)
    out = out_of(capsys)
    assert "not right yet" in out and hint in out


def test_12_2_right_and_not_done(capsys):
    ex12.check_2(right_step)
    assert "✅ Exercise 12.2 passed" in out_of(capsys)
    ex12.check_2(diffusion.ddim_step)
    assert "✅ Exercise 12.2 passed" in out_of(capsys)
    ex12.check_2(not_written)
    assert "not done yet" in out_of(capsys)


# --------------------------------------------------------------------------- 12.3


def right_estimate(t, T, beta_1, beta_T):
    step = (beta_T - beta_1) / (T - 1)
    return math.exp(-(t * beta_1 + step * t * (t - 1) / 2))


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (lambda t, T, b1, bT: 1 - (t * b1 + (bT - b1) / (T - 1) * t * (t - 1) / 2), "Keep the exponential"),
        (lambda t, T, b1, bT: math.exp(-(t * b1 + (bT - b1) / T * t * (t - 1) / 2)), "T − 1 gaps"),
        (lambda t, T, b1, bT: math.exp(-t * (b1 + bT) / 2), "whole schedule"),
        (lambda t, T, b1, bT: math.exp(-((t + 1) * b1 + (bT - b1) / (T - 1) * (t + 1) * t / 2)), "off by one"),
        (lambda t, T, b1, bT: math.exp(-((t - 1) * b1 + (bT - b1) / (T - 1) * (t - 1) * (t - 2) / 2)), "β_t included"),
        (lambda t, T, b1, bT: math.exp(-t * (b1 + (t - 1) * (bT - b1) / (T - 1))), "largest β"),
        (lambda t, T, b1, bT: torch.tensor(0.5), "Δ = (β_T − β_1)"),
    ],
)
def test_12_3_mistakes(capsys, answer, hint):
    ex12.check_3(answer)
    out = out_of(capsys)
    assert "not right yet" in out and hint in out


def test_12_3_right_and_not_done(capsys):
    ex12.check_3(right_estimate)
    out = out_of(capsys)
    exact = diffusion.linear_schedule(100).alpha_bar[50].item()
    assert "✅ Exercise 12.3 passed" in out and f"{right_estimate(50, 100, 0.001, 0.2):.3f}" in out and f"{exact:.3f}" in out
    assert right_estimate(50, 100, 0.001, 0.2) > exact  # the first-order estimate is high, as the message says
    ex12.check_3(lambda *args: torch.tensor(right_estimate(*args)))  # a one-element tensor is fine
    assert "✅ Exercise 12.3 passed" in out_of(capsys)
    ex12.check_3(not_written)
    assert "not done yet" in out_of(capsys)
    ex12.check_3(...)
    assert "not done yet" in out_of(capsys)


# --------------------------------------------------------------------------- 12.4


def t_half(T, s):
    f0 = math.cos(s / (1 + s) * math.pi / 2) ** 2
    return T * ((1 + s) * math.acos(math.sqrt(f0 / 2)) * 2 / math.pi - s)


def test_12_4_root_matches_the_schedule():
    alpha_bar = diffusion.cosine_schedule(100).alpha_bar
    t = t_half(100, 0.008)
    assert 49 < t < 50 and float(alpha_bar[49]) > 0.5 > float(alpha_bar[50])


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda T, s: T * ((1 + s) / 2 - s), "f(0)/2"),
    (lambda T, s: T * ((1 + s) * math.acos(math.cos(s / (1 + s) * math.pi / 2) / 2) * 2 / math.pi - s), "√ᾱ_t = 1/2"),
    (lambda T, s: t_half(T, s) + T * s, "the − s is missing"),
    (lambda T, s: 50, "not a rounded step"),
])
def test_12_4_mistakes(capsys, answer, hint):
    ex12.check_4(answer)
    out = out_of(capsys)
    assert "not right yet" in out and hint in out


def test_12_4_right_and_not_done(capsys):
    ex12.check_4(t_half)
    out = out_of(capsys)
    assert "✅ Exercise 12.4 passed" in out and "49.605" in out and "t = 50" in out
    ex12.check_4(lambda T, s: torch.tensor(t_half(T, s)))
    assert "✅ Exercise 12.4 passed" in out_of(capsys)
    ex12.check_4(...)
    assert "not done yet" in out_of(capsys)
    ex12.check_4(not_written)
    assert "not done yet" in out_of(capsys)


def test_12_checks_do_not_borrow_from_other_exercise_modules():
    tree = ast.parse(inspect.getsource(ex12))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not any(name.startswith("course_utils.exercises") for name in imported), imported
