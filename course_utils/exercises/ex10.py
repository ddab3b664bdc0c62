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
# Exercise 10.4: one block of the tiny GPT, d_model = 64 (MLP 4x wide, biases everywhere, 4 heads).
D_GPT, GPT_HEADS = 64, 4


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


def block_parameters(d: int) -> int:
    """Parameters of one pre-norm GPT block of width ``d``: attention 4d² + 4d, MLP 8d² + 5d, two LayerNorms 4d."""
    return 12 * d * d + 13 * d


def _block_mistakes(d: int, heads: int) -> list[tuple[int, str]]:
    attention, mlp, norms = 4 * d * d + 4 * d, 8 * d * d + 5 * d, 4 * d
    return [
        (12 * d * d, "you counted the weight matrices only: every nn.Linear(n_in, n_out) also has n_out biases, and "
                     "each LayerNorm has a weight and a bias of size d."),
        (12 * d * d + 9 * d, "the two LayerNorms are missing: each has a weight and a bias of size d (4d in all)."),
        (12 * d * d + 11 * d, "the LayerNorms hold 4d numbers in all: two of them, each with a weight AND a bias of size d."),
        (12 * d * d + 4 * d, "the biases of the four nn.Linear layers are missing: 3d + d in the attention, 4d + d in "
                             "the MLP."),
        (3 * d * d + 3 * d + mlp + norms, "the attention has a fourth matrix: the output projection W_O (d x d, plus "
                                          "d biases) that mixes the heads."),
        (3 * d * d + mlp + norms, "the attention has a fourth matrix, the output projection W_O, and every "
                                  "nn.Linear has biases."),
        (attention + 2 * d * d + 2 * d + norms, "the MLP is 4 times as wide as the model: d -> 4d -> d, so its two "
                                                "matrices hold 4d² each."),
        (attention + 4 * d * d + 4 * d + norms, "the MLP has two nn.Linear layers: d -> 4d and back 4d -> d."),
        (heads * attention + mlp + norms, "the heads share the projections: W_q for all heads together is one d x d "
                                          "matrix (each head uses a d/heads slice), so the count does not depend on "
                                          "the number of heads."),
    ]


def check_4(block_params: Any) -> None:
    """Exercise 10.4: the number of parameters of one block of the tiny GPT with d_model = 64."""
    if checks.unanswered("10.4", block_params, expect="number",
                         hint="write the count as a number or an expression in d, e.g. 3 * d * d + d."):
        return
    answer = checks.as_number(block_params)
    expected = block_parameters(D_GPT)
    found = None
    if not math.isclose(answer, expected):
        found = checks.first_mistake(answer, [(wrong, f"{answer:,.0f} is not the count.", hint)
                                              for wrong, hint in _block_mistakes(D_GPT, GPT_HEADS)], atol=0.5) or (
            f"{answer:,.0f} is not the count.",
            "add up the two nn.Linear layers of the attention (W_q, W_k, W_v in one d -> 3d layer, then W_O d -> d), "
            "the MLP (d -> 4d -> d) and two LayerNorms; every layer has biases.")
    checks.verdict("10.4", found, f"{expected:,} = 12·d² + 13·d: attention 4d² + 4d, MLP 8d² + 5d, two "
                                  "LayerNorms 4d, whatever the number of heads.")


# --------------------------------------------------------------------------- 10.5 top-k filter


def _reference_top_k(logits: torch.Tensor, k: int) -> torch.Tensor:
    kth = logits.topk(k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))


def _top_k_cases() -> list[tuple[tuple, torch.Tensor]]:
    g = torch.Generator().manual_seed(105)
    inputs = [(torch.randn(8, generator=g), 3), (torch.randn(4, 10, generator=g), 1),
              (torch.randn(3, 6, generator=g), 6), (torch.randn(2, 5, generator=g), 4)]
    return [((logits, k), _reference_top_k(logits, k)) for logits, k in inputs]


