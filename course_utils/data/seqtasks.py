"""Generated sequence tasks for small transformers: sorting, reversal and addition.

Each task maps an input sequence of tokens to an output sequence of tokens. The
data are drawn from a seeded generator, every input occurs only once, and the
held-out (test) inputs never occur in the training set, so a test score measures
generalisation, not memory.

* ``sorting``:  ``3 1 4 1 5`` -> ``1 1 3 4 5``
* ``reversal``: ``3 1 4 1 5`` -> ``5 1 4 1 3``
* ``addition``: ``0 4 7 + 0 8 5`` -> ``0 1 3 2`` (47 + 85 = 132; fixed width, leading zeros)

Use it as ``from course_utils.data import seqtasks``; then
``task = seqtasks.make_task("sorting", length=8, vocab_size=10)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader

from course_utils.data.digits import Split, make_loaders

TASKS = ("sorting", "reversal", "addition")
PLUS = "+"


@dataclass(frozen=True)
class SeqTask(Split):
    """A sequence-to-sequence task with train, validation (may be empty) and held-out test splits.

    ``X_*`` hold input token ids (N, input_length), ``y_*`` output token ids
    (N, output_length), both int64. ``vocab[i]`` is the text of token ``i``.
    No input occurs in two splits.
    """

    name: str
    vocab: tuple[str, ...]

    @property
    def input_length(self) -> int:
        return int(self.X_train.shape[1])

    @property
    def output_length(self) -> int:
        return int(self.y_train.shape[1])

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def decode(self, tokens: torch.Tensor | Sequence[int]) -> str:
        """Token ids of one sequence -> readable text, e.g. ``'3 1 4 1 5'``."""
        return decode(tokens, self.vocab)

    def loaders(
        self, batch_size: int = 128, seed: int | None = None
    ) -> tuple[DataLoader, DataLoader | None, DataLoader]:
        """(train loader, shuffled with a seeded generator; validation loader or None; test loader)."""
        return make_loaders(self, batch_size, seed, eval_batch_size=512)


def decode(tokens: torch.Tensor | Sequence[int], vocab: Sequence[str]) -> str:
    """Token ids -> text joined by spaces; raises for ids outside the vocabulary."""
    ids = tokens.tolist() if isinstance(tokens, torch.Tensor) else list(tokens)
    if ids and isinstance(ids[0], list):
        raise ValueError("decode takes one sequence (1-D); index the batch first, e.g. task.decode(X[0]).")
    bad = [i for i in ids if not 0 <= int(i) < len(vocab)]
    if bad:
        raise ValueError(f"token ids {bad} are outside the vocabulary of size {len(vocab)}.")
    return " ".join(vocab[int(i)] for i in ids)


def exact_match(logits_or_ids: torch.Tensor, targets: torch.Tensor) -> float:
    """Fraction of sequences whose WHOLE output is right (every position).

    Takes logits (N, L, vocab) or predicted ids (N, L), and targets (N, L).
    """
    pred = logits_or_ids.argmax(dim=-1) if logits_or_ids.dim() == 3 else logits_or_ids
    if pred.shape != targets.shape:
        raise ValueError(
            f"exact_match needs predictions (N, L) or logits (N, L, vocab) matching targets (N, L); "
            f"got {tuple(logits_or_ids.shape)} and {tuple(targets.shape)}."
        )
    if len(targets) == 0:
        raise ValueError("exact_match got no sequences.")
    return (pred == targets).all(dim=1).float().mean().item()


def token_accuracy(logits_or_ids: torch.Tensor, targets: torch.Tensor) -> float:
    """Fraction of single output positions that are right (kinder than exact match)."""
    pred = logits_or_ids.argmax(dim=-1) if logits_or_ids.dim() == 3 else logits_or_ids
    if pred.shape != targets.shape:
        raise ValueError(f"shapes differ: {tuple(pred.shape)} vs {tuple(targets.shape)}.")
    return (pred == targets).float().mean().item()


def _unique_inputs(rng: np.random.Generator, n: int, length: int, high: int) -> np.ndarray:
    """``n`` distinct random rows of ``length`` integers in [0, high)."""
    if float(high) ** length < 2 * n:
        raise ValueError(
            f"only {high}^{length} different inputs exist, too few for {n} distinct sequences "
            "with room to spare: use longer sequences, a bigger vocabulary or fewer examples."
        )
    rows = np.empty((0, length), dtype=np.int64)
    while len(rows) < n:
        extra = rng.integers(0, high, size=(2 * (n - len(rows)) + 16, length), dtype=np.int64)
        rows = np.concatenate([rows, extra])
        _, first = np.unique(rows, axis=0, return_index=True)
        rows = rows[np.sort(first)]  # keep the draw order: same seed, same data
    return rows[:n]


def _targets(name: str, inputs: np.ndarray, vocab_size: int) -> np.ndarray:
    if name == "sorting":
        return np.sort(inputs, axis=1)
    if name == "reversal":
        return inputs[:, ::-1].copy()
    n_digits = (inputs.shape[1] - 1) // 2
    powers = 10 ** np.arange(n_digits - 1, -1, -1)
    a = inputs[:, :n_digits] @ powers
    b = inputs[:, n_digits + 1 :] @ powers
    total = a + b
    out_powers = 10 ** np.arange(n_digits, -1, -1)
    return (total[:, None] // out_powers[None, :]) % 10


def make_task(name: str, *, length: int = 8, vocab_size: int = 10, n_train: int = 10_000, n_val: int = 0,
              n_test: int = 1_000, seed: int = 0) -> SeqTask:
    """Generate a task with distinct inputs, an optional validation split and a held-out test split.

    Args:
        name: ``"sorting"``, ``"reversal"`` or ``"addition"``.
        length: tokens per input sequence (for ``addition``: digits per number).
        vocab_size: number of different symbols 0..vocab_size-1 (``addition`` is always base 10).
        n_train, n_val, n_test: number of training, validation and held-out test sequences.
        seed: same seed, same data.
    """
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}.")
    if not isinstance(length, int) or length < 1:
        raise ValueError(f"length must be a positive int; got {length!r}.")
    if not isinstance(vocab_size, int) or vocab_size < 2:
        raise ValueError(f"vocab_size must be an int of at least 2; got {vocab_size!r}.")
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in (n_train, n_val, n_test)) or (
        n_train < 1 or n_val < 0 or n_test < 1
    ):
        raise ValueError(
            f"n_train and n_test must be positive ints and n_val a non-negative int; "
            f"got {n_train!r}, {n_val!r} and {n_test!r}."
        )
    n_all = n_train + n_val + n_test
    rng = np.random.default_rng(seed)
    if name == "addition":
        if vocab_size != 10:
            raise ValueError("addition works in base 10: leave vocab_size at 10.")
        numbers = _unique_inputs(rng, n_all, 2 * length, 10)
        inputs = np.concatenate(
            [numbers[:, :length], np.full((len(numbers), 1), 10, dtype=np.int64), numbers[:, length:]], axis=1
        )
        vocab = tuple(str(d) for d in range(10)) + (PLUS,)
    else:
        inputs = _unique_inputs(rng, n_all, length, vocab_size)
        vocab = tuple(str(d) for d in range(vocab_size))
    targets = _targets(name, inputs, vocab_size)
    X = torch.from_numpy(inputs)
    y = torch.from_numpy(np.ascontiguousarray(targets, dtype=np.int64))
    cut = n_train + n_val
    return SeqTask(X[:n_train], y[:n_train], X[n_train:cut], y[n_train:cut], X[cut:], y[cut:], name=name, vocab=vocab)
