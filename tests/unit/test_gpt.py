"""Unit tests for course_utils.topics.gpt (sampling filters, language-model scores, figures, explorer)."""

import math

import matplotlib.pyplot as plt
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils import widgets
from course_utils.data.text import char_ngram_bits
from course_utils.topics import gpt


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# --------------------------------------------------------------------------- sampling


def test_top_k_filter_keeps_the_k_largest_in_place():
    logits = torch.tensor([[1.0, 3.0, 2.0, 0.0], [0.0, -1.0, 5.0, 1.0]])
    inf = float("-inf")
    assert torch.equal(gpt.top_k_filter(logits, 2), torch.tensor([[inf, 3.0, 2.0, inf], [inf, inf, 5.0, 1.0]]))
    assert torch.equal(gpt.top_k_filter(logits, 1).isfinite().sum(-1), torch.tensor([1, 1]))
    assert gpt.top_k_filter(logits, None) is logits
    assert torch.equal(gpt.top_k_filter(logits, 4), logits)
    assert torch.equal(gpt.top_k_filter(logits, 10), logits)
    assert torch.equal(logits, torch.tensor([[1.0, 3.0, 2.0, 0.0], [0.0, -1.0, 5.0, 1.0]]))  # input unchanged


def test_top_k_filter_keeps_ties_with_the_kth():
    assert gpt.top_k_filter(torch.tensor([2.0, 1.0, 1.0, 0.0]), 2).isfinite().tolist() == [True, True, True, False]


@settings(max_examples=30, deadline=None)
@given(vocab=st.integers(2, 12), k=st.integers(1, 12), seed=st.integers(0, 10_000))
def test_only_the_k_most_likely_tokens_can_be_drawn(vocab, k, seed):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(3, vocab, generator=g)
    probs = gpt.next_token_probs(logits, temperature=0.7, top_k=k)
    torch.testing.assert_close(probs.sum(-1), torch.ones(3))
    allowed = torch.zeros_like(probs, dtype=torch.bool).scatter(1, logits.topk(min(k, vocab), dim=-1).indices, True)
    assert torch.all(probs[~allowed] == 0)
    draws = torch.multinomial(probs, 50, replacement=True, generator=g)
    assert torch.all(allowed.gather(1, draws))


def test_next_token_probs_temperature():
    logits = torch.tensor([2.0, 1.0, 0.0])
    torch.testing.assert_close(gpt.next_token_probs(logits), torch.softmax(logits, -1))
    torch.testing.assert_close(gpt.next_token_probs(logits, 0.5), torch.softmax(2 * logits, -1))
    assert gpt.next_token_probs(logits, 0.01)[0] > 0.999  # a low temperature is almost greedy
    assert gpt.next_token_probs(logits, 5.0, top_k=1).tolist() == [1.0, 0.0, 0.0]  # top-k = 1 is greedy


def test_sampling_bad_input():
    with pytest.raises(ValueError, match="positive int"):
        gpt.top_k_filter(torch.zeros(3), 0)
    with pytest.raises(ValueError, match="positive int"):
        gpt.top_k_filter(torch.zeros(3), 2.5)
    with pytest.raises(ValueError, match="temperature must be a number > 0"):
        gpt.next_token_probs(torch.zeros(3), 0.0)
    with pytest.raises(ValueError, match="temperature must be a number > 0"):
        gpt.next_token_probs(torch.zeros(3), "hot")


# --------------------------------------------------------------------------- scores


def _bigram_model(log_probs):
    return lambda ids: log_probs[ids]


@pytest.mark.parametrize("context", [1, 3, 7, 50])
def test_bits_per_char_of_the_bigram_table_equals_counting(context):
    g = torch.Generator().manual_seed(0)
    train, held_out = torch.randint(0, 5, (400,), generator=g), torch.randint(0, 5, (101,), generator=g)
    log_probs = gpt.bigram_log_probs(train, 5)
    torch.testing.assert_close(log_probs.exp().sum(1), torch.ones(5))
    expected = char_ngram_bits(train, held_out, 5, order=2)
    assert gpt.bits_per_char(_bigram_model(log_probs), held_out, context, batch_size=4) == pytest.approx(expected, abs=1e-5)


def test_bits_per_char_scores_every_target_once():
    # a model that puts probability 1/2 on the right answer at odd targets and 1/4 elsewhere
    ids = torch.arange(11) % 4

    def model(inputs):
        logits = torch.full((*inputs.shape, 4), -1e9)
        right = (inputs + 1) % 4
        logits.scatter_(2, right[..., None], 0.0)
        logits.scatter_(2, ((right + 1) % 4)[..., None], 0.0)  # two candidates of 1/2 each
        return logits

    for context in (1, 2, 3, 4, 10):
        assert gpt.bits_per_char(model, ids, context) == pytest.approx(1.0)


def test_uniform_model_pays_log2_vocab():
    ids = torch.randint(0, 8, (64,), generator=torch.Generator().manual_seed(1))
    assert gpt.bits_per_char(lambda x: torch.zeros(*x.shape, 8), ids, 5) == pytest.approx(3.0)


