"""Checks for notebook 11 (GANs)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from course_utils import checks
from course_utils.topics import gans


def _logits(seed: int, n: int = 6) -> torch.Tensor:
    return torch.randn(n, 1, generator=torch.Generator().manual_seed(seed)) * 2


def check_1(d_loss_fn) -> None:
    """Exercise 11.1: the discriminator loss from real and fake logits (sum of two BCE terms)."""
    cases = [((_logits(1), _logits(2)), gans.discriminator_loss(_logits(1), _logits(2))),
             ((_logits(3, 4), _logits(4, 4)), gans.discriminator_loss(_logits(3, 4), _logits(4, 4)))]
    bce = F.binary_cross_entropy_with_logits
    hint = checks.match_mistake(d_loss_fn, [
        (lambda real, fake: bce(real, torch.zeros_like(real)) + bce(fake, torch.ones_like(fake)),
         "the labels are swapped: real samples get target 1, fakes target 0."),
        (lambda real, fake: (bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake))) / 2,
         "you averaged the two terms; here the D loss is their sum (2 ln 2 ≈ 1.386 when D outputs 0.5)."),
        (lambda real, fake: bce(torch.sigmoid(real), torch.ones_like(real)) + bce(torch.sigmoid(fake), torch.zeros_like(fake)),
         "BCEWithLogitsLoss applies the sigmoid itself: pass the raw logits, not torch.sigmoid(logits)."),
        (lambda real, fake: bce(real, torch.ones_like(real)), "only the real term: add the fake term, BCE(fake_logits, zeros)."),
    ], cases, atol=1e-5) or "use F.binary_cross_entropy_with_logits(real_logits, ones) + (fake_logits, zeros)."
    checks.check_function("11.1", d_loss_fn, cases, atol=1e-5, hint=hint)


def check_2(g_loss_fn) -> None:
    """Exercise 11.2: the non-saturating generator loss from the logits D gives to fakes."""
    cases = [((_logits(5),), gans.generator_loss(_logits(5))), ((_logits(6, 3),), gans.generator_loss(_logits(6, 3)))]
    bce = F.binary_cross_entropy_with_logits
    hint = checks.match_mistake(g_loss_fn, [
        (gans.saturating_generator_loss,
         "that is the saturating minimax loss mean log(1 − D(G(z))); its gradient vanishes when D rejects "
         "the fakes confidently. Use the non-saturating −log D(G(z)): BCE with target 1."),
        (lambda fake: bce(fake, torch.zeros_like(fake)),
         "target 0 would teach G to make fakes look fake: G wants D to say 'real', so the target is 1."),
        (lambda fake: bce(torch.sigmoid(fake), torch.ones_like(fake)),
         "pass raw logits to binary_cross_entropy_with_logits, not torch.sigmoid(logits)."),
    ], cases, atol=1e-5) or "the non-saturating loss is F.binary_cross_entropy_with_logits(fake_logits, ones)."
    checks.check_function("11.2", g_loss_fn, cases, atol=1e-5, hint=hint)


def check_3(d_loss_at_equilibrium) -> None:
    """Exercise 11.3: the D loss (real term + fake term) when D outputs 0.5 for every input."""
    expected = 2 * math.log(2)
    answer = d_loss_at_equilibrium
    if isinstance(answer, torch.Tensor) and answer.numel() == 1:
        answer = answer.item()
    _, hint = checks.first_mistake(answer, [
        (0.5, None, "0.5 is D's *output* at the equilibrium, not its loss: the loss is −log 0.5 per term."),
        (math.log(2), None, "ln 2 ≈ 0.693 is one term; the D loss adds the real term and the fake term."),
    ], atol=1e-3) or (None, "each BCE term is −log(0.5) = ln 2 when D outputs 0.5; add the two terms.")
    checks.check_value("11.3", answer, expected, tol=1e-3, hint=hint,
                       success=f"2 ln 2 ≈ {expected:.4f}: a D loss near this value means D is guessing.")


def check_4(interpolate_fn) -> None:
    """Exercise 11.4: n evenly spaced latent vectors from z0 to z1, both ends included."""
    z0 = torch.tensor([0.0, 2.0, -1.0])
    z1 = torch.tensor([1.0, 0.0, 3.0])
    cases = [((z0, z1, 5), gans.interpolate_latents(z0, z1, 5)), ((z1, z0, 2), gans.interpolate_latents(z1, z0, 2))]
    hint = checks.match_mistake(interpolate_fn, [
        (lambda a, b, n: gans.interpolate_latents(a, b, n + 1)[:-1],
         "off by one: the last row must be z1 itself (linspace(0, 1, n) includes both ends)."),
        (lambda a, b, n: gans.interpolate_latents(b, a, n), "the order is reversed: the first row must be z0."),
        (lambda a, b, n: gans.interpolate_latents(a, b, n).T,
         "the result is transposed: one row per interpolated latent, shape (n, D)."),
    ], cases, atol=1e-5) or "weights w = torch.linspace(0, 1, n)[:, None]; return (1 - w) * z0 + w * z1."
    checks.check_function("11.4", interpolate_fn, cases, atol=1e-6, hint=hint)
