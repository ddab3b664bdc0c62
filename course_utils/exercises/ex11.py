"""Checks for notebook 11 (GANs)."""

from __future__ import annotations

import math

import torch

from course_utils import checks
from course_utils.topics import gans

# --------------------------------------------------------------------------- 11.1


def two_sided_loss(d: float, real_label: float = 0.9, fake_label: float = 0.1) -> float:
    """D's loss (real term + fake term) when it outputs ``d`` for every sample, with smoothed targets."""
    real = -(real_label * math.log(d) + (1 - real_label) * math.log(1 - d))
    fake = -(fake_label * math.log(d) + (1 - fake_label) * math.log(1 - d))
    return real + fake


ONE_SIDED = gans.equilibrium(0.9)


def check_1(d_star, d_loss_star) -> None:
    """Exercise 11.1: the equilibrium of D with two-sided label smoothing (real 0.9, fake 0.1)."""
    exercise = "11.1"
    if checks.unanswered(exercise, d_star, d_loss_star):
        return
    d, loss = checks.as_number(d_star), checks.as_number(d_loss_star)
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (d, loss)):
        return checks.failed(exercise, f"expected two numbers, got {d_star!r} and {d_loss_star!r}.",
                             "d_star is D's output (a probability), d_loss_star its loss (a positive number).")
    found = checks.first_mistake(d, [
        (ONE_SIDED.d_output, "d* = 0.45 is the one-sided answer.",
         "the fake target 0.1 adds 0.1 ln d to the fake term too: collect the ln d and ln(1 − d) terms of both."),
        (0.9, "D cannot output 0.9 everywhere: half of what it sees are fakes with target 0.1.",
         "write L_D(d) with both terms, collect the ln d and ln(1 − d) coefficients, and set the derivative to 0."),
        (lambda v: not 0 < v < 1, f"d* = {d!r} is not a probability.", "D's output lies strictly between 0 and 1."),
    ], atol=1e-3)
    if found is None and not math.isclose(d, 0.5, abs_tol=1e-3):
        found = (f"d* = {d!r} does not minimise D's loss.",
                 "the ln d terms add up to 0.9 + 0.1 = 1, the ln(1 − d) terms to 0.1 + 0.9 = 1: minimise −ln d − ln(1 − d).")
    if found is not None:
        return checks.failed(exercise, *found)
    found = checks.first_mistake(loss, [
        (ONE_SIDED.d_loss, "≈ 1.376 is the one-sided equilibrium loss.", "put d* = 0.5 into both smoothed terms."),
        (math.log(2), "ln 2 ≈ 0.693 is one term only.", "the loss is the real term plus the fake term."),
        (0.5, "0.5 is D's output, not its loss.", "each term is −0.9 ln 0.5 − 0.1 ln 0.5 = ln 2."),
    ], atol=1e-3)
    if found is None and not math.isclose(loss, two_sided_loss(0.5), abs_tol=1e-3):
        found = (f"L_D* = {loss!r} is not D's loss at d = 0.5.", "each term is −0.9 ln 0.5 − 0.1 ln 0.5 = ln 2; add the two.")
    checks.verdict(exercise, found, "d* = 0.5 and L_D* = 2 ln 2 ≈ 1.386: with both labels smoothed by the same "
                   "amount the equilibrium is the unsmoothed one again; only one-sided smoothing moves it to 0.45.")


# --------------------------------------------------------------------------- 11.2

LOGIT = -5.0
P_FAKE = 1 / (1 + math.exp(-LOGIT))  # σ(−5) ≈ 0.0067


