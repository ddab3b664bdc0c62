"""Helpers of the tiny GPT in notebook 10: sampling filters, scores of a language model, the generation explorer.

The model itself and its generation loop are written in the notebook; this module holds what they share
with the widget and the tests:

* ``top_k_filter`` and ``next_token_probs``: what a generation loop does to the logits of the last position
  before it draws the next token (divide by a temperature, keep the k largest, softmax).
* ``bits_per_char``: a language model's bits per character on held-out ids, every character after the
  first scored exactly once (the same characters ``course_utils.data.text.char_ngram_bits`` scores).
* ``bigram_log_probs``: the character-bigram baseline as a table of log-probabilities, so that it can be
  scored and sampled like a model.
* ``words``, ``known_words``, ``sample_bits``: measured properties of a generated text.
* ``bits_curve_figure``, ``generation_figure`` and ``GenerationExplorer`` (temperature and top-k sliders).

A "model" here is any callable ``model(ids) -> logits`` with ids of shape (batch, length) and logits of
shape (batch, length, vocab): position t's logits score the token at position t + 1.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from course_utils.widgets import Explorer

# --------------------------------------------------------------------------- sampling


def top_k_filter(logits: torch.Tensor, k: int | None) -> torch.Tensor:
    """Keep the ``k`` largest logits of each row (last dimension) and set the others to -inf.

    ``k=None`` (or ``k`` at least the vocabulary size) keeps everything. Logits tied with the k-th
    largest are all kept, so a row may keep more than ``k`` entries when there are ties.
    """
    if k is None:
        return logits
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"top_k must be a positive int, or None to keep every token; got {k!r}.")
    if k >= logits.shape[-1]:
        return logits
    kth_largest = logits.topk(k, dim=-1).values[..., -1:]  # (..., 1)
    return logits.masked_fill(logits < kth_largest, float("-inf"))


def next_token_probs(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None) -> torch.Tensor:
    """softmax(top_k_filter(logits / temperature, top_k)) over the last dimension."""
    if not isinstance(temperature, int | float) or isinstance(temperature, bool) or not temperature > 0:
        raise ValueError(f"temperature must be a number > 0 (top_k=1 gives greedy decoding); got {temperature!r}.")
    return torch.softmax(top_k_filter(logits / temperature, top_k), dim=-1)


# --------------------------------------------------------------------------- scores


def _check_ids(ids: torch.Tensor, name: str, minimum: int) -> None:
    if not isinstance(ids, torch.Tensor) or ids.dim() != 1 or ids.dtype != torch.int64 or len(ids) < minimum:
        shape = tuple(ids.shape) if isinstance(ids, torch.Tensor) else type(ids).__name__
        raise ValueError(f"{name} must be a 1-D int64 tensor of at least {minimum} ids (vocab.encode(text)); "
                         f"got {shape}.")


@torch.no_grad()
def bits_per_char(model: Callable[[torch.Tensor], torch.Tensor], ids: torch.Tensor, context: int,
                  batch_size: int = 256) -> float:
    """Mean -log2 p(next id) of ``model`` over ``ids``, every id after the first scored once.

    The ids are cut into windows of ``context`` inputs that follow each other (the last window is moved
    back so that it ends at the last id; only its new targets count). Each window starts without memory,
    so its first positions see little context: a fair, slightly pessimistic score.
    """
    if not isinstance(context, int) or isinstance(context, bool) or context < 1:
        raise ValueError(f"context must be a positive int; got {context!r}.")
    _check_ids(ids, "ids", context + 1)
    n_targets = len(ids) - 1
    starts = list(range(0, n_targets - context + 1, context))
    first_new = [0] * len(starts)  # the first position of each window whose target is scored
    covered = starts[-1] + context
    if covered < n_targets:  # one more window, moved back to end at the last id; it scores only the rest
        starts.append(n_targets - context)
        first_new.append(context - (n_targets - covered))
    total, counted = 0.0, 0
    offsets = torch.arange(context)
    for first in range(0, len(starts), batch_size):
        chunk = torch.tensor(starts[first:first + batch_size])
        inputs, targets = ids[chunk[:, None] + offsets], ids[chunk[:, None] + offsets + 1]
        logits = model(inputs)
        if logits.dim() != 3 or logits.shape[:2] != inputs.shape:
            raise ValueError(f"the model must return (batch, length, vocab) logits; got {tuple(logits.shape)} "
                             f"for inputs of shape {tuple(inputs.shape)}.")
        nats = F.cross_entropy(logits.flatten(0, 1).double(), targets.flatten(), reduction="none").view(inputs.shape)
        keep = offsets[None, :] >= torch.tensor(first_new[first:first + batch_size])[:, None]
        total += float(nats[keep].sum())
        counted += int(keep.sum())
    return total / counted / math.log(2)


def bigram_log_probs(train_ids: torch.Tensor, vocab_size: int, smoothing: float = 1.0) -> torch.Tensor:
    """(vocab, vocab) natural-log probabilities log p(next | previous), counted on ``train_ids``.

    Add-``smoothing`` counts, the same model as ``char_ngram_bits(order=2)``; row ``i`` holds the logits
    of the character after character ``i``.
    """
    if not isinstance(vocab_size, int) or vocab_size < 1:
        raise ValueError(f"vocab_size must be a positive int; got {vocab_size!r}.")
    if not smoothing > 0:
        raise ValueError(f"smoothing must be positive, or an unseen pair gets probability 0; got {smoothing!r}.")
    _check_ids(train_ids, "train_ids", 2)
    if int(train_ids.min()) < 0 or int(train_ids.max()) >= vocab_size:
        raise ValueError(f"train_ids has ids outside 0..{vocab_size - 1}: encode with the same vocabulary.")
    pairs = train_ids[:-1] * vocab_size + train_ids[1:]
    counts = torch.bincount(pairs, minlength=vocab_size**2).double().view(vocab_size, vocab_size) + smoothing
    return (counts / counts.sum(dim=1, keepdim=True)).log().float()


_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")


def words(text: str) -> list[str]:
    """The words of ``text``, lower-cased: runs of letters, with inner apostrophes (``keep'st``)."""
    if not isinstance(text, str):
        raise ValueError(f"words() takes a str; got {type(text).__name__}.")
    return _WORD.findall(text.lower())


def known_words(text: str, vocabulary: Iterable[str]) -> tuple[int, int]:
    """``(known, total)``: how many of the words of ``text`` occur in ``vocabulary`` (a set of lower-case words)."""
    vocabulary = vocabulary if isinstance(vocabulary, set | frozenset) else set(vocabulary)
    found = words(text)
    return sum(w in vocabulary for w in found), len(found)


def sample_bits(step_logits: torch.Tensor, token_ids: torch.Tensor) -> float:
    """Mean -log2 p(token) of the drawn tokens under the model's own distribution (temperature 1, no top-k).

    ``step_logits`` (n, vocab): the logits each step was drawn from; ``token_ids`` (n,): the tokens drawn.
    Low values mean the model finds its own text unsurprising.
    """
    if step_logits.dim() != 2 or token_ids.dim() != 1 or len(step_logits) != len(token_ids) or not len(token_ids):
        raise ValueError(f"need logits (n, vocab) and n token ids, n ≥ 1; got {tuple(step_logits.shape)} and "
                         f"{tuple(token_ids.shape)}.")
    log_p = torch.log_softmax(step_logits.double(), dim=-1).gather(1, token_ids[:, None].long())
    return float(-log_p.mean() / math.log(2))


# --------------------------------------------------------------------------- pictures


def bits_curve_figure(train_bits: Sequence[float], baselines: Mapping[str, float], val_bits: float | None = None,
                      smooth: int = 20) -> Figure:
    """Training bits per character per step (a running mean over ``smooth`` steps) against baseline lines."""
    if not len(train_bits):
        raise ValueError("bits_curve_figure got an empty training curve.")
    values = torch.tensor([float(b) for b in train_bits])
    width = max(1, min(smooth, len(values)))
    running = values.unfold(0, width, 1).mean(dim=1) if len(values) >= width else values
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    ax.plot(range(width, len(values) + 1), running.numpy(), label=f"training batches (mean of {width} steps)")
    styles = (":", "--", "-.", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 3)))
    for i, (name, value) in enumerate(baselines.items()):
        ax.axhline(value, color="gray", ls=styles[i % len(styles)], lw=1)
        ax.text(0, value, f"{name} ", va="bottom", ha="left", fontsize=8, color="dimgray")
    if val_bits is not None:
        ax.plot([len(values)], [val_bits], "o", color="tab:red", label="held-out text, after training")
    ax.set_xlabel("training step")
    ax.set_ylabel("bits per character")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def _char_label(c: str) -> str:
    return {" ": "␣", "\n": "⏎"}.get(c, c)


