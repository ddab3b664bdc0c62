"""Generated sequence data for notebook 09 (RNN), offline and seeded.

* ``remember_first_batch``: a memory task. Each sequence is a string of random symbols; the
  target is the FIRST symbol. A marker channel flags the first step. Solving it needs a
  memory that holds one symbol across the whole sequence while ignoring the rest.
* ``variable_length_sequences``: sequences of different lengths, for padding and packing.
* ``multi_sine_series`` and ``sliding_windows``: a noisy multi-frequency signal and its
  (window -> next values) pairs for forecasting; targets are (N, horizon), never (N,).
* ``template_corpus`` and ``CharVocab``: a small English-like text made from templates, and
  the character <-> index mapping of a character-level language model.

Sampling with a temperature and its widget are in ``course_utils.topics.rnn``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

# --------------------------------------------------------------------------- memory task


def remember_first_batch(
    batch_size: int, length: int, n_symbols: int = 4, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of the "remember the first symbol" task.

    Returns ``X`` float32 (batch, length, n_symbols + 1): one-hot symbols plus a marker channel
    that is 1 at the first step only, and ``y`` int64 (batch,): the first symbol. Every later
    step shows another random symbol from the same alphabet, so the memory must ignore them.
    """
    for name, value, minimum in (("batch_size", batch_size, 1), ("length", length, 1), ("n_symbols", n_symbols, 2)):
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise ValueError(f"{name} must be an int ≥ {minimum}; got {value!r}.")
    symbols = torch.randint(0, n_symbols, (batch_size, length), generator=generator)
    X = torch.cat([F.one_hot(symbols, n_symbols).float(), torch.zeros(batch_size, length, 1)], dim=2)
    X[:, 0, n_symbols] = 1.0
    return X, symbols[:, 0].clone()


# --------------------------------------------------------------------------- variable lengths


def variable_length_sequences(
    n: int, min_length: int = 2, max_length: int = 10, n_features: int = 3, seed: int = 0
) -> list[torch.Tensor]:
    """``n`` float32 sequences of shape (L_i, n_features) with lengths drawn from [min_length, max_length]."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int; got {n!r}.")
    if not 1 <= min_length <= max_length:
        raise ValueError(f"need 1 ≤ min_length ≤ max_length; got min_length={min_length}, max_length={max_length}.")
    if n_features < 1:
        raise ValueError(f"n_features must be ≥ 1; got {n_features}.")
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(min_length, max_length + 1, (n,), generator=g).tolist()
    return [torch.randn(length, n_features, generator=g) for length in lengths]


# --------------------------------------------------------------------------- time series


def multi_sine_series(n_steps: int = 800, periods: Sequence[float] = (40.0, 17.0, 9.0),
                      amplitudes: Sequence[float] = (1.0, 0.5, 0.3), noise: float = 0.1, seed: int = 0) -> torch.Tensor:
    """A float32 signal of ``n_steps`` values: a sum of sines (random phases) plus Gaussian noise."""
    if not isinstance(n_steps, int) or n_steps < 2:
        raise ValueError(f"n_steps must be an int ≥ 2; got {n_steps!r}.")
    if len(periods) != len(amplitudes) or not periods:
        raise ValueError(f"give one amplitude per period; got {len(periods)} periods and {len(amplitudes)} amplitudes.")
    if any(p <= 0 for p in periods) or noise < 0:
        raise ValueError("periods must be > 0 and noise ≥ 0.")
    rng = np.random.default_rng(seed)
    t = np.arange(n_steps)
    phases = rng.uniform(0, 2 * np.pi, size=len(periods))
    clean = sum(a * np.sin(2 * np.pi * t / p + ph) for p, a, ph in zip(periods, amplitudes, phases, strict=True))
    return torch.tensor(clean + rng.normal(0, noise, size=n_steps), dtype=torch.float32)


def sliding_windows(series: torch.Tensor, window: int, horizon: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut a 1-D series into (window -> next ``horizon`` values) pairs.

    Returns ``X`` (N, window, 1), one feature per time step as RNN layers expect with
    ``batch_first=True``, and ``y`` (N, horizon), the same 2-D shape as a model's output, so
    ``MSELoss`` compares matching elements (a (N,) target would broadcast to (N, N)).
    """
    if series.dim() != 1:
        raise ValueError(f"sliding_windows takes a 1-D series; got shape {tuple(series.shape)}.")
    if not isinstance(window, int) or window < 1 or not isinstance(horizon, int) or horizon < 1:
        raise ValueError(f"window and horizon must be positive ints; got window={window!r}, horizon={horizon!r}.")
    n = len(series) - window - horizon + 1
    if n < 1:
        raise ValueError(f"a series of {len(series)} values is too short for window={window} and horizon={horizon}.")
    spans = series.unfold(0, window + horizon, 1)  # (N, window + horizon)
    return spans[:, :window].unsqueeze(-1).contiguous(), spans[:, window:].contiguous()