def check_2(grad_saturating, grad_non_saturating) -> None:
    """Exercise 11.2: sizes of both generator losses' gradients w.r.t. the logit ℓ = −5."""
    exercise = "11.2"
    if checks.unanswered(exercise, grad_saturating, grad_non_saturating):
        return
    sat, ns = checks.as_number(grad_saturating), checks.as_number(grad_non_saturating)
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (sat, ns)):
        return checks.failed(exercise, f"expected two numbers, got {grad_saturating!r} and {grad_non_saturating!r}.")
    got = (abs(sat), abs(ns))
    p = P_FAKE
    mistakes = [
        ((1 - p, p), "the two are swapped.",
         "the saturating loss log(1 − σ(ℓ)) has derivative −σ(ℓ), tiny when σ(ℓ) ≈ 0; −log σ(ℓ) has −(1 − σ(ℓ))."),
        ((1 / (1 - p), 1 / p), "those are the derivatives with respect to D = σ(ℓ), not the logit.",
         "chain rule: multiply by dD/dℓ = σ(ℓ)(1 − σ(ℓ))."),
        ((p * (1 - p), p * (1 - p)), "that is σ'(ℓ) alone.",
         "multiply it by the loss's derivative with respect to D: −1/(1 − D) and −1/D."),
        ((abs(math.log(1 - p)), -math.log(p)), "those are the losses' values, not their gradients.",
         "differentiate: d/dℓ log(1 − σ(ℓ)) = −σ(ℓ)."),
    ]
    found = None
    if not (math.isclose(got[0], p, rel_tol=1e-3) and math.isclose(got[1], 1 - p, rel_tol=1e-3)):
        for (wrong_sat, wrong_ns), problem, hint in mistakes:
            if math.isclose(got[0], wrong_sat, rel_tol=1e-3) and math.isclose(got[1], wrong_ns, rel_tol=1e-3):
                found = (problem, hint)
                break
        else:
            found = (f"({sat!r}, {ns!r}) are not the two gradient sizes at ℓ = −5.",
                     "with D = σ(ℓ): d/dℓ log(1 − D) = −σ(ℓ) and d/dℓ (−log D) = −(1 − σ(ℓ)).")
    checks.verdict(exercise, found, f"|∂L/∂ℓ| is σ(−5) ≈ {p:.4f} for the saturating loss and 1 − σ(−5) ≈ {1 - p:.4f} "
                   f"for the non-saturating one: about e⁵ ≈ {(1 - p) / p:.0f}× more signal for G when D is confident.")


# --------------------------------------------------------------------------- 11.3

DIM = 16
QUARTER = 0.25


def check_3(rms_norm_quarter) -> None:
    """Exercise 11.3: the root-mean-square norm of (1 − w) z0 + w z1 at w = 1/4 in 16 dimensions."""
    exercise = "11.3"
    if checks.unanswered(exercise, rms_norm_quarter, expect="number"):
        return
    answer = checks.as_number(rms_norm_quarter)
    factor = (1 - QUARTER) ** 2 + QUARTER**2
    expected = math.sqrt(DIM * factor)
    _, hint = checks.first_mistake(answer, [
        (math.sqrt(DIM), None, "√16 = 4 is the typical norm of one z; a mix of two independent vectors has a "
                               "smaller variance per coordinate: (1 − w)² + w²."),
        (math.sqrt(DIM / 2), None, "√8 ≈ 2.83 is the midpoint (w = 1/2); at w = 1/4 the weights are 0.75 and 0.25."),
        (DIM * factor, None, "10 is E‖z‖²: take the square root."),
        (math.sqrt(DIM) * factor, None, "the variance per coordinate is scaled by (1 − w)² + w²; the norm by its square root."),
    ], atol=1e-2) or (None, "each coordinate of (1 − w) z0 + w z1 has variance (1 − w)² + w²; sum over 16 coordinates, "
                           "then take the square root.")
    checks.check_value(exercise, answer, expected, tol=1e-2, hint=hint,
                       success=f"√(16 · (0.75² + 0.25²)) = √10 ≈ {expected:.3f}, between the midpoint's ≈ 2.83 and the "
                               "typical ≈ 4: every inner point of a straight walk has a smaller norm than a typical z, the smallest at w = 1/2.")


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
