"""Checks for notebook 12 (diffusion)."""

from __future__ import annotations

import contextlib
import math

import torch

from course_utils import checks
from course_utils.topics import diffusion

# --------------------------------------------------------------------------- 12.1 the posterior over a jump


def _jump_variance(ab_t: torch.Tensor, ab_s: torch.Tensor) -> torch.Tensor:
    return (1 - ab_s) / (1 - ab_t) * (1 - ab_t / ab_s)


def _jump_cases() -> list[tuple[tuple, torch.Tensor]]:
    alpha_bar = diffusion.cosine_schedule(100).alpha_bar.double()
    t = torch.tensor([10, 40, 70, 100, 55, 30])
    s_one_step, s_jump = t - 1, torch.tensor([0, 20, 35, 50, 5, 29])
    return [((alpha_bar[t], alpha_bar[s]), _jump_variance(alpha_bar[t], alpha_bar[s])) for s in (s_one_step, s_jump)]


def check_1(jump_variance_fn) -> None:
    """Exercise 12.1: the variance of q(x_s | x_t, x_0) for s < t, (1 − ᾱ_s)/(1 − ᾱ_t) · (1 − ᾱ_t/ᾱ_s)."""
    cases = _jump_cases()
    hint = checks.match_mistake(jump_variance_fn, [
        (lambda ab_t, ab_s: 1 - ab_t / ab_s,
         "that is the forward jump's own variance, 1 − ᾱ_t/ᾱ_s. The posterior also knows x_0, which narrows it "
         "by the factor (1 − ᾱ_s)/(1 − ᾱ_t)."),
        (lambda ab_t, ab_s: (1 - ab_t) / (1 - ab_s) * (1 - ab_t / ab_s),
         "the factor is upside down: the posterior must be *narrower* than the forward jump, so it is "
         "(1 − ᾱ_s)/(1 − ᾱ_t) < 1."),
        (lambda ab_t, ab_s: (1 - ab_s) / (1 - ab_t) * (ab_s - ab_t),
         "the jump from s to t keeps the share ᾱ_t/ᾱ_s of the variance, so its noise variance is 1 − ᾱ_t/ᾱ_s, "
         "not ᾱ_s − ᾱ_t."),
        (lambda ab_t, ab_s: 1 / (1 / (1 - ab_t / ab_s) + 1 / (1 - ab_s)),
         "the likelihood's precision is (ᾱ_t/ᾱ_s)/(1 − ᾱ_t/ᾱ_s), not 1/(1 − ᾱ_t/ᾱ_s): x_s enters q(x_t | x_s) "
         "multiplied by √(ᾱ_t/ᾱ_s)."),
        (lambda ab_t, ab_s: 1 - ab_s,
         "that is the variance of q(x_s | x_0) alone: multiply in the likelihood q(x_t | x_s) and add the precisions."),
    ], cases, atol=1e-6) or (
        "treat the jump as one step with α = ᾱ_t/ᾱ_s and β = 1 − ᾱ_t/ᾱ_s, add the two precisions in x_s, and "
        "simplify with the identity used for β̃_t. Check: for s = 0 the variance is 0."
    )
    checks.check_function("12.1", jump_variance_fn, cases, atol=1e-6, hint=hint)


# --------------------------------------------------------------------------- 12.2 η in a DDIM step


def _ddim_cases() -> list[tuple[tuple, torch.Tensor]]:
    alpha_bar = diffusion.cosine_schedule(100).alpha_bar
    g = torch.Generator().manual_seed(12)
    cases = []
    for t, s, eta in ((60, 40, 0.0), (60, 40, 0.5), (60, 40, 1.0), (30, 29, 1.0), (80, 20, 0.75), (10, 0, 1.0)):
        x_t, eps, z = (torch.randn(4, 3, generator=g) for _ in range(3))
        args = (x_t, eps, alpha_bar[t], alpha_bar[s], eta, z)
        cases.append((args, diffusion.ddim_step(*args)))
    return cases


def _sigma(ab_t, ab_s, eta):
    return diffusion.ddim_sigma(ab_t, ab_s, eta)


def _x0(x_t, eps, ab_t):
    return (x_t - (1 - ab_t).sqrt() * eps) / ab_t.sqrt()