# --------------------------------------------------------------------------- text

_SUBJECTS = ("the cat", "the dog", "a small bird", "my friend", "the old man", "a young girl", "the teacher",
             "our neighbour", "the fox", "a tired farmer")
_VERBS = ("sees", "likes", "finds", "follows", "watches", "helps", "paints", "carries", "hears", "forgets")
_OBJECTS = ("the red ball", "a green apple", "the blue door", "a yellow kite", "the quiet river", "an old book",
            "a warm coat", "the little boat", "a bright lamp", "the white horse")
_PLACES = ("in the park", "at home", "near the river", "by the sea", "under the tree", "in the garden",
           "on the hill", "at school")
_TIMES = ("today", "every morning", "at night", "on sunday", "after lunch", "in winter")
_TEMPLATES = (
    "{S} {V} {O} {P}.",
    "{T}, {S} {V} {O}.",
    "{S} {V} {O} and {S2} {V2} {O2}.",
    "{P}, {S} {V} {O} {T}.",
    "does {S} see {O}? yes, {S} {V} {O}.",
)


def template_corpus(n_sentences: int = 400, seed: int = 0) -> str:
    """A small English-like text, one sentence per line, filled from templates with a fixed seed.

    It uses under 30 characters (lower-case letters, space, ',', '.', '?', newline) and has a clear structure, so a
    small character-level model can learn its spelling and grammar in seconds.
    """
    if not isinstance(n_sentences, int) or n_sentences < 1:
        raise ValueError(f"n_sentences must be a positive int; got {n_sentences!r}.")
    rng = np.random.default_rng(seed)

    def pick(options: Sequence[str]) -> str:
        return options[int(rng.integers(len(options)))]

    lines = []
    for _ in range(n_sentences):
        template = pick(_TEMPLATES)
        lines.append(template.format(
            S=pick(_SUBJECTS), V=pick(_VERBS), O=pick(_OBJECTS), P=pick(_PLACES), T=pick(_TIMES),
            S2=pick(_SUBJECTS), V2=pick(_VERBS), O2=pick(_OBJECTS),
        ))
    return "\n".join(lines) + "\n"


class CharVocab:
    """The characters of a text, sorted, with ``encode`` (str -> int64 tensor) and ``decode`` (ids -> str)."""

    def __init__(self, chars: Sequence[str]) -> None:
        chars = list(chars)
        if not chars or len(set(chars)) != len(chars) or any(len(c) != 1 for c in chars):
            raise ValueError("CharVocab needs a non-empty list of distinct single characters.")
        self.chars = chars
        self.index = {c: i for i, c in enumerate(chars)}

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        if not text:
            raise ValueError("CharVocab.from_text got an empty text.")
        return cls(sorted(set(text)))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> torch.Tensor:
        unknown = sorted(set(text) - set(self.index))
        if unknown:
            raise ValueError(f"characters {unknown!r} are not in the vocabulary (it has {len(self)} characters).")
        return torch.tensor([self.index[c] for c in text], dtype=torch.int64)

    def decode(self, ids: torch.Tensor | Sequence[int]) -> str:
        ids = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        if any(not 0 <= i < len(self) for i in ids):
            raise ValueError(f"ids must be in 0..{len(self) - 1}.")
        return "".join(self.chars[i] for i in ids)


def next_char_batches(
    ids: torch.Tensor, batch_size: int, length: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random training windows for next-character prediction (teacher forcing).

    Returns ``inputs`` (batch, length) and ``targets`` (batch, length) = inputs shifted by one.
    """
    if ids.dim() != 1 or len(ids) <= length + 1:
        raise ValueError(f"need a 1-D id tensor longer than length + 1 = {length + 1}; got shape {tuple(ids.shape)}.")
    starts = torch.randint(0, len(ids) - length - 1, (batch_size,), generator=generator)
    offsets = starts[:, None] + torch.arange(length + 1)
    windows = ids[offsets]
    return windows[:, :-1], windows[:, 1:]
