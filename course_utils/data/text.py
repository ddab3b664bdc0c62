"""The course's real text, for the character models of notebooks 09 and 10, and the baseline they must beat.

* ``load_shakespeare``: about 300 KB of Shakespeare (the opening of the "tiny Shakespeare" file:
  *Coriolanus* and most of *Richard III*), checksum-verified from ``datasets/shakespeare.txt``.
* ``split_text``: a contiguous train/validation split (the last part of the text is held out, so no
  validation window overlaps a training window).
* ``char_ngram_bits``: bits per character of a smoothed character n-gram model (order 1 counts single
  characters, order 2 counts pairs), the simple baseline a neural language model has to beat.
* ``char_ngram_bits_interpolated``: the stronger baseline, a Witten-Bell interpolated n-gram of any
  order from 1 to 6 (order 4 reads three characters of context), still counted in a few seconds.

Bits per character is the average of -log2 p(next character): a model that knows nothing about a
62-character alphabet pays log2(62) ≈ 5.95 bits, and perplexity is 2 to the power of it.
"""

from __future__ import annotations

import math

import torch

from course_utils.data.files import dataset_path

SHAKESPEARE_FILE = "shakespeare.txt"


def load_shakespeare() -> str:
    """The bundled Shakespeare text (checked against ``datasets/SHA256SUMS`` first)."""
    return dataset_path(SHAKESPEARE_FILE).read_text(encoding="utf-8")


def split_text(text: str, val_fraction: float = 0.1) -> tuple[str, str]:
    """``(train, val)``: the first ``1 - val_fraction`` of ``text`` and the rest, cut at a line break."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1 (exclusive); got {val_fraction!r}.")
    if len(text) < 100:
        raise ValueError(f"split_text needs a text of at least 100 characters; got {len(text)}.")
    cut = int(len(text) * (1.0 - val_fraction))
    newline = text.rfind("\n", 0, cut)
    cut = newline + 1 if newline > 0 else cut
    return text[:cut], text[cut:]


def _check_ids(train_ids: torch.Tensor, eval_ids: torch.Tensor, vocab_size: int, order: int) -> None:
    """Both id tensors 1-D int64, long enough for ``order``, and inside the vocabulary."""
    for name, ids in (("train_ids", train_ids), ("eval_ids", eval_ids)):
        if ids.dim() != 1 or ids.dtype != torch.int64 or len(ids) < order:
            raise ValueError(f"{name} must be a 1-D int64 tensor of at least {order} ids; got "
                             f"{ids.dtype}, shape {tuple(ids.shape)}.")
        if int(ids.min()) < 0 or int(ids.max()) >= vocab_size:
            raise ValueError(f"{name} has ids outside 0..{vocab_size - 1}: encode both with the same vocabulary.")


def char_ngram_bits(train_ids: torch.Tensor, eval_ids: torch.Tensor, vocab_size: int, order: int = 2,
                    smoothing: float = 1.0) -> float:
    """Bits per character on ``eval_ids`` of an n-gram model counted on ``train_ids`` (add-``smoothing``).

    ``order=1`` is the unigram model p(c); ``order=2`` the bigram model p(c | previous c). Each eval
    character after the first ``order - 1`` is scored.
    """
    if order not in (1, 2):
        raise ValueError(f"order must be 1 (unigram) or 2 (bigram); got {order!r}.")
    if smoothing <= 0:
        raise ValueError(f"smoothing must be positive, or an unseen pair gets probability 0; got {smoothing!r}.")
    _check_ids(train_ids, eval_ids, vocab_size, order)
    if order == 1:
        counts = torch.bincount(train_ids, minlength=vocab_size).double() + smoothing
        log_p = torch.log2(counts / counts.sum())
        return float(-log_p[eval_ids].mean())
    pairs = train_ids[:-1] * vocab_size + train_ids[1:]
    counts = torch.bincount(pairs, minlength=vocab_size**2).double().view(vocab_size, vocab_size) + smoothing
    log_p = torch.log2(counts / counts.sum(dim=1, keepdim=True))
    return float(-log_p[eval_ids[:-1], eval_ids[1:]].mean())


def uniform_bits(vocab_size: int) -> float:
    """Bits per character of a model that gives every character the same probability: log2(V)."""
    return math.log2(vocab_size)


def _count_lookup(train_keys: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
    """How often each value of ``query`` occurs in ``train_keys`` (0 for values never seen)."""
    keys, counts = torch.unique(train_keys, return_counts=True)
    where = torch.searchsorted(keys, query).clamp(max=len(keys) - 1)
    return torch.where(keys[where] == query, counts[where], torch.zeros_like(query)).double()


def _context_keys(ids: torch.Tensor, length: int, vocab_size: int) -> torch.Tensor:
    """For every position t >= length, the previous ``length`` ids packed into one int64 key."""
    key = torch.zeros(len(ids) - length, dtype=torch.int64)
    for back in range(length, 0, -1):
        key = key * vocab_size + ids[length - back:len(ids) - back]
    return key


def char_ngram_bits_interpolated(train_ids: torch.Tensor, eval_ids: torch.Tensor, vocab_size: int,
                                 order: int = 3) -> float:
    """Bits per character on ``eval_ids`` of an interpolated character n-gram counted on ``train_ids``.

    Witten-Bell interpolation, with no parameter to tune: the order-k estimate is
    ``p_k(c | h) = (C(h c) + N(h) p_{k-1}(c | shorter h)) / (C(h) + N(h))``, where ``C`` counts in the
    training ids and ``N(h)`` is the number of distinct characters seen after the context ``h``. A
    context seen rarely, or followed by many different characters, leans on the shorter one; an unseen
    context falls back to it entirely. The chain ends at the add-one unigram. ``order=2`` is an
    interpolated bigram, ``order=3`` a trigram (two characters of context), and so on. Every eval
    character from position ``order - 1`` on is scored.
    """
    if not isinstance(order, int) or isinstance(order, bool) or not 1 <= order <= 6:
        raise ValueError(f"order must be an int from 1 (unigram) to 6; got {order!r}.")
    if vocab_size ** order >= 2**62:
        raise ValueError(f"vocab_size {vocab_size} is too large for order {order}: use a lower order.")
    _check_ids(train_ids, eval_ids, vocab_size, order)
    start = order - 1                                       # first scored position of eval_ids
    target = eval_ids[start:]
    counts = torch.bincount(train_ids, minlength=vocab_size).double() + 1.0
    p = (counts / counts.sum())[target]                     # the add-one unigram
    for length in range(1, order):                          # context of `length` characters
        train_ctx = _context_keys(train_ids, length, vocab_size)
        train_full = train_ctx * vocab_size + train_ids[length:]
        eval_ctx = _context_keys(eval_ids, length, vocab_size)[start - length:]
        eval_full = eval_ctx * vocab_size + target
        seen_pair = _count_lookup(train_full, eval_full)
        seen_ctx = _count_lookup(train_ctx, eval_ctx)
        distinct = _count_lookup(torch.unique(train_full) // vocab_size, eval_ctx)
        p = torch.where(seen_ctx > 0, (seen_pair + distinct * p) / (seen_ctx + distinct).clamp(min=1), p)
    return float(-torch.log2(p).mean())