def check_2(ddim_step_fn) -> None:
    """Exercise 12.2: x_s = √ᾱ_s x̂_0 + √(1 − ᾱ_s − σ²) ε̂ + σ z, compared with ``diffusion.ddim_step``."""
    cases = _ddim_cases()
    hint = checks.match_mistake(ddim_step_fn, [
        (lambda x, e, ab_t, ab_s, eta, z: ab_s.sqrt() * _x0(x, e, ab_t) + (1 - ab_s).sqrt() * e + _sigma(ab_t, ab_s, eta) * z,
         "too much noise: with √(1 − ᾱ_s) in front of ε̂ *and* σ z on top, x_s has variance 1 − ᾱ_s + σ². "
         "Take σ² out of the ε̂ term: √(1 − ᾱ_s − σ²)."),
        (lambda x, e, ab_t, ab_s, eta, z: ab_s.sqrt() * _x0(x, e, ab_t) + (1 - ab_s - _sigma(ab_t, ab_s, eta) ** 2).sqrt() * e,
         "the fresh noise is missing: with η > 0 add σ·z."),
        (lambda x, e, ab_t, ab_s, eta, z: ab_s.sqrt() * _x0(x, e, ab_t)
         + (1 - ab_s - _sigma(ab_t, ab_s, eta) ** 2).sqrt() * e + _sigma(ab_t, ab_s, eta) ** 2 * z,
         "σ is a standard deviation: the noise term is σ·z, not σ²·z."),
        (lambda x, e, ab_t, ab_s, eta, z: ab_s.sqrt() * _x0(x, e, ab_t)
         + ((1 - ab_s).sqrt() - _sigma(ab_t, ab_s, eta)) * e + _sigma(ab_t, ab_s, eta) * z,
         "subtract variances, not standard deviations: the ε̂ coefficient is √(1 − ᾱ_s − σ²), not √(1 − ᾱ_s) − σ."),
        (lambda x, e, ab_t, ab_s, eta, z: ab_s.sqrt() * _x0(x, e, ab_t) + (1 - ab_s - eta**2).sqrt() * e + eta * z,
         "η is not σ: σ = η · √((1 − ᾱ_s)/(1 − ᾱ_t)) · √(1 − ᾱ_t/ᾱ_s) (diffusion.ddim_sigma)."),
    ], cases, atol=1e-5) or (
        "start from x̂_0 = (x_t − √(1 − ᾱ_t) ε̂)/√ᾱ_t and σ = diffusion.ddim_sigma(ᾱ_t, ᾱ_s, η); the two noise "
        "terms, c·ε̂ and σ·z, must add up to the variance 1 − ᾱ_s."
    )
    checks.check_function("12.2", ddim_step_fn, cases, atol=1e-5, hint=hint)


# --------------------------------------------------------------------------- 12.3 ᾱ_t from a sum


def _estimate(t: int, T: int, beta_1: float, beta_T: float) -> float:
    beta_t = beta_1 + (t - 1) * (beta_T - beta_1) / (T - 1)
    return math.exp(-t * (beta_1 + beta_t) / 2)


_ESTIMATE_CASES = [((50, 100, 0.001, 0.2), _estimate(50, 100, 0.001, 0.2)),
                   ((10, 100, 0.001, 0.2), _estimate(10, 100, 0.001, 0.2)),
                   ((30, 50, 0.002, 0.1), _estimate(30, 50, 0.002, 0.1)),
                   ((1, 10, 0.01, 0.3), _estimate(1, 10, 0.01, 0.3))]


def _linear_sum(t, T, b1, bT, gaps):
    return t * b1 + (bT - b1) / gaps * t * (t - 1) / 2


def check_3(estimate_fn) -> None:
    """Exercise 12.3: ᾱ_t ≈ exp(−Σ_{s ≤ t} β_s) for the linear schedule, the sum as an arithmetic series."""
    cases = _ESTIMATE_CASES

    def as_float(*args):  # a one-element tensor counts as its number
        return float(estimate_fn(*args))

    hint = checks.match_mistake(as_float, [
        (lambda t, T, b1, bT: 1 - _linear_sum(t, T, b1, bT, T - 1),
         "1 − Σβ_s expands the exponential as well, and goes negative for large t. Keep the exponential: "
         "ᾱ_t ≈ exp(−Σβ_s)."),
        (lambda t, T, b1, bT: math.exp(-_linear_sum(t, T, b1, bT, T)),
         "the T values β_1, ..., β_T are T − 1 gaps apart: the step is (β_T − β_1)/(T − 1)."),
        (lambda t, T, b1, bT: math.exp(-t * (b1 + bT) / 2),
         "the mean of β_1, ..., β_t is (β_1 + β_t)/2, not the mean of the whole schedule (β_1 + β_T)/2."),
        (lambda t, T, b1, bT: math.exp(-(t + 1) * b1 - (bT - b1) / (T - 1) * (t + 1) * t / 2),
         "off by one: the sum runs over s = 1, ..., t (t terms)."),
        (lambda t, T, b1, bT: math.exp(-(t - 1) * b1 - (bT - b1) / (T - 1) * (t - 1) * (t - 2) / 2),
         "off by one: the sum runs over s = 1, ..., t (t terms), β_t included."),
        (lambda t, T, b1, bT: math.exp(-t * (b1 + (t - 1) * (bT - b1) / (T - 1))),
         "t · β_t uses the largest β for every step; the β_s grow, so their mean is (β_1 + β_t)/2."),
    ], cases, atol=1e-6) or "Σ_{s=1}^t β_s = t·β_1 + Δ·t(t − 1)/2 with Δ = (β_T − β_1)/(T − 1); return exp(−Σ)."
    estimate = None
    with contextlib.suppress(Exception):  # check_function below reports what went wrong
        estimate = float(estimate_fn(50, 100, 0.001, 0.2))
    exact = float(diffusion.linear_schedule(100).alpha_bar[50])
    success = (f"all {len(cases)} test cases give exp(−Σβ_s). For T = 100 it gives ᾱ_50 ≈ {estimate:.3f} against "
               f"the exact {exact:.3f}: a little high, because log(1 − β) < −β." if estimate is not None else "")
    checks.check_function("12.3", estimate_fn, cases, atol=1e-6, hint=hint, success=success or None)