def _top_k_mistakes() -> list[tuple[Callable, str]]:
    inf = float("-inf")

    def kth(logits, k):
        return logits.topk(k, dim=-1).values[..., -1:]

    return [
        (lambda z, k: z.masked_fill(z <= kth(z, k), inf),
         "you dropped the k-th largest as well (k - 1 are left): keep every logit ≥ the k-th largest, mask only "
         "the strictly smaller ones."),
        (lambda z, k: z.masked_fill(z < z.topk(min(k + 1, z.shape[-1]), dim=-1).values[..., -1:], inf),
         "k + 1 logits survive: the k-th largest is topk(k).values[..., -1] (index k - 1, counting from 0)."),
        (lambda z, k: z.masked_fill(z < kth(z, k), 0.0),
         "a filtered logit must become -inf, so that the softmax gives it probability 0; a logit of 0 still gets "
         "e^0 = 1 before normalising."),
        (lambda z, k: torch.softmax(z.masked_fill(z < kth(z, k), inf), dim=-1),
         "return logits (with -inf for the dropped ones), not probabilities: the softmax comes afterwards, in the "
         "sampling step."),
        (lambda z, k: z.masked_fill(z > z.topk(k, dim=-1, largest=False).values[..., -1:], inf),
         "you kept the k SMALLEST logits: keep the k largest (topk's default, largest=True)."),
        (lambda z, k: z.masked_fill(z < z.topk(min(k, len(z)), dim=0).values[-1:], inf),
         "take the k largest along the LAST dimension (dim=-1): each row is one sequence's scores over the "
         "vocabulary."),
    ]


def check_5(top_k_filter: Callable[[torch.Tensor, int], torch.Tensor] | Any) -> None:
    """Exercise 10.5: ``top_k_filter(logits, k)`` keeps the k largest logits of each row, -inf elsewhere."""
    if checks.unanswered("10.5", top_k_filter, expect="function"):
        return
    cases = _top_k_cases()
    for number, ((logits, k), expected) in enumerate(cases, start=1):
        try:
            got = top_k_filter(logits.clone(), k)
        except Exception:  # not written yet, or a crash: check_function below reports it as a sentence
            break
        if checks.close(got, expected):
            continue
        where = f"test case {number} (logits of shape {tuple(logits.shape)}, k = {k})"
        wrong_answers = []
        for wrong, hint in _top_k_mistakes():
            try:
                wrong_answers.append((wrong(logits.clone(), k), f"{where}: not the k largest logits of each row.", hint))
            except Exception:  # this mistake cannot happen on this case
                continue
        found = checks.first_mistake(got, wrong_answers)
        if found is None and isinstance(got, torch.Tensor) and got.shape != expected.shape:
            found = (f"{where}: the result has shape {tuple(got.shape)}, the logits {tuple(expected.shape)}.",
                     "the result must have the shape of the logits, every token in its place: topk's values alone "
                     "lose which token each one belongs to. Mask the others with -inf instead.")
        if found is None and isinstance(got, torch.Tensor):
            kept = torch.isfinite(got).sum(dim=-1).flatten().tolist()
            if kept == torch.isfinite(expected).sum(dim=-1).flatten().tolist():
                return checks.failed(
                    "10.5", f"{where}: the right number of logits stay finite, but not the right values in their places.",
                    "do not sort or rescale: each kept token keeps its own logit at its own index; only the others "
                    "become -inf.")
            found = (f"{where}: each row should keep {k} finite logits; yours keep {kept}.",
                     "find the k-th largest logit of each row (logits.topk(k, dim=-1).values[..., -1:]) and fill "
                     "every logit below it with float('-inf'); leave the kept ones unchanged.")
        if found is not None:
            return checks.failed("10.5", *found)
        break
    checks.check_function(
        "10.5", top_k_filter, [((z.clone(), k), expected) for (z, k), expected in cases],
        hint="find the k-th largest logit of each row (logits.topk(k, dim=-1).values[..., -1:]) and fill "
             "every logit below it with float('-inf').",
        success="only the k most likely tokens keep a finite logit; the softmax gives every other token 0.",
    )
