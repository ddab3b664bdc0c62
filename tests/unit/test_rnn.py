"""course_utils.topics.rnn: temperature sampling, its figure, and the explorer that redraws and reports."""

import math

import matplotlib.pyplot as plt
import pytest
import torch

from course_utils import widgets
from course_utils.topics import rnn


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


def test_temperature_explorer_scores_known_words():
    explorer = rnn.TemperatureExplorer(torch.zeros(3), ["a", "b", "c"], sample_fn=lambda t: "The king, qzx kings",
                                       known_words={"the", "king"})
    assert "50% of the sample's 4 words occur in the training text" in explorer.status.value
    plt.close("all")
    with pytest.raises(ValueError, match="pass sample_fn"):
        rnn.TemperatureExplorer(torch.zeros(3), ["a", "b", "c"], known_words={"a"})


def test_temperature_explorer_show_uses_a_live_figure(monkeypatch):
    shown = []
    monkeypatch.setattr(widgets, "show_controls", lambda box, text, **_: shown.append(text))
    explorer = rnn.TemperatureExplorer(torch.zeros(3), ["a", "b", "c"])
    explorer.show()
    assert shown and "temperature slider" in shown[0] and explorer.live is not None
    explorer.temperature.value = 2.0
    assert explorer.redraws == 1 and explorer.live.fig is explorer.fig
    assert "entropy 1.10 nats" in explorer.status.value  # uniform over 3: log 3
    plt.close("all")
    with pytest.raises(ValueError, match="1-D logits"):
        rnn.TemperatureExplorer(torch.zeros(2, 3), ["a", "b", "c"])


def test_apply_temperature():
    logits = torch.tensor([2.0, 1.0, 0.0])
    torch.testing.assert_close(rnn.apply_temperature(logits, 1.0), torch.softmax(logits, dim=-1))
    sharp, flat = rnn.apply_temperature(logits, 0.1), rnn.apply_temperature(logits, 10.0)
    assert sharp[0] > 0.99 and flat.max() - flat.min() < 0.1
    assert torch.allclose(rnn.apply_temperature(torch.randn(4, 5), 0.7).sum(dim=-1), torch.ones(4))
    with pytest.raises(ValueError, match="temperature must be > 0"):
        rnn.apply_temperature(logits, 0.0)


def test_next_char_figure_orders_by_probability():
    logits = torch.tensor([0.0, 3.0, 1.0, 2.0])
    fig = rnn.next_char_figure(logits, ["a", " ", "\n", "c"], temperature=1.0, top=3)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["␣", "c", "\\n"]
    heights = [p.get_height() for p in ax.patches]
    assert heights == sorted(heights, reverse=True) and ax.get_title() == "next character, temperature 1.00"
    plt.close(fig)
    with pytest.raises(ValueError, match="one label per logit"):
        rnn.next_char_figure(logits, ["a"], 1.0)


def test_lstm_gates_rebuild_the_lstm_outputs():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 5, batch_first=True)
    x = torch.randn(2, 6, 3)
    gates = rnn.lstm_gates(lstm, x)
    assert set(gates) == {"input", "forget", "output", "h"}
    assert all(v.shape == (2, 6, 5) for v in gates.values())
    assert torch.allclose(gates["h"], lstm(x)[0].detach(), atol=1e-6)
    assert all(((v > 0) & (v < 1)).all() for k, v in gates.items() if k != "h")


def test_lstm_gates_reject_wrong_layers_and_shapes():
    with pytest.raises(ValueError, match="batch_first"):
        rnn.lstm_gates(torch.nn.LSTM(3, 5), torch.randn(2, 6, 3))
    with pytest.raises(ValueError, match="batch_first"):
        rnn.lstm_gates(torch.nn.LSTM(3, 5, num_layers=2, batch_first=True), torch.randn(2, 6, 3))
    with pytest.raises(ValueError, match="x must be"):
        rnn.lstm_gates(torch.nn.LSTM(3, 5, batch_first=True), torch.randn(2, 6, 4))


def test_set_forget_bias_sets_the_sum_of_both_bias_slices():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    before = {name: p.detach().clone() for name, p in lstm.named_parameters()}
    assert rnn.set_forget_bias(lstm, 1.0) is lstm
    for suffix in ("l0", "l0_reverse", "l1", "l1_reverse"):
        ih, hh = getattr(lstm, f"bias_ih_{suffix}"), getattr(lstm, f"bias_hh_{suffix}")
        torch.testing.assert_close(ih[4:8] + hh[4:8], torch.ones(4))
        for gate in (slice(0, 4), slice(8, 16)):  # input, cell and output gates untouched
            torch.testing.assert_close(ih[gate], before[f"bias_ih_{suffix}"][gate])
            torch.testing.assert_close(hh[gate], before[f"bias_hh_{suffix}"][gate])
    with torch.no_grad():  # zero input and zero state: the forget gate is exactly sigmoid(1)
        gates = rnn.lstm_gates(rnn.set_forget_bias(torch.nn.LSTM(3, 4, batch_first=True)), torch.zeros(1, 1, 3))
    torch.testing.assert_close(gates["forget"][0, 0], torch.sigmoid(torch.ones(4)))


def test_set_forget_bias_rejects_other_layers():
    with pytest.raises(ValueError, match="GRU has no forget gate"):
        rnn.set_forget_bias(torch.nn.GRU(3, 4))
    with pytest.raises(ValueError, match="bias=False"):
        rnn.set_forget_bias(torch.nn.LSTM(3, 4, bias=False))


def test_tbptt_chunks_continue_each_stream():
    ids = torch.arange(103)
    chunks = rnn.tbptt_chunks(ids, n_streams=4, chunk=5)
    assert len(chunks) == 5 and all(x.shape == y.shape == (4, 5) for x, y in chunks)  # 25 ids per stream
    inputs = torch.cat([x for x, _ in chunks], dim=1)
    targets = torch.cat([y for _, y in chunks], dim=1)
    torch.testing.assert_close(inputs[:, 1:], targets[:, :-1])       # targets = inputs shifted by one
    torch.testing.assert_close(inputs, torch.arange(4)[:, None] * 25 + torch.arange(25))  # contiguous streams
    assert chunks[1][0][2, 0] == chunks[0][0][2, -1] + 1              # chunk k+1 goes on where chunk k stopped


def test_tbptt_chunks_reject_bad_input():
    with pytest.raises(ValueError, match="1-D int64"):
        rnn.tbptt_chunks(torch.zeros(50), 2, 5)
    with pytest.raises(ValueError, match="too short"):
        rnn.tbptt_chunks(torch.arange(20), 4, 10)
    with pytest.raises(ValueError, match="positive"):
        rnn.tbptt_chunks(torch.arange(20), 0, 10)