def generation_figure(logits: torch.Tensor, labels: Sequence[str], temperature: float, top_k: int | None,
                      sample: str, prompt: str = "", top: int = 16, width: int = 64) -> Figure:
    """Top: the next-character distribution after the prompt at this temperature and top-k (bars) against
    temperature 1 without top-k (outlines), for the ``top`` most likely characters; the characters that
    top-k cuts off get no bar and a grey label. Bottom: a sample."""
    if logits.dim() != 1 or len(labels) != len(logits):
        raise ValueError(f"need 1-D logits and one label per logit; got {tuple(logits.shape)} and {len(labels)} labels.")
    logits = logits.detach().float()
    probs = next_token_probs(logits, temperature, top_k)
    plain = torch.softmax(logits, dim=-1)
    order = torch.argsort(logits, descending=True)[:top].tolist()  # the same characters at every setting
    fig, (bars, text_ax) = plt.subplots(2, 1, figsize=(7.2, 5.6), height_ratios=(1, 1.5))
    positions = range(len(order))
    kept = [probs[i].item() > 0 for i in order]
    bars.bar(positions, probs[order].numpy(), color="tab:blue", label="at this temperature and top-k")
    bars.bar(positions, plain[order].numpy(), fill=False, edgecolor="black", lw=0.8, label="temperature 1, no top-k")
    bars.set_xticks(positions, [_char_label(labels[i]) for i in order])
    for tick, keep in zip(bars.get_xticklabels(), kept, strict=True):
        tick.set_color("black" if keep else "darkgray")  # cut off by top-k: no bar, a grey label
    bars.set_ylim(0, 1)
    bars.set_ylabel("probability")
    k_text = "off" if top_k is None else str(top_k)
    bars.set_title(f"next character after {prompt[-24:]!r}: temperature {temperature:.2f}, top-k {k_text}",
                   fontsize=9)
    bars.legend(fontsize=8, loc="upper right")
    lines = [piece for line in sample.split("\n") for piece in (textwrap.wrap(line, width) or [""])]
    text_ax.text(0.0, 1.0, "\n".join(lines[:16]), family="monospace", fontsize=8, va="top", ha="left",
                 transform=text_ax.transAxes)
    text_ax.set_title("a sample (same prompt and seed for every setting)", fontsize=9)
    text_ax.axis("off")
    fig.tight_layout()
    return fig


