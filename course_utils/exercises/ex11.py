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
    checks.verdict(exercise, found, "d* = 0.5 and L_D* = 2 ln 2 ≈ 1.386: where G matches the data, smoothing both "
                   "labels by the same amount puts D back at 0.5. That is not why the fake side is left alone: where "
                   "real data never goes (p_data = 0) the best D is β = 0.1, not 0, so D no longer pushes those fakes away.")


# --------------------------------------------------------------------------- 11.2

RATIO = 100.0
D_AT_RATIO = 1 / (1 + RATIO)          # (1 − D) / D = 100  ->  D = 1/101
LOGIT_AT_RATIO = -math.log(RATIO)     # ℓ = ln(D / (1 − D)) = −ln 100


def check_2(d_fake, logit) -> None:
    """Exercise 11.2: the D(G(z)) (and its logit) at which the non-saturating gradient is 100× the saturating one."""
    exercise = "11.2"
    if checks.unanswered(exercise, d_fake, logit):
        return
    d, ell = checks.as_number(d_fake), checks.as_number(logit)
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (d, ell)):
        return checks.failed(exercise, f"expected two numbers, got {d_fake!r} and {logit!r}.",
                             "d_fake is a probability D(G(z)), logit the ℓ with σ(ℓ) = d_fake.")
    found = checks.first_mistake(d, [
        (1 / RATIO, "D = 1/100 makes the saturating gradient 1/100, but the non-saturating one is 1 − D = 0.99, "
                    "99 times more, not 100.", "solve (1 − D) / D = 100 for D."),
        (1 - D_AT_RATIO, "that D makes the *saturating* gradient the larger one.",
         "the saturating loss passes back D(G(z)), the non-saturating one 1 − D(G(z)): the second must be 100× the first."),
        (lambda v: not 0 < v < 1, f"D(G(z)) = {d!r} is not a probability.", "D's output lies strictly between 0 and 1."),
    ], rtol=1e-3, atol=0.0)
    if found is None and not math.isclose(d, D_AT_RATIO, rel_tol=1e-3):
        found = (f"at D(G(z)) = {d!r} the ratio (1 − D) / D is {(1 - d) / d:.4g}, not 100.",
                 "with respect to the logit the two gradients are D and 1 − D: solve (1 − D) / D = 100.")
    if found is not None:
        return checks.failed(exercise, *found)
    found = checks.first_mistake(ell, [
        (math.log(D_AT_RATIO), "that is ln D, not the logit.", "the logit of D is ln(D / (1 − D))."),
        (-LOGIT_AT_RATIO, "the sign is wrong: D(G(z)) < 0.5 needs a negative logit.", "ℓ = ln(D / (1 − D))."),
        (math.log10(D_AT_RATIO / (1 - D_AT_RATIO)), "that is a base-10 logarithm.", "σ uses e: ℓ = ln(D / (1 − D))."),
    ], atol=1e-3)
    if found is None and not math.isclose(ell, LOGIT_AT_RATIO, abs_tol=1e-3):
        found = (f"σ({ell!r}) = {1 / (1 + math.exp(-ell)):.4g}, not your D(G(z)).", "invert D = σ(ℓ): ℓ = ln(D / (1 − D)).")
    checks.verdict(exercise, found, f"D(G(z)) = 1/101 ≈ {D_AT_RATIO:.5f} and ℓ = −ln 100 ≈ {LOGIT_AT_RATIO:.3f}: "
                   "the ratio of the two gradients is (1 − D) / D = e^(−ℓ), so G's extra signal grows "
                   "exponentially as D rejects the fakes more confidently.")


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


def reference_slerp(z0: torch.Tensor, z1: torch.Tensor, n: int) -> torch.Tensor:
    """``n`` points of the spherical interpolation from ``z0`` to ``z1`` (both ends included), shape (n, D)."""
    cos = torch.dot(z0, z1) / (z0.norm() * z1.norm())
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    w = torch.linspace(0.0, 1.0, n, dtype=z0.dtype)[:, None]
    return (torch.sin((1 - w) * omega) * z0 + torch.sin(w * omega) * z1) / torch.sin(omega)


def _norm_report() -> str:
    """Midpoint norms of slerp and of the straight line for 200 random pairs in 16-d (fixed seed)."""
    g = torch.Generator().manual_seed(11)
    pairs = torch.randn(200, 2, DIM, generator=g)
    spherical = torch.stack([reference_slerp(a, b, 3)[1] for a, b in pairs]).norm(dim=1)
    straight = pairs.mean(dim=1).norm(dim=1)
    typical = pairs.norm(dim=2).flatten()
    return (f"over 200 random pairs in 16-d the midpoint norm is {spherical.mean():.2f} ± {spherical.std():.2f} with "
            f"slerp, {straight.mean():.2f} ± {straight.std():.2f} on the straight line, against "
            f"{typical.mean():.2f} ± {typical.std():.2f} for the ends: slerp keeps ‖z‖ typical.")


def check_4(slerp_fn) -> None:
    """Exercise 11.4: spherical interpolation, n points from z0 to z1, both ends included."""
    g = torch.Generator().manual_seed(4)
    z0, z1 = torch.randn(DIM, generator=g), torch.randn(DIM, generator=g)
    a, b = torch.tensor([3.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 1.0])
    cases = [((z0, z1, 5), reference_slerp(z0, z1, 5)), ((a, b, 3), reference_slerp(a, b, 3))]
    hint = checks.match_mistake(slerp_fn, [
        (gans.interpolate_latents, "that is the straight line of section 7: the weights must be sin((1 − w)Ω) / sin Ω "
                                   "and sin(wΩ) / sin Ω."),
        (lambda u, v, n: reference_slerp(v, u, n), "the order is reversed: the first row must be z0."),
        (lambda u, v, n: reference_slerp(u, v, n + 1)[:-1],
         "off by one: the last row must be z1 itself (w = torch.linspace(0, 1, n) includes both ends)."),
        (lambda u, v, n: reference_slerp(u / u.norm(), v / v.norm(), n),
         "your walk lies on the unit sphere: Ω comes from the unit vectors, but the weights multiply z0 and z1 themselves."),
        (lambda u, v, n: reference_slerp(u, v, n).T, "the result is transposed: one row per point, shape (n, D)."),
    ], cases, atol=1e-5) or ("Ω = arccos(z0·z1 / (‖z0‖ ‖z1‖)) (clamp the cosine to [-1, 1]); "
                             "z(w) = (sin((1 − w)Ω) z0 + sin(wΩ) z1) / sin Ω.")
    checks.check_function("11.4", slerp_fn, cases, atol=1e-5, hint=hint, success=_norm_report())
