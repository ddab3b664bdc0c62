"""Checks of notebook 18: right answers pass, typical mistakes get a hint naming them, `...` is not done."""

import pytest
import torch
from sklearn.metrics import roc_auc_score
from torch import nn

from course_utils.exercises import ex18
from course_utils.topics import autoencoders as ae


def _out(capsys) -> str:
    return capsys.readouterr().out


# --- 18.1: the output shape of a transposed-convolution stack


def test_1_expected_shape_is_what_pytorch_gives():
    assert ex18.decoder_output_shape() == (1, 1, 10, 10)
    size = ae.conv_transpose_output_size(3, 3, 2, 1, 1)
    assert ae.conv_transpose_output_size(size, 5) == 10


@pytest.mark.parametrize("answer", [(1, 1, 10, 10), [1, 1, 10, 10], torch.Size([1, 1, 10, 10])])
def test_1_right(answer, capsys):
    assert ex18.check_1(answer) is None
    assert "✅ Exercise 18.1 passed" in _out(capsys)


@pytest.mark.parametrize(("answer", "hint"), [((1, 1, 9, 9), "output_padding"), ((1, 4, 6, 6), "first layer only"),
                                              ((1, 4, 10, 10), "1 output channel"), ((1, 1, 2, 2), "ordinary Conv2d"),
                                              ((10, 10), "four dimensions"), ((1, 1, 11, 11), "not what the stack"),
                                              ("10x10", "tuple of ints")])
def test_1_mistakes(answer, hint, capsys):
    ex18.check_1(answer)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


def test_1_placeholder(capsys):
    ex18.check_1(...)
    assert "not done yet" in _out(capsys)


# --- 18.2: the effective β of a mean-reduced BCE


def test_2_identity_behind_the_answer():
    torch.manual_seed(0)
    logits, x = torch.randn(16, 64), torch.rand(16, 64)
    mu, logvar = torch.randn(16, 8), torch.randn(16, 8)
    bug = nn.functional.binary_cross_entropy(torch.sigmoid(logits), x) + ae.gaussian_kl(mu, logvar).mean()
    loss, _, _ = ae.vae_loss(logits, x, mu, logvar, beta=ex18.PIXELS)
    assert torch.isclose(64 * bug, loss, rtol=1e-4)


@pytest.mark.parametrize(("beta", "rate"), [(64, 0.0), (64.0, 0.1), (torch.tensor(64.0), 0)])
def test_2_right(beta, rate, capsys):
    assert ex18.check_2(beta, rate) is None
    assert "✅ Exercise 18.2 passed" in _out(capsys)


@pytest.mark.parametrize(("beta", "rate", "hint"), [(1, 0.0, "reduction='mean'"), (1 / 64, 0.0, "wrong way round"),
                                                    (128, 0.0, "batch size cancels"), (8, 0.0, "latent dimensions"),
                                                    (32, 0.0, "not the equivalent"), (64, 3.4, "switched it off"),
                                                    (64, -1.0, "never negative"), ("64", 0.0, "two numbers")])
def test_2_mistakes(beta, rate, hint, capsys):
    ex18.check_2(beta, rate)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


def test_2_placeholders(capsys):
    ex18.check_2(..., 0.0)
    assert "not done yet" in _out(capsys)
    ex18.check_2(64, ...)
    assert "not done yet" in _out(capsys)


# --- 18.3: the AUC by counting pairs


def test_3_expected_is_sklearn():
    scores = list(ex18.AUC_NORMAL) + list(ex18.AUC_ANOMALY)
    labels = [0] * len(ex18.AUC_NORMAL) + [1] * len(ex18.AUC_ANOMALY)
    assert abs(ex18.pairwise_auc() - roc_auc_score(labels, scores)) < 1e-12
    assert abs(ex18.pairwise_auc() - ae.auc(torch.tensor(scores), torch.tensor(labels))) < 1e-12


@pytest.mark.parametrize("answer", [9.5 / 12, 0.7917, torch.tensor(9.5 / 12)])
def test_3_right(answer, capsys):
    ex18.check_3(answer)
    assert "✅ Exercise 18.3 passed" in _out(capsys)


@pytest.mark.parametrize(("answer", "hint"), [(0.75, "as a loss"), (10 / 12, "as a win"), (2.5 / 12, "1 − AUC"),
                                              (9.5, "between 0 and 1"), (0.6, "ties count ½")])
def test_3_mistakes(answer, hint, capsys):
    ex18.check_3(answer)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


def test_3_placeholder(capsys):
    ex18.check_3(...)
    assert "not done yet" in _out(capsys)