class GenerationExplorer(Explorer):
    """Temperature and top-k sliders over a model's samples from one prompt, with one seed.

    ``logits``: the model's logits for the character after the prompt (1-D); ``labels``: one character per
    logit; ``sample_fn(temperature, top_k)`` returns ``(text, step_logits, token_ids)`` of a sample drawn
    with a fixed seed (``top_k`` is None for "off"); ``vocabulary``: the words of the training text. Tests
    set ``.temperature.value`` / ``.top_k.value`` and read ``.redraws``, ``.fig``, ``.status.value`` and
    ``.sample``.
    """

    description = "a temperature slider and a top-k slider (0 = off) that redraw the next-character " \
                  "probabilities and a sample"
    status_in_fallback = False  # the status measures a sampled text

    def __init__(self, logits: torch.Tensor, labels: Sequence[str],
                 sample_fn: Callable[[float, int | None], tuple[str, torch.Tensor, torch.Tensor]],
                 vocabulary: Iterable[str], *, prompt: str = "", temperature: float = 0.8, top_k: int = 10) -> None:
        import ipywidgets as w

        if logits.dim() != 1 or len(labels) != len(logits):
            raise ValueError(f"need 1-D logits and one label per logit; got {tuple(logits.shape)} and {len(labels)}.")
        if not callable(sample_fn):
            raise ValueError("sample_fn must be a function (temperature, top_k) -> (text, step_logits, token_ids).")
        if not 0.05 <= temperature <= 3.0:
            raise ValueError(f"temperature must be between 0.05 and 3; got {temperature!r}.")
        if not isinstance(top_k, int) or not 0 <= top_k <= len(labels):
            raise ValueError(f"top_k must be an int from 0 (off) to the vocabulary size {len(labels)}; got {top_k!r}.")
        self.logits, self.labels, self.sample_fn, self.prompt = logits.detach(), list(labels), sample_fn, prompt
        self.vocabulary = set(vocabulary)
        self.sample, self.sample_logits, self.sample_ids = "", None, None
        self.temperature = w.FloatLogSlider(value=temperature, base=10, min=-1.3, max=0.45, step=0.05,
                                            description="temperature", continuous_update=False, readout_format=".2f")
        self.top_k = w.IntSlider(value=top_k, min=0, max=len(labels), description="top-k",
                                 continuous_update=False)
        self.start((self.temperature, self.top_k))

    def _settings(self) -> tuple[float, int | None]:
        return float(self.temperature.value), (int(self.top_k.value) or None)

    def figure(self) -> Figure:
        """Draw a sample for the current settings (kept on ``self`` for the status line) and its figure."""
        temperature, top_k = self._settings()
        self.sample, self.sample_logits, self.sample_ids = self.sample_fn(temperature, top_k)
        return generation_figure(self.logits, self.labels, temperature, top_k, self.sample, self.prompt)

    def on_redraw(self) -> None:
        """Status: how many of the sample's words occur in the training text, and the model's surprise at it."""
        temperature, top_k = self._settings()
        known, total = known_words(self.sample, self.vocabulary)
        share = f"{known} of {total} words ({known / total:.0%})" if total else "no words"
        surprise = sample_bits(self.sample_logits, self.sample_ids)
        self.status.value = (
            f"temperature {temperature:.2f}, top-k {'off' if top_k is None else top_k}: {share} occur in the "
            f"training text; the model's surprise at its own sample: {surprise:.2f} bits/char"
        )
