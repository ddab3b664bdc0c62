"""Helpers of notebook 09 (RNN): LSTM gate activations, the forget-gate bias, truncated-BPTT chunks, sampling
with a temperature, its picture and its widget.

``lstm_gates``, ``tbptt_chunks``, ``apply_temperature`` and ``next_char_figure`` are pure; ``set_forget_bias``
changes the LSTM it is given; ``TemperatureExplorer`` only wires a slider to them. The notebook's data is in
``course_utils.data.sequences`` (memory task, series, ``CharVocab``) and ``course_utils.data.text`` (Shakespeare).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from course_utils.widgets import Explorer


def lstm_gates(lstm: torch.nn.LSTM, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Run a one-layer ``batch_first`` LSTM step by step on ``x`` (B, T, I) and keep its gates.

    Returns ``{"input", "forget", "output", "h"}``, each (B, T, H): the sigmoid gate activations
    i_t, f_t, o_t and the hidden states (the last equal ``lstm(x)[0]``). No gradients are kept.
    """
    if not isinstance(lstm, torch.nn.LSTM) or lstm.num_layers != 1 or not lstm.batch_first or lstm.bidirectional:
        raise ValueError("lstm must be a one-layer, one-direction nn.LSTM built with batch_first=True.")
    if x.dim() != 3 or x.shape[2] != lstm.input_size:
        raise ValueError(f"x must be (batch, time, {lstm.input_size}); got {tuple(x.shape)}.")
    with torch.no_grad():
        h = c = x.new_zeros(x.shape[0], lstm.hidden_size)
        kept: dict[str, list[torch.Tensor]] = {"input": [], "forget": [], "output": [], "h": []}
        for t in range(x.shape[1]):
            pre = x[:, t] @ lstm.weight_ih_l0.T + lstm.bias_ih_l0 + h @ lstm.weight_hh_l0.T + lstm.bias_hh_l0
            i, f, g, o = pre.chunk(4, dim=1)  # PyTorch's order: input, forget, candidate, output
            i, f, o = torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o)
            c = f * c + i * torch.tanh(g)
            h = o * torch.tanh(c)
            for name, value in (("input", i), ("forget", f), ("output", o), ("h", h)):
                kept[name].append(value)
    return {name: torch.stack(values, dim=1) for name, values in kept.items()}


def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Probabilities softmax(logits / temperature) over the last dimension.

    Temperature < 1 sharpens the distribution (safer, more repetitive text); > 1 flattens it.
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0; got {temperature!r} (use a small value such as 0.05 for greedy).")
    return torch.softmax(logits / temperature, dim=-1)


def next_char_figure(logits: torch.Tensor, labels: Sequence[str], temperature: float, top: int = 12,
                     title: str | None = None) -> Figure:
    """Bar chart of the ``top`` most likely next characters at a temperature."""
    if logits.dim() != 1 or len(labels) != len(logits):
        raise ValueError(f"need 1-D logits and one label per logit; got {tuple(logits.shape)} and {len(labels)} labels.")
    probs = apply_temperature(logits.detach().float(), temperature)
    keep = torch.argsort(logits, descending=True)[:top].tolist()  # the same order at every temperature
    names = [repr(labels[i])[1:-1] if labels[i] != " " else "␣" for i in keep]
    fig, ax = plt.subplots(figsize=(6.4, 2.8))
    ax.bar(range(len(keep)), probs[keep].numpy(), color="tab:blue")
    ax.set_xticks(range(len(keep)), names)
    ax.set_ylim(0, 1)
    ax.set_ylabel("probability")
    ax.set_title(title or f"next character, temperature {temperature:.2f}")
    fig.tight_layout()
    return fig