# --------------------------------------------------------------------------- 12.4 half the signal


def _theta(T: int, s: float) -> float:
    """The angle at which cos² reaches f(0)/2, i.e. ᾱ_t = 1/2."""
    f0 = math.cos(s / (1 + s) * math.pi / 2) ** 2
    return math.acos(math.sqrt(f0 / 2))


def _t_half(T: int, s: float) -> float:
    return T * ((1 + s) * _theta(T, s) * 2 / math.pi - s)


_HALF_CASES = [((100, 0.008), _t_half(100, 0.008)), ((1000, 0.008), _t_half(1000, 0.008)),
               ((50, 0.05), _t_half(50, 0.05)), ((100, 0.2), _t_half(100, 0.2))]


def check_4(t_half_fn) -> None:
    """Exercise 12.4: the real time t at which the cosine schedule's ᾱ_t = f(t)/f(0) equals 1/2,
    t = T · ((1 + s) · (2/π) · arccos(√(f(0)/2)) − s)."""
    cases = _HALF_CASES

    def as_float(*args):  # a one-element tensor counts as its number
        return float(t_half_fn(*args))

    hint = checks.match_mistake(as_float, [
        (lambda T, s: T * ((1 + s) / 2 - s),
         "you solved f(t) = 1/2, but ᾱ_t = f(t)/f(0): solve cos²(θ) = f(0)/2. The difference is small for s = 0.008 "
         "and grows with s."),
        (lambda T, s: T * ((1 + s) * math.acos(math.sqrt(math.cos(s / (1 + s) * math.pi / 2) ** 2 / 4)) * 2 / math.pi - s),
         "you set √ᾱ_t = 1/2 (a quarter of the variance): the share of the signal's variance is ᾱ_t itself."),
        (lambda T, s: T * (1 + s) * _theta(T, s) * 2 / math.pi,
         "θ = (t/T + s)/(1 + s) · π/2, so t/T = (1 + s) · 2θ/π − s: the − s is missing."),
        (lambda T, s: T * (_theta(T, s) * 2 / math.pi - s),
         "θ = (t/T + s)/(1 + s) · π/2, so t/T = (1 + s) · 2θ/π − s: the factor (1 + s) is missing."),
        (lambda T, s: T * (_theta(T, s) * 2 / math.pi),
         "θ = (t/T + s)/(1 + s) · π/2: solve it for t, with the offset s and the factor 1 + s."),
    ], cases, atol=1e-4) or (
        "ᾱ_t = 1/2 means cos²(θ) = f(0)/2 with θ = (t/T + s)/(1 + s) · π/2, so θ = arccos(√(f(0)/2)); solve θ for t "
        "(math.acos, math.cos, math.pi). The answer is a real number between two steps, not a rounded step."
    )
    t_100 = None
    with contextlib.suppress(Exception):  # check_function below reports what went wrong
        t_100 = float(t_half_fn(100, 0.008))
    first = int(torch.nonzero(diffusion.cosine_schedule(100).alpha_bar < 0.5)[0])
    success = (f"all {len(cases)} test cases agree. For T = 100, t ≈ {t_100:.3f}: just below T/2, because the offset "
               f"s shifts the curve; the first whole step after it, t = {first}, is where alpha_bar drops below 0.5."
               if t_100 is not None else "")
    checks.check_function("12.4", t_half_fn, cases, atol=1e-4, hint=hint, success=success or None)
