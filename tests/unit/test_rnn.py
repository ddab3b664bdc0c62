"""course_utils.rnn: the temperature explorer (a widget shell over data.sequences) redraws and reports."""

import math

import matplotlib.pyplot as plt
import pytest
import torch

from course_utils import rnn, widgets


def test_temperature_explorer_redraws_and_reports():
    calls = []

    def sample(t):
        calls.append(t)
        return f"text <at> {t:.1f}\nline"

    explorer = rnn.TemperatureExplorer(torch.tensor([0.0, 1.0, 3.0]), ["x", "y", "z"], sample_fn=sample)
    assert explorer.redraws == 0 and calls == [1.0]
    assert "temperature 1.00" in explorer.status.value and "&lt;at&gt;" not in explorer.status.value
    assert "text &lt;at> 1.0 / line" in explorer.status.value  # escaped, newline shown as " / "
    explorer.temperature.value = 0.1
    assert explorer.redraws == 1 and math.isclose(calls[-1], 0.1, rel_tol=1e-6)
    assert explorer.fig.axes[0].get_title() == "next character, temperature 0.10"
    assert "top probability 1.00" in explorer.status.value
    plt.close("all")


def test_temperature_explorer_show_uses_a_live_figure(monkeypatch):
    shown = []
    monkeypatch.setattr(widgets, "show_controls", lambda box, text: shown.append(text))
    explorer = rnn.TemperatureExplorer(torch.zeros(3), ["a", "b", "c"])
    explorer.show()
    assert shown and "temperature slider" in shown[0] and explorer.live is not None
    explorer.temperature.value = 2.0
    assert explorer.live.redraws == 1 and explorer.live.fig is explorer.fig
    assert "entropy 1.10 nats" in explorer.status.value  # uniform over 3: log 3
    plt.close("all")
    with pytest.raises(ValueError, match="1-D logits"):
        rnn.TemperatureExplorer(torch.zeros(2, 3), ["a", "b", "c"])
