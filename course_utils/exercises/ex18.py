"""Checks for notebook 18 (autoencoders and variational autoencoders)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from course_utils import checks

# exercise 18.1: a decoder stack whose output shape the learner predicts
DECODER_INPUT_SHAPE = (1, 8, 3, 3)


def decoder_stack() -> nn.Sequential:
    """ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1), then ConvTranspose2d(4, 1, 5)."""
    return nn.Sequential(nn.ConvTranspose2d(8, 4, kernel_size=3, stride=2, padding=1, output_padding=1),
                         nn.ConvTranspose2d(4, 1, kernel_size=5))


def decoder_output_shape() -> tuple[int, ...]:
    with torch.no_grad():
        return tuple(decoder_stack()(torch.zeros(DECODER_INPUT_SHAPE)).shape)


# exercise 18.2: a VAE on 8x8 digits with an 8-d code, batches of 128, trained with a mean-reduced BCE
PIXELS, LATENT, BATCH_SIZE = 64, 8, 128

# exercise 18.3: anomaly scores of four normal digits and three anomalies
AUC_NORMAL = (0.1, 0.4, 0.35, 0.8)
AUC_ANOMALY = (0.9, 0.4, 0.5)


def _as_shape(value: Any) -> tuple | None:
    if isinstance(value, torch.Size):
        return tuple(value)
    if isinstance(value, list | tuple) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return tuple(value)
    return None


def check_1(shape: Any) -> None:
    """Exercise 18.1: the output shape of ``decoder_stack()`` on an input of shape (1, 8, 3, 3)."""
    exercise, expected = "18.1", decoder_output_shape()
    if checks.is_placeholder(shape):
        return checks.not_done(exercise)
    got = _as_shape(shape)
    if got is None:
        return checks.failed(exercise, f"give the shape as a tuple of ints, like (1, 2, 3, 4); got {shape!r}.")
    found = checks.first_mistake(got, [
        ((1, 1, 9, 9), "that forgets output_padding=1 of the first layer: it adds one row and one column.",
         "first layer: (3 − 1)·2 − 2·1 + (3 − 1) + 1 + 1."),
        ((1, 4, 6, 6), "that is the shape after the first layer only.", "the second layer (kernel 5, stride 1) grows it again."),
        ((1, 4, 10, 10), "the last layer has 1 output channel, not 4.", None),
        ((1, 1, 2, 2), "that is the formula of an ordinary Conv2d, which shrinks; a transposed convolution grows.",
         "H_out = (H_in − 1)·stride − 2·padding + (kernel − 1) + output_padding + 1."),
        (lambda a: len(a) != 4, "a batch of images has four dimensions: (batch, channels, height, width).", None),
    ])
    if found is not None:
        return checks.failed(exercise, *found)
    checks.check_condition(exercise, got, lambda a: a == expected,
                           failure=f"the shape {got} is not what the stack gives.",
                           hint="apply H_out = (H_in − 1)·stride − 2·padding + (kernel − 1) + output_padding + 1 "
                                "layer by layer.",
                           success=f"3 → (3 − 1)·2 − 2 + 2 + 1 + 1 = 6 → (6 − 1)·1 + 4 + 1 = 10, so {expected}.")


def _near(x: float, rel: float = 1e-3) -> Any:
    return lambda a: isinstance(a, int | float) and not isinstance(a, bool) and math.isclose(a, x, rel_tol=rel)


def check_2(effective_beta: Any, predicted_rate: Any) -> None:
    """Exercise 18.2: the β that mean-reduced BCE + summed KL amounts to, and the rate it reaches."""
    exercise = "18.2"
    if checks.unanswered(exercise, effective_beta, predicted_rate):
        return
    beta, rate = checks.as_number(effective_beta), checks.as_number(predicted_rate)
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (beta, rate)):
        return checks.failed(exercise, "give two numbers: the equivalent β and a rate in nats per image.")
    found = checks.first_mistake(beta, [
        (_near(1.0), "β = 1 would need the BCE summed over the 64 pixels; reduction='mean' divides it by 64.",
         "write the colleague's loss as (1/64)·(Σ_pixels BCE + ? · KL)."),
        (_near(1 / PIXELS), "the wrong way round: shrinking the distortion by 64 makes the KL weigh 64 times more.",
         "multiply the whole loss by 64: a constant factor does not change the minimum."),
        (_near(BATCH_SIZE), "the batch mean is in both terms, so the batch size cancels; count the pixels.", None),
        (_near(float(LATENT)), "the KL is summed over the latent dimensions in both losses; the 64 pixels differ.", None),
        (lambda a: not _near(float(PIXELS))(a), f"{beta!r} is not the equivalent β.",
         "the mean over pixels divides the distortion by the number of pixels, 64."),
    ])
    if found is None:
        found = checks.first_mistake(rate, [
            (lambda a: a < 0, "a KL, and so the rate, is never negative.", None),
            (lambda a: a > 0.5, f"with β = {PIXELS} the code cannot afford {rate!r} nats: section 9's β = 4 "
             "already switched it off.", "each nat of rate costs 64 nats of loss; what is the cheapest rate?"),
        ])
    checks.verdict(exercise, found, f"loss = (1/{PIXELS})·(distortion + {PIXELS}·rate): a β-VAE with β = {PIXELS}. "
                                    "The code collapses to the prior (rate ≈ 0) and every image decodes to the same "
                                    "average digit; sum the BCE over the pixels.")


def pairwise_auc(normal: tuple[float, ...] = AUC_NORMAL, anomaly: tuple[float, ...] = AUC_ANOMALY) -> float:
    """P(anomaly scores higher than normal) + ½ P(tie), over all pairs."""
    wins = sum((a > n) + 0.5 * (a == n) for a in anomaly for n in normal)
    return wins / (len(anomaly) * len(normal))


def check_3(predicted: Any) -> None:
    """Exercise 18.3: the AUC of the seven scores in ``AUC_NORMAL`` and ``AUC_ANOMALY``, by counting pairs."""
    exercise, expected = "18.3", pairwise_auc()
    value = checks.as_number(predicted)
    if checks.is_placeholder(value):
        return checks.not_done(exercise)
    n_pairs = len(AUC_NORMAL) * len(AUC_ANOMALY)

    found = checks.first_mistake(value, [
        (_near(9 / n_pairs), "that counts the tie (0.4 against 0.4) as a loss; a tie counts half.", None),
        (_near(10 / n_pairs), "that counts the tie (0.4 against 0.4) as a win; a tie counts half.", None),
        (_near(1 - expected), "that is 1 − AUC: the probability that a *normal* digit scores higher.", None),
        (lambda a: isinstance(a, int | float) and not 0 <= a <= 1, "an AUC is a probability, between 0 and 1.", None),
    ])
    if found is not None:
        return checks.failed(exercise, *found)
    checks.check_value(exercise, value, expected, tol=1e-3,
                       hint=f"count, over all {n_pairs} (anomaly, normal) pairs, how often the anomaly scores higher; "
                            "ties count ½.",
                       success=f"(4 + 2.5 + 3) / {n_pairs} = {expected:.4f}: the AUC is the chance that a random "
                               "anomaly outscores a random normal digit.")
