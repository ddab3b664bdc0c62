"""course_utils.data.sequences: generated sequence tasks, series, text and temperature."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils.data import sequences

# --------------------------------------------------------------------------- memory task


def test_remember_first_batch_layout():
    X, y = sequences.remember_first_batch(50, 7, n_symbols=3, generator=torch.Generator().manual_seed(0))
    assert X.shape == (50, 7, 4) and X.dtype == torch.float32 and y.shape == (50,) and y.dtype == torch.int64
    assert torch.equal(X[:, 0, :3].argmax(dim=1), y)  # the target is the first symbol
    assert X[:, :, :3].sum(dim=2).eq(1).all()  # one symbol per step
    assert X[:, 0, 3].eq(1).all() and X[:, 1:, 3].eq(0).all()  # the marker flags step 0 only
    again, y_again = sequences.remember_first_batch(50, 7, 3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(X, again) and torch.equal(y, y_again)
    assert set(X[:, 1:, :3].argmax(dim=2).unique().tolist()) == {0, 1, 2}  # later steps use the same alphabet


@pytest.mark.parametrize("args", [(0, 5), (4, 0), (4, 5, 1), (4.0, 5)])
def test_remember_first_batch_bad_input(args):
    with pytest.raises(ValueError, match="must be an int"):
        sequences.remember_first_batch(*args)


# --------------------------------------------------------------------------- variable lengths


def test_variable_length_sequences():
    seqs = sequences.variable_length_sequences(30, min_length=2, max_length=5, n_features=3, seed=1)
    lengths = {len(s) for s in seqs}
    assert len(seqs) == 30 and lengths <= {2, 3, 4, 5} and len(lengths) > 1
    assert all(s.shape[1] == 3 and s.dtype == torch.float32 for s in seqs)
    again = sequences.variable_length_sequences(30, min_length=2, max_length=5, n_features=3, seed=1)
    assert all(torch.equal(a, b) for a, b in zip(seqs, again, strict=True))
    with pytest.raises(ValueError, match="min_length"):
        sequences.variable_length_sequences(3, min_length=5, max_length=2)
    with pytest.raises(ValueError, match="positive int"):
        sequences.variable_length_sequences(0)


# --------------------------------------------------------------------------- series and windows


def test_multi_sine_series_is_seeded_and_noisy():
    clean = sequences.multi_sine_series(200, periods=(20.0,), amplitudes=(1.0,), noise=0.0, seed=0)
    assert clean.shape == (200,) and clean.dtype == torch.float32
    assert torch.allclose(clean[:180], clean[20:], atol=1e-5)  # period 20
    noisy = sequences.multi_sine_series(200, periods=(20.0,), amplitudes=(1.0,), noise=0.1, seed=0)
    assert 0.05 < (noisy - clean).std() < 0.15
    assert torch.equal(noisy, sequences.multi_sine_series(200, periods=(20.0,), amplitudes=(1.0,), noise=0.1, seed=0))
    with pytest.raises(ValueError, match="one amplitude per period"):
        sequences.multi_sine_series(100, periods=(10.0, 5.0), amplitudes=(1.0,))
    with pytest.raises(ValueError, match="n_steps"):
        sequences.multi_sine_series(1)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 40), window=st.integers(1, 10), horizon=st.integers(1, 3))
def test_sliding_windows_shapes_and_values(n, window, horizon):
    series = torch.arange(n, dtype=torch.float32)
    if n < window + horizon:
        with pytest.raises(ValueError, match="too short"):
            sequences.sliding_windows(series, window, horizon)
        return
    X, y = sequences.sliding_windows(series, window, horizon)
    count = n - window - horizon + 1
    assert X.shape == (count, window, 1) and y.shape == (count, horizon)
    for k in (0, count - 1):
        assert torch.equal(X[k, :, 0], series[k:k + window])
        assert torch.equal(y[k], series[k + window:k + window + horizon])


def test_sliding_windows_bad_input():
    with pytest.raises(ValueError, match="1-D"):
        sequences.sliding_windows(torch.zeros(3, 4), 2)
    with pytest.raises(ValueError, match="positive ints"):
        sequences.sliding_windows(torch.zeros(10), 0)


# --------------------------------------------------------------------------- text


def test_template_corpus_and_vocab_round_trip():
    text = sequences.template_corpus(50, seed=0)
    assert text == sequences.template_corpus(50, seed=0) != sequences.template_corpus(50, seed=1)
    assert text.count("\n") == 50 and text.endswith(".\n")
    vocab = sequences.CharVocab.from_text(text)
    assert len(vocab) < 30 and vocab.chars == sorted(vocab.chars)
    ids = vocab.encode(text)
    assert ids.dtype == torch.int64 and vocab.decode(ids) == text
    with pytest.raises(ValueError, match="not in the vocabulary"):
        vocab.encode("THE CAT")
    with pytest.raises(ValueError, match="ids must be in"):
        vocab.decode([len(vocab)])
    with pytest.raises(ValueError, match="distinct single characters"):
        sequences.CharVocab(["a", "a"])
    with pytest.raises(ValueError, match="empty"):
        sequences.CharVocab.from_text("")
    with pytest.raises(ValueError, match="positive int"):
        sequences.template_corpus(0)


def test_next_char_batches_are_shifted_by_one():
    ids = torch.arange(100)
    inputs, targets = sequences.next_char_batches(ids, 8, 10, generator=torch.Generator().manual_seed(0))
    assert inputs.shape == targets.shape == (8, 10)
    assert torch.equal(targets, inputs + 1)  # consecutive ids: the target is the next one
    with pytest.raises(ValueError, match="longer than"):
        sequences.next_char_batches(torch.arange(5), 2, 10)


# --------------------------------------------------------------------------- temperature


