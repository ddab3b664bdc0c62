"""The course's real text, for the character models of notebooks 09 and 10, and the baseline they must beat.

* ``load_shakespeare``: about 300 KB of Shakespeare (the opening of the "tiny Shakespeare" file:
  *Coriolanus* and most of *Richard III*), checksum-verified from ``datasets/shakespeare.txt``.
* ``split_text``: a contiguous train/validation split (the last part of the text is held out, so no
  validation window overlaps a training window).
* ``char_ngram_bits``: bits per character of a smoothed character n-gram model (order 1 counts single
  characters, order 2 counts pairs), the simple baseline a neural language model has to beat.

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
    for name, ids in (("train_ids", train_ids), ("eval_ids", eval_ids)):
        if ids.dim() != 1 or ids.dtype != torch.int64 or len(ids) < order:
            raise ValueError(f"{name} must be a 1-D int64 tensor of at least {order} ids; got "
                             f"{ids.dtype}, shape {tuple(ids.shape)}.")
        if int(ids.min()) < 0 or int(ids.max()) >= vocab_size:
            raise ValueError(f"{name} has ids outside 0..{vocab_size - 1}: encode both with the same vocabulary.")
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
