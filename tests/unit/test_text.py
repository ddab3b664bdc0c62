import math

import pytest
import torch

from course_utils.data import text
from course_utils.data.sequences import CharVocab


def test_shakespeare_loads_verified_and_has_the_documented_form():
    corpus = text.load_shakespeare()
    assert 290_000 < len(corpus) < 310_000
    assert corpus.startswith("First Citizen:\n") and corpus.endswith("\n")
    assert len(set(corpus)) == 62


def test_split_is_contiguous_and_cut_at_a_line_break():
    corpus = "".join(f"line {i}\n" for i in range(100))
    train, val = text.split_text(corpus, 0.1)
    assert train + val == corpus and train.endswith("\n")
    assert abs(len(val) - 0.1 * len(corpus)) < 10
    with pytest.raises(ValueError, match="between 0 and 1"):
        text.split_text(corpus, 1.0)


def test_ngram_bits_match_a_hand_count():
    # train "abab": bigram counts a->b 2, b->a 1; add-1 over V = 2
    train, evaluate = torch.tensor([0, 1, 0, 1]), torch.tensor([0, 1, 1])
    p_ab, p_bb = 3 / 4, 1 / 3
    expected = -(math.log2(p_ab) + math.log2(p_bb)) / 2
    assert text.char_ngram_bits(train, evaluate, 2, order=2) == pytest.approx(expected)
    assert text.char_ngram_bits(train, evaluate, 2, order=1) == pytest.approx(1.0)  # 3 a's, 3 b's with add-1


def test_bigram_beats_unigram_beats_uniform_on_shakespeare():
    train, val = text.split_text(text.load_shakespeare())
    vocab = CharVocab.from_text(train + val)
    a, b = vocab.encode(train), vocab.encode(val)
    bigram = text.char_ngram_bits(a, b, len(vocab), order=2)
    unigram = text.char_ngram_bits(a, b, len(vocab), order=1)
    assert bigram < unigram - 1.0 and unigram < text.uniform_bits(len(vocab)) - 0.5


def test_ngram_bits_refuse_bad_input():
    ids = torch.tensor([0, 1, 2])
    with pytest.raises(ValueError, match="same vocabulary"):
        text.char_ngram_bits(ids, ids, 2)
    with pytest.raises(ValueError, match="smoothing must be positive"):
        text.char_ngram_bits(ids, ids, 3, smoothing=0)
    with pytest.raises(ValueError, match="int64"):
        text.char_ngram_bits(ids.float(), ids, 3)


def test_missing_file_says_how_to_restore(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATASETS_DIR", str(tmp_path))
    (tmp_path / "SHA256SUMS").write_text("")
    with pytest.raises(FileNotFoundError, match="git checkout -- datasets/shakespeare.txt"):
        text.load_shakespeare()


def test_interpolated_ngram_matches_a_direct_witten_bell_count():
    # A tiny text, the interpolated bigram computed by hand from its counts.
    train = torch.tensor([0, 1, 0, 1, 2, 0, 1, 1])
    eval_ids = torch.tensor([0, 1, 2, 2])
    vocab = 4
    unigram = (torch.bincount(train, minlength=vocab).double() + 1) / (len(train) + vocab)
    pairs = torch.zeros(vocab, vocab, dtype=torch.float64)
    for a, b in zip(train[:-1].tolist(), train[1:].tolist(), strict=True):
        pairs[a, b] += 1
    expected = []
    for a, b in zip(eval_ids[:-1].tolist(), eval_ids[1:].tolist(), strict=True):
        seen, distinct = pairs[a].sum(), (pairs[a] > 0).sum()
        expected.append(float((pairs[a, b] + distinct * unigram[b]) / (seen + distinct)) if seen > 0
                        else float(unigram[b]))
    bits = -torch.log2(torch.tensor(expected)).mean().item()
    assert text.char_ngram_bits_interpolated(train, eval_ids, vocab, order=2) == pytest.approx(bits)
    # order 1 is the add-one unigram of char_ngram_bits
    assert text.char_ngram_bits_interpolated(train, eval_ids, vocab, order=1) == pytest.approx(
        text.char_ngram_bits(train, eval_ids, vocab, order=1))


def test_interpolated_ngram_sums_to_one_and_improves_with_context():
    g = torch.Generator().manual_seed(0)
    train = torch.randint(0, 3, (2000,), generator=g) * 0
    train[1::2] = 1                                    # 0 1 0 1 ...: one character of context decides the next
    eval_ids = train[:101]
    assert text.char_ngram_bits_interpolated(train, eval_ids, 3, order=2) < 0.05
    assert text.char_ngram_bits_interpolated(train, eval_ids, 3, order=1) > 0.9
    # the probabilities over the alphabet sum to one after any context
    for context in ([0], [1], [2]):
        total = sum(2 ** -text.char_ngram_bits_interpolated(train, torch.tensor(context + [c]), 3, order=2)
                    for c in range(3))
        assert total == pytest.approx(1.0)


@pytest.mark.parametrize("kwargs,words", [
    ({"order": 0}, "order must be"),
    ({"order": 7}, "order must be"),
    ({"order": 2.0}, "order must be"),
])
def test_interpolated_ngram_bad_order(kwargs, words):
    ids = torch.tensor([0, 1, 2])
    with pytest.raises(ValueError, match=words):
        text.char_ngram_bits_interpolated(ids, ids, 3, **kwargs)


def test_interpolated_ngram_bad_ids():
    ids = torch.tensor([0, 1, 2])
    with pytest.raises(ValueError, match="outside"):
        text.char_ngram_bits_interpolated(ids, torch.tensor([0, 5]), 3, order=2)
    with pytest.raises(ValueError, match="1-D int64"):
        text.char_ngram_bits_interpolated(ids.float(), ids, 3, order=2)
    with pytest.raises(ValueError, match="too large"):
        text.char_ngram_bits_interpolated(ids, ids, 2**31, order=3)
