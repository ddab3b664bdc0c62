"""Unit tests for course_utils.topics.transformers (attention by hand, masks, positions, figures, explorer)."""

import math

import matplotlib.pyplot as plt
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from course_utils import widgets
from course_utils.topics import transformers as att


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_attention_matches_pytorch_and_rows_sum_to_one():
    g = torch.Generator().manual_seed(0)
    q, k, v = torch.randn(2, 3, 5, 8, generator=g), torch.randn(2, 3, 7, 8, generator=g), torch.randn(2, 3, 7, 4, generator=g)
    out, weights = att.scaled_dot_product_attention(q, k, v)
    assert out.shape == (2, 3, 5, 4) and weights.shape == (2, 3, 5, 7)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 5))
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v), atol=1e-6, rtol=1e-5)


@settings(max_examples=25, deadline=None)
@given(length=st.integers(1, 7), d_k=st.integers(1, 9), seed=st.integers(0, 1000))
def test_causal_attention_matches_is_causal(length, d_k, seed):
    g = torch.Generator().manual_seed(seed)
    q, k, v = torch.randn(3, 2, length, d_k, generator=g).unbind(0)
    out, weights = att.scaled_dot_product_attention(q, k, v, att.causal_mask(length))
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, is_causal=True), atol=1e-5, rtol=1e-5)
    assert torch.all(weights.triu(1) == 0)


def test_mask_conventions_against_pytorch():
    """Ours (True = allowed) == F.sdpa (True = takes part) == nn.MultiheadAttention (True = blocked)."""
    torch.manual_seed(0)
    d_model, heads, length = 16, 2, 5
    mha = nn.MultiheadAttention(d_model, heads, batch_first=True)
    x = torch.randn(2, length, d_model)
    causal, real = att.causal_mask(length), att.padding_mask([5, 2], length)
    allowed = causal & att.keys_allowed(real)
    ref, ref_w = mha(x, x, x, attn_mask=att.to_blocked(causal), key_padding_mask=att.to_blocked(real),
                     average_attn_weights=False)
    w_q, w_k, w_v = mha.in_proj_weight.chunk(3)
    b_q, b_k, b_v = mha.in_proj_bias.chunk(3)
    q = att.split_heads(x @ w_q.T + b_q, heads)
    k = att.split_heads(x @ w_k.T + b_k, heads)
    v = att.split_heads(x @ w_v.T + b_v, heads)
    out, weights = att.scaled_dot_product_attention(q, k, v, allowed)
    torch.testing.assert_close(mha.out_proj(att.merge_heads(out)), ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(weights, ref_w, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=allowed), atol=1e-5, rtol=1e-5)
    assert weights[1, :, :, 2:].abs().max() == 0


def test_attention_bad_input():
    q = torch.randn(1, 3, 4)
    with pytest.raises(ValueError, match="same last size"):
        att.scaled_dot_product_attention(q, torch.randn(1, 3, 5), torch.randn(1, 3, 5))
    with pytest.raises(ValueError, match="same length"):
        att.scaled_dot_product_attention(q, q, torch.randn(1, 2, 4))
    with pytest.raises(TypeError, match="boolean"):
        att.scaled_dot_product_attention(q, q, q, torch.ones(3, 3))


def test_split_and_merge_heads_round_trip():
    x = torch.randn(2, 5, 12)
    heads = att.split_heads(x, 3)
    assert heads.shape == (2, 3, 5, 4)
    assert torch.equal(heads[:, 1], x[..., 4:8])
    assert torch.equal(att.merge_heads(heads), x)
    with pytest.raises(ValueError, match="divisible"):
        att.split_heads(x, 5)
    with pytest.raises(ValueError, match="batch, length, d_model"):
        att.split_heads(x[0], 3)
    with pytest.raises(ValueError, match="batch, heads"):
        att.merge_heads(x)


def test_masks():
    assert torch.equal(att.causal_mask(3), torch.tensor([[1, 0, 0], [1, 1, 0], [1, 1, 1]], dtype=torch.bool))
    real = att.padding_mask([3, 1], 4)
    assert real.tolist() == [[True, True, True, False], [True, False, False, False]]
    assert att.keys_allowed(real).shape == (2, 1, 1, 4)
    assert torch.equal(att.to_blocked(real), ~real)
    with pytest.raises(ValueError, match="positive int"):
        att.causal_mask(0)
    with pytest.raises(ValueError, match="between 1 and max_length"):
        att.padding_mask([5], 4)
    with pytest.raises(ValueError, match="1-D list of ints"):
        att.padding_mask([1.5], 4)
    with pytest.raises(ValueError, match="boolean"):
        att.keys_allowed(real.float())
    with pytest.raises(TypeError, match="boolean"):
        att.to_blocked(real.int())


