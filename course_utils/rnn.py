"""Widget shell of notebook 09 (RNN): a temperature slider over next-character probabilities.

The logic is pure and lives in ``course_utils.data.sequences`` (``apply_temperature``,
``next_char_figure``); ``TemperatureExplorer`` only wires a slider to them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from matplotlib.figure import Figure

from course_utils.data.sequences import apply_temperature, next_char_figure
from course_utils.widgets import Explorer


class TemperatureExplorer(Explorer):
    """A temperature slider over next-character probabilities, with a text sample as status.

    ``logits``: the model's next-character logits after a prompt (1-D); ``sample_fn(t)`` returns
    a text sampled at temperature ``t`` (optional). Tests set ``.temperature.value`` and read
    ``.redraws``, ``.fig`` and ``.status.value``.
    """

    description = "a temperature slider that redraws the next-character probabilities and a sample"

    def __init__(self, logits: torch.Tensor, labels: Sequence[str],
                 sample_fn: Callable[[float], str] | None = None, temperature: float = 1.0) -> None:
        import ipywidgets as w

        if logits.dim() != 1 or len(labels) != len(logits):
            raise ValueError(f"need 1-D logits and one label per logit; got {tuple(logits.shape)} and {len(labels)}.")
        self.logits, self.labels, self.sample_fn = logits.detach(), list(labels), sample_fn
        self.temperature = w.FloatLogSlider(value=temperature, base=10, min=-1.3, max=0.5, step=0.05,
                                            description="temperature", continuous_update=False, readout_format=".2f")
        self.status = w.HTML("")
        self.box = w.VBox([self.temperature, self.status])
        super().__init__()
        self.temperature.observe(self.redraw, names="value")

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
