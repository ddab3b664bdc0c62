"""Attention by hand: scaled dot-product attention, heads, masks, positional encodings, pictures.

Everything here is a pure function except ``AttentionExplorer``, a thin widget
shell over ``attention_map_figure``.

Mask convention of THIS module (the same as ``F.scaled_dot_product_attention``'s
boolean ``attn_mask``): ``allowed[i, j] = True`` means query ``i`` may attend to key
``j``. ``nn.MultiheadAttention`` uses the opposite convention for its boolean
``attn_mask`` and ``key_padding_mask`` (True = blocked); ``to_blocked`` converts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from course_utils.widgets import Explorer

# --------------------------------------------------------------------------- attention


def scaled_dot_product_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, allowed: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(q kᵀ / √d_k) v, written out. Returns ``(output, weights)``.

    Shapes: q (..., L_q, d_k), k (..., L_k, d_k), v (..., L_k, d_v) -> output
    (..., L_q, d_v) and weights (..., L_q, L_k); each row of ``weights`` sums to 1.
    ``allowed``: boolean, broadcastable to (..., L_q, L_k), True where attention is allowed.
    """
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"queries and keys need the same last size d_k; got q {tuple(q.shape)} and k {tuple(k.shape)}."
        )
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"keys and values need the same length; got k {tuple(k.shape)} and v {tuple(v.shape)}.")
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if allowed is not None:
        if allowed.dtype != torch.bool:
            raise TypeError(f"allowed must be a boolean tensor (True = may attend); got dtype {allowed.dtype}.")
        scores = scores.masked_fill(~allowed, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


def split_heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    """(batch, length, d_model) -> (batch, heads, length, d_model / heads)."""
    if x.dim() != 3:
        raise ValueError(f"split_heads expects (batch, length, d_model); got shape {tuple(x.shape)}.")
    batch, length, d_model = x.shape
    if n_heads < 1 or d_model % n_heads:
        raise ValueError(f"d_model = {d_model} must be divisible by the number of heads; got n_heads = {n_heads}.")
    return x.view(batch, length, n_heads, d_model // n_heads).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(batch, heads, length, d_head) -> (batch, length, heads * d_head); undoes ``split_heads``."""
    if x.dim() != 4:
        raise ValueError(f"merge_heads expects (batch, heads, length, d_head); got shape {tuple(x.shape)}.")
    batch, heads, length, d_head = x.shape
    return x.transpose(1, 2).reshape(batch, length, heads * d_head)


# --------------------------------------------------------------------------- masks


def causal_mask(length: int) -> torch.Tensor:
    """(length, length) booleans, True on and below the diagonal: position i sees 0..i."""
    if not isinstance(length, int) or length < 1:
        raise ValueError(f"length must be a positive int; got {length!r}.")
    return torch.ones(length, length, dtype=torch.bool).tril()


def padding_mask(lengths: Sequence[int] | torch.Tensor, max_length: int) -> torch.Tensor:
    """(batch, max_length) booleans, True for real tokens and False for padding."""
    lengths = torch.as_tensor(lengths)
    if lengths.dim() != 1 or lengths.dtype.is_floating_point:
        raise ValueError(f"lengths must be a 1-D list of ints, one per sequence; got {lengths.tolist()!r}.")
    if (lengths < 1).any() or (lengths > max_length).any():
        raise ValueError(f"every length must be between 1 and max_length = {max_length}; got {lengths.tolist()}.")
    return torch.arange(max_length)[None, :] < lengths[:, None]


def keys_allowed(real_tokens: torch.Tensor) -> torch.Tensor:
    """Padding mask (batch, L_k) -> (batch, 1, 1, L_k): every query may attend only real keys.

    The result broadcasts against weights of shape (batch, heads, L_q, L_k).
    """
    if real_tokens.dim() != 2 or real_tokens.dtype != torch.bool:
        raise ValueError(f"expected a boolean (batch, length) padding mask; got {real_tokens.dtype} {tuple(real_tokens.shape)}.")
    return real_tokens[:, None, None, :]


def to_blocked(allowed: torch.Tensor) -> torch.Tensor:
    """True-means-allowed -> True-means-blocked, the convention of ``nn.MultiheadAttention``'s
    boolean ``attn_mask`` and ``key_padding_mask`` (and of ``nn.Transformer*`` masks)."""
    if allowed.dtype != torch.bool:
        raise TypeError(f"expected a boolean mask; got dtype {allowed.dtype}.")
    return ~allowed


# --------------------------------------------------------------------------- positions


def sinusoidal_positions(n_positions: int, d_model: int, base: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal positional encodings, (n_positions, d_model).

    PE[pos, 2i] = sin(pos / base^(2i/d_model)),  PE[pos, 2i+1] = cos(pos / base^(2i/d_model)).
    """
    if not isinstance(n_positions, int) or n_positions < 1:
        raise ValueError(f"n_positions must be a positive int; got {n_positions!r}.")
    if not isinstance(d_model, int) or d_model < 2 or d_model % 2:
        raise ValueError(f"d_model must be an even int of at least 2 (sin/cos pairs); got {d_model!r}.")
    position = torch.arange(n_positions, dtype=torch.float32)[:, None]
    frequency = base ** (-torch.arange(0, d_model, 2, dtype=torch.float32) / d_model)
    pe = torch.zeros(n_positions, d_model)
    pe[:, 0::2] = torch.sin(position * frequency)
    pe[:, 1::2] = torch.cos(position * frequency)
    return pe


# --------------------------------------------------------------------------- pictures


def _labels(labels: Sequence[str] | None, n: int) -> list[str]:
    if labels is None:
        return [str(i) for i in range(n)]
    if len(labels) != n:
        raise ValueError(f"got {len(labels)} labels for {n} positions: pass one label per position.")
    return [str(t) for t in labels]


def draw_attention(ax, weights: torch.Tensor, query_labels: Sequence[str] | None = None,
                   key_labels: Sequence[str] | None = None, title: str | None = None, annotate: bool = False):
    """Draw one (L_q, L_k) weight matrix on ``ax``: rows are queries, columns are keys."""
    w = weights.detach().cpu().float()
    if w.dim() != 2:
        raise ValueError(f"draw_attention needs one (L_q, L_k) matrix; got shape {tuple(w.shape)}.")
    image = ax.imshow(w.numpy(), cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(w.shape[1]), _labels(key_labels, w.shape[1]), fontsize=8)
    ax.set_yticks(range(w.shape[0]), _labels(query_labels, w.shape[0]), fontsize=8)
    ax.set_xlabel("key (attended to)", fontsize=8)
    ax.set_ylabel("query (attending)", fontsize=8)
    ax.grid(False)
    if annotate:
        for i in range(w.shape[0]):
            for j in range(w.shape[1]):
                value = w[i, j].item()
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if value > 0.6 else "black")
    if title:
        ax.set_title(title, fontsize=9)
    return image


def attention_figure(weights: torch.Tensor, query_labels: Sequence[str] | None = None,
                     key_labels: Sequence[str] | None = None, title: str | None = None, annotate: bool = True,
                     size: float = 3.2) -> Figure:
    """A heat map of one attention weight matrix (L_q, L_k)."""
    fig, ax = plt.subplots(figsize=(size + 0.6, size))
    image = draw_attention(ax, weights, query_labels, key_labels, title, annotate)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    return fig


def masks_figure(masks: dict[str, torch.Tensor], size: float = 2.6) -> Figure:
    """Boolean masks side by side: filled = may attend, empty = blocked."""
    if not masks:
        raise ValueError("masks_figure got no masks: pass e.g. {'causal': causal_mask(5)}.")
    fig, axes = plt.subplots(1, len(masks), figsize=(size * len(masks), size + 0.3))
    axes = np.atleast_1d(axes)
    for ax, (name, mask) in zip(axes, masks.items(), strict=True):
        m = mask.detach().cpu()
        if m.dtype != torch.bool or m.dim() != 2:
            raise ValueError(f"mask {name!r} must be a 2-D boolean tensor; got {m.dtype} {tuple(m.shape)}.")
        ax.imshow(m.float().numpy(), cmap="Greens", vmin=0.0, vmax=2.5)
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                ax.text(j, i, "✓" if m[i, j] else "·", ha="center", va="center", fontsize=8)
        ax.set_xticks(range(m.shape[1]))
        ax.set_yticks(range(m.shape[0]))
        ax.set_xlabel("key", fontsize=8)
        ax.set_ylabel("query", fontsize=8)
        ax.set_title(name, fontsize=9)
        ax.grid(False)
    fig.tight_layout()
    return fig


def positions_figure(pe: torch.Tensor, dims: Sequence[int] = (0, 1, 4, 10)) -> Figure:
    """Left: the whole encoding as a heat map (position x dimension); right: a few dimensions."""
    if pe.dim() != 2:
        raise ValueError(f"expected encodings of shape (positions, d_model); got {tuple(pe.shape)}.")
    bad = [d for d in dims if not 0 <= d < pe.shape[1]]
    if bad:
        raise ValueError(f"dimensions {bad} do not exist: d_model is {pe.shape[1]}.")
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    image = left.imshow(pe.numpy(), aspect="auto", cmap="RdBu", vmin=-1, vmax=1)
    left.set_xlabel("dimension")
    left.set_ylabel("position")
    left.set_title("sinusoidal positional encoding", fontsize=9)
    left.grid(False)
    fig.colorbar(image, ax=left)
    for d in dims:
        right.plot(pe[:, d].numpy(), label=f"dim {d}")
    right.set_xlabel("position")
    right.set_title("a few dimensions: fast to slow waves", fontsize=9)
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig


def attention_map_figure(weights: torch.Tensor, layer: int, head: int, query_labels: Sequence[str] | None = None,
                         key_labels: Sequence[str] | None = None, title: str | None = None) -> Figure:
    """One head of one layer next to the average over all heads of that layer.

    ``weights``: (layers, heads, L_q, L_k) for one example.
    """
    if weights.dim() != 4:
        raise ValueError(f"expected weights of shape (layers, heads, L_q, L_k); got {tuple(weights.shape)}.")
    n_layers, n_heads = weights.shape[:2]
    if not 0 <= layer < n_layers or not 0 <= head < n_heads:
        raise ValueError(f"layer must be in 0..{n_layers - 1} and head in 0..{n_heads - 1}; got {layer}, {head}.")
    fig, axes = plt.subplots(1, 2, figsize=(7.6, 3.5))
    draw_attention(axes[0], weights[layer, head], query_labels, key_labels, f"layer {layer}, head {head}")
    image = draw_attention(axes[1], weights[layer].mean(0), query_labels, key_labels, f"layer {layer}, mean of heads")
    fig.colorbar(image, ax=list(axes), fraction=0.03, pad=0.03)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


class AttentionExplorer(Explorer):
    """Sliders for example, layer and head over precomputed attention weights.

    ``weights``: (examples, layers, heads, L_q, L_k). ``query_labels[e]`` / ``key_labels[e]``
    label the rows / columns of example ``e``; ``titles[e]`` (optional) heads its figure.
    Call ``show()`` in a notebook; tests set ``.example.value`` etc. and read
    ``.redraws``, ``.fig`` and ``.status.value``.
    """

    description = "sliders that pick the example, the layer and the head"

    def __init__(self, weights: torch.Tensor, query_labels: Sequence[Sequence[str]] | None = None,
                 key_labels: Sequence[Sequence[str]] | None = None, titles: Sequence[str] | None = None, *,
                 example: int = 0, layer: int = 0, head: int = 0) -> None:
        import ipywidgets as w

        if weights.dim() != 5:
            raise ValueError(
                f"expected weights of shape (examples, layers, heads, L_q, L_k); got {tuple(weights.shape)}."
            )
        n_examples, n_layers, n_heads = weights.shape[:3]
        for name, labels in (("query_labels", query_labels), ("key_labels", key_labels), ("titles", titles)):
            if labels is not None and len(labels) != n_examples:
                raise ValueError(f"{name} has {len(labels)} entries for {n_examples} examples: pass one per example.")
        for name, value, count in (("example", example, n_examples), ("layer", layer, n_layers), ("head", head, n_heads)):
            if not 0 <= value < count:
                raise ValueError(f"{name} must be in 0..{count - 1}; got {value}.")
        self.weights = weights.detach().cpu()
        self.query_labels, self.key_labels, self.titles = query_labels, key_labels, titles
        self.example = w.IntSlider(value=example, min=0, max=n_examples - 1, description="example",
                                   continuous_update=False)
        self.layer = w.IntSlider(value=layer, min=0, max=n_layers - 1, description="layer", continuous_update=False)
        self.head = w.IntSlider(value=head, min=0, max=n_heads - 1, description="head", continuous_update=False)
        self.start((self.example, self.layer, self.head))

    def figure(self) -> Figure:
        """The figure for the current control values (pure: depends only on them)."""
        e = self.example.value
        return attention_map_figure(
            self.weights[e], self.layer.value, self.head.value,
            None if self.query_labels is None else self.query_labels[e],
            None if self.key_labels is None else self.key_labels[e],
            None if self.titles is None else self.titles[e],
        )

    def on_redraw(self) -> None:
        w = self.weights[self.example.value, self.layer.value, self.head.value]
        self.status.value = (
            f"example {self.example.value}, layer {self.layer.value}, head {self.head.value}: "
            f"the strongest weight of each row averages {w.max(dim=-1).values.mean().item():.2f}"
        )
