"""Checks for notebook 11 (GANs)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from course_utils import checks
from course_utils.topics import gans


def _first_output(fn: Callable, args: tuple) -> torch.Tensor | None:
    """The learner's result on the first case, or None when it is not usable (checks report why)."""
    if not callable(fn):
        return None
    try:
        out = fn(*args)
    except Exception:  # NotImplementedError and bugs are reported by check_function
        return None
    return out if isinstance(out, torch.Tensor) else None


def _hint_for(got: torch.Tensor | None, variants: Sequence[tuple[torch.Tensor, str]], default: str) -> str:
    if got is not None:
        for value, hint in variants:
            if got.shape == value.shape and torch.allclose(got.double(), value.double(), atol=1e-5):
                return hint
    return default


def _logits(seed: int, n: int = 6) -> torch.Tensor:
    return torch.randn(n, 1, generator=torch.Generator().manual_seed(seed)) * 2


def check_1(d_loss_fn) -> None:
    """Exercise 11.1: the discriminator loss from real and fake logits (sum of two BCE terms)."""
    cases = [((_logits(1), _logits(2)), gans.discriminator_loss(_logits(1), _logits(2))),
             ((_logits(3, 4), _logits(4, 4)), gans.discriminator_loss(_logits(3, 4), _logits(4, 4)))]
    real, fake = cases[0][0]
    bce = F.binary_cross_entropy_with_logits
    ones, zeros = torch.ones_like(real), torch.zeros_like(real)
    variants = [
        (bce(real, zeros) + bce(fake, ones), "the labels are swapped: real samples get target 1, fakes target 0."),
        ((bce(real, ones) + bce(fake, zeros)) / 2,
         "you averaged the two terms; here the D loss is their sum (2 ln 2 ≈ 1.386 when D outputs 0.5)."),
        (bce(torch.sigmoid(real), ones) + bce(torch.sigmoid(fake), zeros),
         "BCEWithLogitsLoss applies the sigmoid itself: pass the raw logits, not torch.sigmoid(logits)."),
        (bce(real, ones), "only the real term: add the fake term, BCE(fake_logits, zeros)."),
    ]
    hint = _hint_for(_first_output(d_loss_fn, cases[0][0]), variants,
                     "use F.binary_cross_entropy_with_logits(real_logits, ones) + (fake_logits, zeros).")
    checks.check_function("11.1", d_loss_fn, cases, atol=1e-5, hint=hint)


def check_2(g_loss_fn) -> None:
    """Exercise 11.2: the non-saturating generator loss from the logits D gives to fakes."""
    cases = [((_logits(5),), gans.generator_loss(_logits(5))), ((_logits(6, 3),), gans.generator_loss(_logits(6, 3)))]
    fake = cases[0][0][0]
    bce = F.binary_cross_entropy_with_logits
    variants = [
        (gans.saturating_generator_loss(fake),
         "that is the saturating minimax loss mean log(1 − D(G(z))); its gradient vanishes when D rejects "
         "the fakes confidently. Use the non-saturating −log D(G(z)): BCE with target 1."),
        (bce(fake, torch.zeros_like(fake)),
         "target 0 would teach G to make fakes look fake: G wants D to say 'real', so the target is 1."),
        (bce(torch.sigmoid(fake), torch.ones_like(fake)),
         "pass raw logits to binary_cross_entropy_with_logits, not torch.sigmoid(logits)."),
    ]
    hint = _hint_for(_first_output(g_loss_fn, cases[0][0]), variants,
                     "the non-saturating loss is F.binary_cross_entropy_with_logits(fake_logits, ones).")
    checks.check_function("11.2", g_loss_fn, cases, atol=1e-5, hint=hint)


def check_3(d_loss_at_equilibrium) -> None:
    """Exercise 11.3: the D loss (real term + fake term) when D outputs 0.5 for every input."""
    expected = 2 * math.log(2)
    answer = d_loss_at_equilibrium
    if isinstance(answer, torch.Tensor) and answer.numel() == 1:
        answer = answer.item()
    if isinstance(answer, int | float) and math.isclose(answer, 0.5, abs_tol=1e-3):
        hint = "0.5 is D's *output* at the equilibrium, not its loss: the loss is −log 0.5 per term."
    elif isinstance(answer, int | float) and math.isclose(answer, math.log(2), abs_tol=1e-3):
        hint = "ln 2 ≈ 0.693 is one term; the D loss adds the real term and the fake term."
    else:
        hint = "each BCE term is −log(0.5) = ln 2 when D outputs 0.5; add the two terms."
    checks.check_value("11.3", answer, expected, tol=1e-3, hint=hint,
                       success=f"2 ln 2 ≈ {expected:.4f}: a D loss near this value means D is guessing.")


def check_4(interpolate_fn) -> None:
    """Exercise 11.4: n evenly spaced latent vectors from z0 to z1, both ends included."""
    z0 = torch.tensor([0.0, 2.0, -1.0])
    z1 = torch.tensor([1.0, 0.0, 3.0])
    cases = [((z0, z1, 5), gans.interpolate_latents(z0, z1, 5)), ((z1, z0, 2), gans.interpolate_latents(z1, z0, 2))]
    steps = torch.linspace(0, 1, 6)[:-1, None]
    variants = [
        ((1 - steps) * z0 + steps * z1, "off by one: the last row must be z1 itself (linspace(0, 1, n) includes both ends)."),
        (gans.interpolate_latents(z1, z0, 5), "the order is reversed: the first row must be z0."),
        (gans.interpolate_latents(z0, z1, 5).T, "the result is transposed: one row per interpolated latent, shape (n, D)."),
    ]
    hint = _hint_for(_first_output(interpolate_fn, cases[0][0]), variants,
                     "weights w = torch.linspace(0, 1, n)[:, None]; return (1 - w) * z0 + w * z1.")
    checks.check_function("11.4", interpolate_fn, cases, atol=1e-6, hint=hint)
