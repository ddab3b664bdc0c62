"""Checks for notebook 19 (self-supervised and contrastive learning)."""

from __future__ import annotations

import math
from typing import Any

from course_utils import checks

# exercise 19.1: a CLIP batch of B image-caption pairs over K equally common classes, captions naming only the class
CLIP_BATCH, CLASSES = 64, 10
# exercise 19.2: SimCLR's batch in section 3: N images, temperature TAU, perfect pairs and orthogonal negatives
N_SIMCLR, TAU = 256, 0.5
# exercise 19.3: one anchor at a small temperature, its partner's cosine and the hardest negative's
TAU_SMALL, COS_PARTNER, COS_HARDEST = 0.01, 0.8, 0.9


def clip_floor(batch: int = CLIP_BATCH, classes: int = CLASSES) -> float:
    """log(B / K): an image spreads its probability evenly over the B / K captions of its class."""
    return math.log(batch / classes)


def loss_perfect(n: int = N_SIMCLR, tau: float = TAU) -> float:
    """NT-Xent when each pair is identical and all other pairs orthogonal: log(1 + (2n − 2)·exp(−1/τ))."""
    return math.log(1 + (2 * n - 2) * math.exp(-1 / tau))


def loss_wrong_favourite(tau: float = TAU_SMALL, partner: float = COS_PARTNER, hardest: float = COS_HARDEST) -> float:
    """At a small τ only the hardest negative competes with the partner: ≈ (hardest − partner) / τ."""
    return (hardest - partner) / tau + math.log(1 + math.exp(-(hardest - partner) / tau))


def _number_check(exercise: str, answer: Any, expected: float, tol: float, hint: str, mistakes: dict[float, str],
                  success: str) -> None:
    """A number to predict: ``mistakes`` maps the value of each typical mistake to what went wrong."""
    if checks.unanswered(exercise, answer, expect="number"):
        return
    value = float(checks.as_number(answer))
    found = checks.first_mistake(value, [(wrong, problem, hint) for wrong, problem in mistakes.items()], atol=1e-3)
    if found is None and not math.isclose(value, expected, abs_tol=tol):
        found = (f"{value:.4g} is not it.", hint)
    checks.verdict(exercise, found, success)


def check_1(loss: Any) -> None:
    """Exercise 19.1: the lowest image-to-text loss in a CLIP batch of 64 when the captions name only the class."""
    b, k = CLIP_BATCH, CLASSES
    _number_check("19.1", loss, clip_floor(), 0.1, "the image knows its class; among the 64 captions, how many "
                  "name that class, and which of them is its own?", {
        math.log(b): "that is the loss of an image that cannot tell any caption apart; a trained one can rule out "
                     "the other classes.",
        math.log(k): "10 is the number of classes, but the image chooses among the captions of the batch, and "
                     "B / K of them name its class.",
        math.log(b / k - 1): "the image's own caption is one of the B / K captions of its class.",
        0.0: "the captions of one class are interchangeable (false negatives), so no model can pick its own.",
    }, f"log(64 / 10) = log 6.4 ≈ {clip_floor():.2f}: about 6 captions in the batch name the image's class and "
       "nothing tells them apart, so even a perfect model pays this loss; see the printed floor below.")


def check_2(loss: Any) -> None:
    """Exercise 19.2: NT-Xent for N = 256 perfect pairs (identical within, orthogonal across) at τ = 0.5."""
    n, e = N_SIMCLR, math.exp(-1 / TAU)
    logits_times_tau = math.log(1 + (2 * n - 2) * math.exp(-TAU))
    _number_check("19.2", loss, loss_perfect(), 1e-3, "positive logit 1/τ = 2; the other candidates are the "
                  "2N − 2 negatives, each with logit 0.", {
        math.log(2 + (2 * n - 2) * e): "you kept the view itself (similarity 1) in the denominator.",
        math.log(1 + (2 * n - 1) * e): "there are 2N − 2 negatives per view, not 2N − 1: one of the 2N − 1 "
                                       "candidates is the positive.",
        math.log(1 + (n - 1) * e): "each view has 2N − 2 negatives: both views of every other image.",
        logits_times_tau: "the logits are similarities divided by τ, not multiplied by it.",
        0.0: "orthogonal negatives still have logit 0, so exp(0) = 1 each stays in the denominator.",
    }, f"log(1 + 510·e⁻²) ≈ {loss_perfect():.2f}: with 510 negatives even perfect pairs pay a loss at τ = 0.5, so "
       "the last epoch of section 3 is much closer to the floor than to 0.")


def check_3(loss: Any) -> None:
    """Exercise 19.3: the loss of one anchor at τ = 0.01 when the hardest negative beats the partner."""
    gap, tau = COS_HARDEST - COS_PARTNER, TAU_SMALL
    _number_check("19.3", loss, loss_wrong_favourite(), 0.05, "at τ = 0.01 the logits are 80 and 90; only these "
                  "two matter. What is −log of the partner's share?", {
        0.0: "the softmax is confident, but on the wrong view: the partner gets almost no probability.",
        gap: "the logits are the similarities divided by τ = 0.01, so the gap is 10, not 0.1.",
        -gap / tau: "a cross-entropy is never negative: the partner is behind, so the loss is large.",
        math.log(2): "at this τ the two are far from a tie: e⁹⁰ outweighs e⁸⁰ by e¹⁰.",
    }, f"(0.9 − 0.8) / 0.01 ≈ {loss_wrong_favourite():.2f}: at a small τ the loss of an anchor is the margin by "
       "which the hardest negative beats its partner, divided by τ, so a few hard negatives dominate the gradient.")
