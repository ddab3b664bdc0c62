"""Checks for notebook 12 (diffusion)."""

from __future__ import annotations

import torch

from course_utils import checks
from course_utils.topics import diffusion


def _betas() -> torch.Tensor:
    return diffusion.linear_schedule(10).betas


def check_1(alpha_bar_fn) -> None:
    """Exercise 12.1: ᾱ_t = ∏_{s ≤ t} (1 − β_s) from betas = [0, β_1, ..., β_T]."""
    betas = _betas()
    cosine = diffusion.cosine_schedule(20).betas
    cases = [((betas,), torch.cumprod(1 - betas, 0)), ((cosine,), torch.cumprod(1 - cosine, 0))]
    hint = checks.match_mistake(alpha_bar_fn, [
        (lambda b: torch.cumsum(1 - b, 0), "a running *sum*: ᾱ_t is a running product, torch.cumprod."),
        (lambda b: torch.cumprod(b, 0), "multiply the α_s = 1 − β_s (what each step keeps), not the β_s."),
        (lambda b: 1 - torch.cumsum(b, 0), "1 − Σβ is only a first-order approximation; use the exact product of (1 − β_s)."),
        (lambda b: torch.cumprod(1 - b, 0).sqrt(), "no square root here: ᾱ_t is the product itself; √ᾱ_t comes later."),
    ], cases, atol=1e-5) or "torch.cumprod(1 - betas, dim=0)."
    checks.check_function("12.1", alpha_bar_fn, cases, atol=1e-6, hint=hint)


def _case(seed: int, shape=(4, 3)):
    g = torch.Generator().manual_seed(seed)
    x0 = torch.rand(shape, generator=g) * 2 - 1
    eps = torch.randn(shape, generator=g)
    alpha_bar = torch.rand(shape[0], 1, generator=g) * 0.9 + 0.05
    return x0, eps, alpha_bar


def check_2(q_sample_fn) -> None:
    """Exercise 12.2: the closed form x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε (arguments x0, alpha_bar_t, eps)."""
    cases = []
    for seed in (1, 2):
        x0, eps, ab = _case(seed)
        cases.append(((x0, ab, eps), ab.sqrt() * x0 + (1 - ab).sqrt() * eps))
    hint = checks.match_mistake(q_sample_fn, [
        (lambda x0, ab, eps: ab * x0 + (1 - ab) * eps,
         "the weights are square roots: ᾱ_t and 1 − ᾱ_t are *variances*; scale by their square roots."),
        (lambda x0, ab, eps: (1 - ab).sqrt() * x0 + ab.sqrt() * eps,
         "the weights are swapped: the signal x_0 gets √ᾱ_t (near 1 for small t)."),
        (lambda x0, ab, eps: ab.sqrt() * x0 + (1 - ab.sqrt()) * eps, "the noise weight is √(1 − ᾱ_t), not 1 − √ᾱ_t."),
    ], cases, atol=1e-5) or "return alpha_bar_t.sqrt() * x0 + (1 - alpha_bar_t).sqrt() * eps."
    checks.check_function("12.2", q_sample_fn, cases, atol=1e-6, hint=hint)


def check_3(x0_fn) -> None:
    """Exercise 12.3: recover x̂_0 from x_t and the predicted noise (arguments x_t, eps_hat, alpha_bar_t)."""
    cases = []
    for seed in (3, 4):
        x0, eps, ab = _case(seed)
        x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
        cases.append(((x_t, eps, ab), x0))
    hint = checks.match_mistake(x0_fn, [
        (lambda x_t, eps, ab: x_t - (1 - ab).sqrt() * eps,
         "you removed the noise but did not divide by √ᾱ_t to undo the signal's shrinking."),
        (lambda x_t, eps, ab: (x_t + (1 - ab).sqrt() * eps) / ab.sqrt(), "sign error: subtract the noise, x_t − √(1 − ᾱ_t) ε̂."),
        (lambda x_t, eps, ab: (x_t - (1 - ab) * eps) / ab, "use square roots: (x_t − √(1 − ᾱ_t) ε̂) / √ᾱ_t."),
    ], cases, atol=1e-5) or "solve x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε for x_0."
    checks.check_function("12.3", x0_fn, cases, atol=1e-5, hint=hint)


def check_4(first_t) -> None:
    """Exercise 12.4: the first t at which the cosine schedule (T = 100) keeps less than half the signal."""
    alpha_bar = diffusion.cosine_schedule(100).alpha_bar
    expected = int(torch.nonzero(alpha_bar < 0.5)[0])
    with_root = int(torch.nonzero(alpha_bar.sqrt() < 0.5)[0])
    if isinstance(first_t, torch.Tensor) and first_t.numel() == 1:
        first_t = first_t.item()
    _, hint = checks.first_mistake(first_t, [
        (lambda t: t in (expected - 1, expected + 1), None,
         "off by one: index t of alpha_bar is time t (alpha_bar[0] = 1 is the clean image)."),
        (lambda t: t == with_root, None, "you compared √ᾱ_t with 0.5: the share of the signal's *variance* is ᾱ_t itself."),
    ]) or (None, "find the first index where alpha_bar < 0.5, e.g. int(torch.nonzero(alpha_bar < 0.5)[0]).")
    checks.check_value("12.4", first_t, expected, hint=hint,
                       success=f"t = {expected}: from there on, noise carries more variance than the digit.")
