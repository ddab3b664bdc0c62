"""Checks for notebook 10 (transformers)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from course_utils import checks

# Exercise 10.1: d_model 256 split over 4 heads.
D_MODEL, HEADS = 256, 4
# Exercise 10.2: cross-attention, 2 sequences of 5 queries, 7 keys, 4 heads of size 16.
BATCH, N_HEADS, L_QUERIES, L_KEYS, D_HEAD = 2, 4, 5, 7, 16
# Exercise 10.4: ViT-Base on 224x224 RGB images with 16x16 patches.
IMAGE, PATCH, CHANNELS = 224, 16, 3


def _as_tuple(answer: Any) -> Any:
    if isinstance(answer, torch.Size | list):
        return tuple(int(d) for d in answer)
    return answer


def check_1(scale: Any) -> None:
    """Exercise 10.1: the factor that multiplies the scores q·k for d_model = 256 and 4 heads."""
    d_k = D_MODEL // HEADS
    expected = 1 / math.sqrt(d_k)
    _, hint = checks.first_mistake(scale, [
        (1 / d_k, None, "you divided by d_k itself; the scale is 1/√d_k (the standard deviation of q·k grows like √d_k)."),
        (math.sqrt(d_k), None, "√d_k is right, but the scores are DIVIDED by it: the factor is 1/√d_k."),
        (1 / math.sqrt(D_MODEL), None, "each head works in d_k = d_model / heads = 64 dimensions, not in d_model = 256."),
        (1.0, None, "without scaling, the scores grow with d_k and the softmax saturates: divide by √d_k."),
    ], atol=1e-9) or (None, "divide by the square root of the size of ONE head's keys: d_k = d_model / heads.")
    checks.check_value("10.1", scale, expected, tol=1e-9, hint=hint,
                       success=f"the scores are multiplied by 1/√{d_k} = {expected:.4f}.")


def check_2(weights_shape: Any) -> None:
    """Exercise 10.2: the shape of the attention weights of a multi-head cross-attention."""
    expected = (BATCH, N_HEADS, L_QUERIES, L_KEYS)
    answer = _as_tuple(weights_shape)
    hints = {
        (BATCH, N_HEADS, L_KEYS, L_QUERIES): "rows and columns are swapped: there is one ROW per query "
        "(5 of them), and each row is a softmax over the 7 keys.",
        (BATCH, L_QUERIES, L_KEYS): "the heads are missing: each of the 4 heads has its own weight matrix.",
        (BATCH, N_HEADS, L_QUERIES, D_HEAD): "that is the shape of the per-head OUTPUT (weights @ values); "
        "the weights compare every query with every key.",
        (BATCH, L_QUERIES, N_HEADS * D_HEAD): "that is the shape of the final output after merging the heads; "
        "the weights compare every query with every key.",
        (BATCH, N_HEADS, L_QUERIES, L_QUERIES): "in cross-attention the keys come from the other sequence: "
        "there are 7 keys, not 5.",
    }
    hint = hints.get(answer, "write (batch, heads, number of queries, number of keys).") if isinstance(
        answer, tuple) else "give the shape as a tuple of ints, e.g. (1, 2, 3, 4)."
    checks.check_value("10.2", answer, expected, hint=hint, success=f"{expected}: one row per query, one column per key, for each head.")


def _reference_causal_softmax(scores: torch.Tensor) -> torch.Tensor:
    length = scores.shape[-1]
    allowed = torch.ones(length, length, dtype=torch.bool).tril()
    return torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1)


def _causal_mistakes(scores: torch.Tensor) -> list[tuple[torch.Tensor, str, str]]:
    """The weights that the typical mistakes give for ``scores``, for ``checks.first_mistake``."""
    lower = torch.ones(scores.shape[-1], scores.shape[-1], dtype=torch.bool).tril()
    problem = "the weights are not right yet."
    return [
        (torch.softmax(scores.masked_fill(~lower.T, float("-inf")), dim=-1), problem,
         "each position sees the FUTURE here: keep j ≤ i (torch.tril), block j > i."),
        (torch.softmax(scores.masked_fill(~lower, 0.0), dim=-1), problem,
         "blocked scores set to 0 (masked_fill with 0, or scores * mask) still get weight exp(0) in the "
         "softmax: fill them with float('-inf')."),
        (torch.softmax(scores.masked_fill(~lower, float("-inf")), dim=-2), problem,
         "the softmax runs over the keys, the LAST dimension (dim=-1): each row must sum to 1."),
        (torch.softmax(scores, dim=-1) * lower, problem,
         "masking AFTER the softmax leaves rows that no longer sum to 1: mask the scores, then take the softmax."),
        (torch.softmax(scores.masked_fill(~lower.tril(-1), float("-inf")), dim=-1), problem,
         "a position must also see ITSELF: keep the diagonal (torch.tril with diagonal=0)."),
        (torch.softmax(scores, dim=-1), problem, "nothing was masked: block every key j > i before the softmax."),
    ]


def check_3(causal_softmax: Callable[[torch.Tensor], torch.Tensor] | Any) -> None:
    """Exercise 10.3: ``causal_softmax(scores)`` -> weights where position i attends only to j ≤ i."""
    generator = torch.Generator().manual_seed(10)
    cases = [
        (torch.randn(4, 4, generator=generator),),
        (torch.randn(2, 3, 6, 6, generator=generator),),
    ]
    expected = [(args, _reference_causal_softmax(args[0])) for args in cases]
    for (scores,) in cases:  # a typical mistake on any case is named; a clone keeps in-place edits out of the cases
        try:
            got = causal_softmax(scores.clone())
        except Exception:  # a placeholder, not written yet, or broken: check_function reports it as a sentence
            break
        found = checks.first_mistake(got, _causal_mistakes(scores), atol=1e-5)
        if found:
            return checks.failed("10.3", *found)
    checks.check_function(
        "10.3", causal_softmax, expected,
        hint="fill the scores above the diagonal with -inf, then softmax over the last dimension.",
        success="each position attends only to itself and earlier positions, and each row sums to 1.",
    )


def check_4(n_tokens: Any, patch_dim: Any) -> None:
    """Exercise 10.4: tokens entering a ViT-Base encoder and the length of one flattened patch."""
    per_side = IMAGE // PATCH
    expected_tokens = per_side * per_side + 1
    expected_dim = PATCH * PATCH * CHANNELS
    if checks.unanswered("10.4", n_tokens, patch_dim):
        return
    token_hints = {
        per_side * per_side: "that counts the patches; the class token [CLS] is one more token.",
        per_side: "that is the number of patches along ONE side; the image has that many rows of them.",
        per_side + 1: "that is one side plus the class token: the patches form a 14 x 14 grid.",
        IMAGE * IMAGE // PATCH + 1: "divide the number of pixels by the pixels per patch (16 x 16), not by 16.",
    }
    if n_tokens != expected_tokens:
        checks.check_value("10.4", n_tokens, expected_tokens,
                           hint=token_hints.get(n_tokens, "(224 / 16)² patches, plus one class token."))
        return
    dim_hints = {
        PATCH * PATCH: "the images are RGB: each patch has 3 colour channels of 16 x 16 pixels.",
        PATCH * CHANNELS: "a patch is 16 x 16 pixels (two sides), times 3 channels.",
    }
    checks.check_value(
        "10.4", patch_dim, expected_dim,
        hint=dim_hints.get(patch_dim, "pixels per patch (16 x 16) times colour channels (3)."),
        success=f"{expected_tokens} tokens (14 x 14 patches + [CLS]), each patch a vector of {expected_dim} numbers.",
    )