class TemperatureExplorer(Explorer):
    """A temperature slider over next-character probabilities, with a text sample as status.

    ``logits``: the model's next-character logits after a prompt (1-D); ``sample_fn(t)`` returns
    a text sampled at temperature ``t`` (optional); with ``known_words`` (a set of lower-case words) the
    status also gives the share of the sample's words found in that set. Tests set ``.temperature.value`` and read
    ``.redraws``, ``.fig`` and ``.status.value``.
    """

    description = "a temperature slider that redraws the next-character probabilities and a sample"
    status_in_fallback = False  # the status is a sampled text

    def __init__(self, logits: torch.Tensor, labels: Sequence[str],
                 sample_fn: Callable[[float], str] | None = None, temperature: float = 1.0,
                 known_words: set[str] | None = None) -> None:
        import ipywidgets as w

        if logits.dim() != 1 or len(labels) != len(logits):
            raise ValueError(f"need 1-D logits and one label per logit; got {tuple(logits.shape)} and {len(labels)}.")
        if known_words is not None and sample_fn is None:
            raise ValueError("known_words scores a sample: pass sample_fn too, or leave known_words out.")
        self.logits, self.labels, self.sample_fn = logits.detach(), list(labels), sample_fn
        self.known_words = known_words
        self.temperature = w.FloatLogSlider(value=temperature, base=10, min=-1.3, max=0.5, step=0.05,
                                            description="temperature", continuous_update=False, readout_format=".2f")
        self.start(self.temperature)

    def figure(self) -> Figure:
        return next_char_figure(self.logits, self.labels, self.temperature.value)

    def on_redraw(self) -> None:
        """Status: top probability and entropy at this temperature, and a sample if ``sample_fn`` is set."""
        t = self.temperature.value
        probs = apply_temperature(self.logits.float(), t)
        entropy = -(probs * probs.clamp_min(1e-12).log()).sum().item()
        text = f"temperature {t:.2f}: top probability {probs.max().item():.2f}, entropy {entropy:.2f} nats"
        if self.sample_fn is not None:
            raw = self.sample_fn(t)
            if self.known_words is not None:
                words = re.findall(r"[a-z']+", raw.lower())
                share = sum(word in self.known_words for word in words) / max(len(words), 1)
                text += f"; {share:.0%} of the sample's {len(words)} words occur in the training text"
            sample = raw.replace("&", "&amp;").replace("<", "&lt;").replace("\n", " / ")
            text += f"<br><tt>{sample}</tt>"
        self.status.value = text


def set_forget_bias(lstm: torch.nn.LSTM, value: float = 1.0) -> torch.nn.LSTM:
    """Give every layer and direction of ``lstm`` a forget-gate bias of ``value``; returns ``lstm``.

    PyTorch stores each layer's biases as ``bias_ih`` and ``bias_hh``, both (4H,) in the gate order
    input, forget, cell, output, and adds them, so the forget gate's bias is the sum of the two slices
    ``[H:2H]``. This sets ``bias_ih[H:2H] = value`` and ``bias_hh[H:2H] = 0``, so the sum is ``value``
    (setting both to ``value`` would give ``2 * value``).
    """
    if not isinstance(lstm, torch.nn.LSTM):
        raise ValueError(f"set_forget_bias needs an nn.LSTM; got {type(lstm).__name__} (a GRU has no forget gate).")
    if not lstm.bias:
        raise ValueError("this LSTM was built with bias=False: build it with bias=True to give the forget gate a bias.")
    hidden = lstm.hidden_size
    with torch.no_grad():
        for name, parameter in lstm.named_parameters():
            if name.startswith("bias_ih"):
                parameter[hidden:2 * hidden] = value
            elif name.startswith("bias_hh"):
                parameter[hidden:2 * hidden] = 0.0
    return lstm


def tbptt_chunks(ids: torch.Tensor, n_streams: int, chunk: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Cut a 1-D id tensor into consecutive chunks for truncated backpropagation through time.

    The text is divided into ``n_streams`` contiguous streams, one per batch row; chunk ``k`` is
    ``(inputs, targets)``, each ``(n_streams, chunk)``, and row ``s`` of chunk ``k + 1`` continues row
    ``s`` of chunk ``k`` exactly where it stopped, so a hidden state carried from chunk to chunk has
    read everything before. Targets are the inputs shifted by one character. The few characters that
    do not fill a whole chunk are left out.
    """
    if ids.dim() != 1 or ids.dtype != torch.int64:
        raise ValueError(f"ids must be a 1-D int64 tensor; got {ids.dtype}, shape {tuple(ids.shape)}.")
    if n_streams < 1 or chunk < 1:
        raise ValueError(f"n_streams and chunk must be positive; got {n_streams} and {chunk}.")
    per_stream = (len(ids) - 1) // n_streams
    n_chunks = per_stream // chunk
    if n_chunks < 1:
        raise ValueError(f"a text of {len(ids)} ids is too short for {n_streams} streams of chunks of {chunk}: "
                         "use fewer streams or shorter chunks.")
    span = n_chunks * chunk
    starts = torch.arange(n_streams) * per_stream
    rows = starts[:, None] + torch.arange(span + 1)
    streams = ids[rows]                                   # (n_streams, span + 1)
    return [(streams[:, k:k + chunk], streams[:, k + 1:k + chunk + 1]) for k in range(0, span, chunk)]