def test_scores_bad_input():
    ids = torch.arange(10)
    with pytest.raises(ValueError, match="context must be a positive int"):
        gpt.bits_per_char(lambda x: x, ids, 0)
    with pytest.raises(ValueError, match="at least 11 ids"):
        gpt.bits_per_char(lambda x: x, ids, 10)
    with pytest.raises(ValueError, match="1-D int64"):
        gpt.bits_per_char(lambda x: x, ids.float(), 2)
    with pytest.raises(ValueError, match=r"\(batch, length, vocab\) logits"):
        gpt.bits_per_char(lambda x: torch.zeros(len(x), 4), ids, 2)
    with pytest.raises(ValueError, match="outside 0..2"):
        gpt.bigram_log_probs(ids, 3)
    with pytest.raises(ValueError, match="smoothing must be positive"):
        gpt.bigram_log_probs(ids, 10, smoothing=0)


def test_words_and_known_words():
    assert gpt.words("Why, keep'st thou 'tis the KING's-way?\n") == ["why", "keep'st", "thou", "tis", "the", "king's", "way"]
    assert gpt.known_words("Thou art a VILLAIN, zqx!", {"thou", "art", "a", "villain"}) == (4, 5)
    assert gpt.known_words("... !", ["a"]) == (0, 0)
    with pytest.raises(ValueError, match="takes a str"):
        gpt.words(3)


def test_sample_bits():
    logits = torch.log(torch.tensor([[0.5, 0.25, 0.25], [0.25, 0.5, 0.25]]))
    assert gpt.sample_bits(logits, torch.tensor([0, 2])) == pytest.approx((1 + 2) / 2)
    with pytest.raises(ValueError, match="n token ids"):
        gpt.sample_bits(logits, torch.tensor([0]))


# --------------------------------------------------------------------------- figures and explorer


def test_figures():
    fig = gpt.bits_curve_figure([6.0 - 0.01 * i for i in range(100)], {"unigram": 4.9, "bigram": 3.6}, 4.8)
    assert fig.axes[0].get_ylabel() == "bits per character" and len(fig.axes[0].lines) == 4
    five = {"uniform": 5.9, "unigram": 4.9, "bigram": 3.6, "trigram": 2.7, "5-gram": 2.2}
    fig = gpt.bits_curve_figure([6.0 - 0.01 * i for i in range(100)], five, 2.4)
    assert len(fig.axes[0].lines) == 7  # every baseline gets its line, not only the first three
    labels = list("abc ")
    fig = gpt.generation_figure(torch.tensor([2.0, 1.0, 0.0, -1.0]), labels, 0.8, 2, "a b\nc", prompt="ab")
    bars = fig.axes[0].patches
    assert len(bars) == 8  # 4 probability bars, 4 outlines
    assert [b.get_height() > 0 for b in bars[:4]] == [True, True, False, False]
    assert "top-k 2" in fig.axes[0].get_title() and "a b\nc" in fig.axes[1].texts[0].get_text()
    with pytest.raises(ValueError, match="one label per logit"):
        gpt.generation_figure(torch.zeros(3), labels, 1.0, None, "")
    with pytest.raises(ValueError, match="empty training curve"):
        gpt.bits_curve_figure([], {})


def _explorer(top_k=2, **kwargs):
    calls = []

    def sample_fn(temperature, top_k):
        calls.append((temperature, top_k))
        text = "the cat zqx" if top_k is None else "the cat sat"
        return text, torch.zeros(len(text), 4), torch.zeros(len(text), dtype=torch.int64)

    explorer = gpt.GenerationExplorer(torch.tensor([1.0, 0.5, 0.0, -1.0]), list("tca "), sample_fn,
                                      {"the", "cat", "sat"}, prompt="t", top_k=top_k, **kwargs)
    return explorer, calls


def test_explorer_redraws_on_each_control():
    explorer, calls = _explorer()
    assert explorer.redraws == 0 and calls == [(pytest.approx(0.8), 2)]
    assert explorer.sample == "the cat sat"
    assert "3 of 3 words (100%)" in explorer.status.value and f"{math.log2(4):.2f} bits/char" in explorer.status.value
    explorer.top_k.value = 0  # off
    assert explorer.redraws == 1 and calls[-1][1] is None
    assert "2 of 3 words (67%)" in explorer.status.value and "top-k off" in explorer.status.value
    explorer.temperature.value = 2.0
    assert explorer.redraws == 2 and calls[-1][0] == pytest.approx(2.0)
    assert explorer.status.value.startswith("temperature 2.00")


def test_explorer_show_uses_a_live_figure_and_keeps_the_sample_out_of_the_fallback(monkeypatch):
    shown = []
    monkeypatch.setattr(widgets, "show_controls", lambda box, text, **kw: shown.append((text, kw)))
    explorer, _ = _explorer()
    explorer.show()
    assert shown and "top-k" in shown[0][0] and shown[0][1].get("plain_text") is None
    explorer.top_k.value = 1
    assert explorer.redraws == 1 and explorer.live.fig is explorer.fig


def test_explorer_bad_input():
    ok = (torch.zeros(4), list("abcd"), lambda t, k: ("", torch.zeros(1, 4), torch.zeros(1, dtype=torch.int64)), set())
    with pytest.raises(ValueError, match="one label per logit"):
        gpt.GenerationExplorer(torch.zeros(3), *ok[1:])
    with pytest.raises(ValueError, match="sample_fn must be a function"):
        gpt.GenerationExplorer(ok[0], ok[1], "text", set())
    with pytest.raises(ValueError, match="temperature must be between"):
        gpt.GenerationExplorer(*ok, temperature=0.0)
    with pytest.raises(ValueError, match="top_k must be an int from 0"):
        gpt.GenerationExplorer(*ok, top_k=5)
