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
