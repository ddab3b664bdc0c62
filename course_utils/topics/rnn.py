"""Helpers of notebook 09 (RNN): LSTM gate activations, sampling with a temperature, its picture and its widget.

``lstm_gates``, ``apply_temperature`` and ``next_char_figure`` are pure; ``TemperatureExplorer`` only wires a
slider to them. The notebook's data (memory task, series, corpus) is in ``course_utils.data.sequences``.
"""

from __future__ import annotations

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
    a text sampled at temperature ``t`` (optional). Tests set ``.temperature.value`` and read
    ``.redraws``, ``.fig`` and ``.status.value``.
    """

    description = "a temperature slider that redraws the next-character probabilities and a sample"
    status_in_fallback = False  # the status is a sampled text

    def __init__(self, logits: torch.Tensor, labels: Sequence[str],
                 sample_fn: Callable[[float], str] | None = None, temperature: float = 1.0) -> None:
        import ipywidgets as w

        if logits.dim() != 1 or len(labels) != len(logits):
            raise ValueError(f"need 1-D logits and one label per logit; got {tuple(logits.shape)} and {len(labels)}.")
        self.logits, self.labels, self.sample_fn = logits.detach(), list(labels), sample_fn
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
            sample = self.sample_fn(t).replace("&", "&amp;").replace("<", "&lt;").replace("\n", " / ")
            text += f"<br><tt>{sample}</tt>"
        self.status.value = text