def test_sinusoidal_positions():
    pe = att.sinusoidal_positions(10, 6)
    assert pe.shape == (10, 6)
    assert torch.equal(pe[0], torch.tensor([0.0, 1.0] * 3))
    assert pe[3, 0].item() == pytest.approx(math.sin(3))
    assert pe[3, 3].item() == pytest.approx(math.cos(3 / 10_000 ** (2 / 6)))
    assert pe.abs().max() <= 1
    with pytest.raises(ValueError, match="even"):
        att.sinusoidal_positions(4, 5)
    with pytest.raises(ValueError, match="n_positions"):
        att.sinusoidal_positions(0, 4)


def test_figures():
    w = torch.softmax(torch.randn(4, 5), -1)
    fig = att.attention_figure(w, list("abcd"), list("vwxyz"), title="t")
    assert fig.axes[0].get_title() == "t"
    fig = att.masks_figure({"causal": att.causal_mask(4), "pad": att.padding_mask([2], 4).expand(4, 4)})
    assert [ax.get_title() for ax in fig.axes] == ["causal", "pad"]
    fig = att.positions_figure(att.sinusoidal_positions(20, 16))
    assert len(fig.axes[1].lines) == 4
    with pytest.raises(ValueError, match="one label per position"):
        att.attention_figure(w, list("ab"))
    with pytest.raises(ValueError, match="one \\(L_q, L_k\\) matrix"):
        att.attention_figure(w[None])
    with pytest.raises(ValueError, match="2-D boolean"):
        att.masks_figure({"bad": torch.ones(3, 3)})
    with pytest.raises(ValueError, match="no masks"):
        att.masks_figure({})
    with pytest.raises(ValueError, match="do not exist"):
        att.positions_figure(att.sinusoidal_positions(5, 4))


def test_attention_map_figure():
    weights = torch.softmax(torch.randn(2, 3, 4, 4), -1)
    fig = att.attention_map_figure(weights, 1, 2, title="example")
    assert fig.axes[0].get_title() == "layer 1, head 2"
    assert fig.axes[1].get_title() == "layer 1, mean of heads"
    with pytest.raises(ValueError, match="layer must be in 0..1"):
        att.attention_map_figure(weights, 2, 0)
    with pytest.raises(ValueError, match="layers, heads"):
        att.attention_map_figure(weights[0], 0, 0)


def test_explorer_redraws_on_each_control():
    weights = torch.softmax(torch.randn(3, 2, 4, 5, 5), -1)
    explorer = att.AttentionExplorer(
        weights, query_labels=[list("abcde")] * 3, key_labels=[list("vwxyz")] * 3,
        titles=["first", "second", "third"], layer=1,
    )
    assert explorer.redraws == 0 and explorer.fig.axes[0].get_title() == "layer 1, head 0"
    explorer.head.value = 3
    explorer.layer.value = 0
    explorer.example.value = 2
    assert explorer.redraws == 3
    assert explorer.fig.axes[0].get_title() == "layer 0, head 3"
    assert explorer.fig.get_suptitle() == "third"
    assert explorer.status.value.startswith("example 2, layer 0, head 3")
    explorer.head.value = 99  # sliders clamp to their range
    assert explorer.head.value == 3


def test_explorer_show_uses_a_live_figure(monkeypatch):
    shown = []
    monkeypatch.setattr(widgets, "show_controls", lambda box, text, **_: shown.append(text))
    explorer = att.AttentionExplorer(torch.softmax(torch.randn(2, 1, 2, 3, 3), -1))
    explorer.show()
    assert shown and "example" in shown[0] and explorer.live is not None
    explorer.example.value = 1
    assert explorer.redraws == 1 and explorer.live.fig is explorer.fig


def test_explorer_bad_input():
    with pytest.raises(ValueError, match="examples, layers, heads"):
        att.AttentionExplorer(torch.rand(2, 3, 4, 4))
    with pytest.raises(ValueError, match="one per example"):
        att.AttentionExplorer(torch.rand(2, 1, 1, 3, 3), titles=["only one"])
    with pytest.raises(ValueError, match="head must be in 0..0"):
        att.AttentionExplorer(torch.rand(2, 1, 1, 3, 3), head=1)
