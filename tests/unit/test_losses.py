"""course_utils.topics.losses: the from-scratch losses agree with torch.nn, fail clearly on bad input,
and the loss explorer (pure figure + widget shell) redraws as its sliders move."""

import math

import matplotlib.pyplot as plt
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils.topics import losses

REDUCTIONS = st.sampled_from(losses.REDUCTIONS)


def _close(a, b, rel=1e-5):
    scale = b.abs().clamp(min=1.0)
    return bool(((a - b).abs() / scale).max() <= rel)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 40), seed=st.integers(0, 10_000), reduction=REDUCTIONS,
       delta=st.floats(0.05, 5.0))
def test_regression_losses_match_torch(n, seed, reduction, delta):
    gen = torch.Generator().manual_seed(seed)
    pred, target = torch.randn(n, generator=gen) * 3, torch.randn(n, generator=gen)
    assert _close(losses.mse(pred, target, reduction), F.mse_loss(pred, target, reduction=reduction))
    assert _close(losses.mae(pred, target, reduction), F.l1_loss(pred, target, reduction=reduction))
    assert _close(losses.huber(pred, target, delta, reduction),
                  F.huber_loss(pred, target, reduction=reduction, delta=delta))


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 40), seed=st.integers(0, 10_000), scale=st.floats(0.1, 200.0), reduction=REDUCTIONS)
def test_bce_with_logits_matches_torch_and_stays_finite(n, seed, scale, reduction):
    gen = torch.Generator().manual_seed(seed)
    logits, targets = torch.randn(n, generator=gen) * scale, torch.rand(n, generator=gen)
    mine = losses.bce_with_logits(logits, targets, reduction)
    assert torch.isfinite(mine).all()
    assert _close(mine, F.binary_cross_entropy_with_logits(logits, targets, reduction=reduction))


@settings(max_examples=30, deadline=None)
@given(batch=st.integers(1, 12), classes=st.integers(2, 7), seed=st.integers(0, 10_000),
       scale=st.floats(0.1, 1000.0), reduction=REDUCTIONS, smoothing=st.sampled_from([0.0, 0.1, 0.3]))
def test_cross_entropy_matches_torch(batch, classes, seed, scale, reduction, smoothing):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(batch, classes, generator=gen) * scale
    indices = torch.randint(0, classes, (batch,), generator=gen)
    probs = torch.softmax(torch.randn(batch, classes, generator=gen), dim=1)
    for targets in (indices, probs):
        mine = losses.cross_entropy(logits, targets, reduction, label_smoothing=smoothing)
        theirs = F.cross_entropy(logits, targets, reduction=reduction, label_smoothing=smoothing)
        assert torch.isfinite(mine).all()
        assert _close(mine, theirs)


def test_worked_examples_of_the_notebook():
    assert losses.mse(torch.tensor([3.0, 5.0, 2.5, 7.0]), torch.tensor([3.0, 4.5, 2.0, 8.0])).item() == 0.375
    scores = torch.tensor([[0.1, 6.0, -2.0, 3.2]])
    assert losses.cross_entropy(scores, torch.tensor([2])).item() == pytest.approx(8.0619, abs=1e-4)
    one_hot = losses.one_hot(torch.tensor([2]), 4)
    assert losses.cross_entropy(scores, one_hot).item() == pytest.approx(8.0619, abs=1e-4)


def test_log_softmax_survives_huge_logits():
    logits = torch.tensor([[1000.0, 0.0, -1000.0]])
    out = losses.log_softmax(logits, dim=1)
    assert torch.isfinite(out).all()
    assert torch.allclose(out, F.log_softmax(logits, dim=1))


def test_naive_bce_breaks_where_the_logits_form_does_not():
    logits, labels = torch.tensor([40.0]), torch.tensor([0.0])
    assert math.isinf(losses.bce_on_probabilities(torch.sigmoid(logits), labels).item())
    assert losses.bce_with_logits(logits, labels).item() == pytest.approx(40.0)


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: losses.reduce(torch.ones(2), "average"), ValueError, "mean, sum, none"),
        (lambda: losses.mse(torch.ones(4, 1), torch.ones(4)), ValueError, "unsqueeze"),
        (lambda: losses.mae(torch.ones(3), torch.ones(3, dtype=torch.int64)), TypeError, ".float()"),
        (lambda: losses.mse([1.0], torch.ones(1)), TypeError, "torch.Tensor"),
        (lambda: losses.huber(torch.ones(2), torch.ones(2), delta=0.0), ValueError, "delta must be positive"),
        (lambda: losses.cross_entropy(torch.ones(2, 3), torch.ones(2, 3, dtype=torch.int64)), ValueError, "argmax"),
        (lambda: losses.cross_entropy(torch.ones(2, 3), torch.tensor([0.0, 1.0])), ValueError, ".long()"),
        (lambda: losses.cross_entropy(torch.ones(3), torch.tensor([0])), ValueError, "(batch, classes)"),
        (lambda: losses.cross_entropy(torch.ones(2, 3), torch.tensor([0, 1]), label_smoothing=2.0), ValueError,
         "label_smoothing"),
        (lambda: losses.cross_entropy(torch.ones(2, 3), torch.tensor([0, 1], dtype=torch.int32)), TypeError,
         "int64"),
        (lambda: losses.one_hot(torch.tensor([0, 3]), 3), ValueError, "0..2"),
        (lambda: losses.one_hot(torch.tensor([0.0]), 3), TypeError, ".long()"),
    ],
)
def test_bad_input_gets_a_clear_error(call, error, words):
    with pytest.raises(error, match=None) as info:
        call()
    assert words in str(info.value)


def test_explorer_gradients_are_the_known_formulas():
    grid = torch.linspace(-3, 3, 13)
    regression = losses.explorer_curves("regression", grid, target=0.5, delta=1.0)
    error = grid.double() - 0.5
    assert torch.allclose(regression["MSE"][1], 2 * error)
    assert torch.allclose(regression["MAE"][1], error.sign())
    assert torch.allclose(regression["Huber (δ=1)"][1], error.clamp(-1, 1))
    binary = losses.explorer_curves("binary", grid, target=1.0)
    assert torch.allclose(binary["BCE with logits"][1], torch.sigmoid(grid.double()) - 1)
    sq = binary["squared error of σ(z)"][1]
    assert sq[0].abs() < binary["BCE with logits"][1][0].abs()  # the weak gradient of MSE on a sigmoid


@pytest.mark.parametrize(
    ("kind", "target", "words"), [("ranking", 0.5, "regression, binary"), ("binary", 1.5, "[0, 1]")]
)
def test_explorer_bad_settings(kind, target, words):
    with pytest.raises(ValueError) as info:
        losses.explorer_curves(kind, torch.zeros(3), target)
    assert words in str(info.value)
    with pytest.raises(ValueError):
        losses.loss_explorer_figure(span=0)


def test_explorer_summary_and_figure():
    text = losses.explorer_summary("regression", 2.0, 1.0, 1.0)
    assert text.startswith("ŷ = 2.00, y = 1.00") and "MSE: 1.0000 (grad +2.0000)" in text
    assert "σ(z) = 0.1192" in losses.explorer_summary("binary", -2.0, 1.0)
    fig = losses.loss_explorer_figure("binary", value=-2.0, target=1.0)
    assert len(fig.axes) == 2 and fig.axes[0].get_title() == "z = -2.00, target y = 1.00"
    plt.close(fig)


def test_loss_explorer_widget_redraws_when_a_slider_moves(capsys):
    explorer = losses.LossExplorer(value=2.0, target=1.0)
    assert explorer.show() is None
    capsys.readouterr()  # outside a kernel, display() prints: ignore it
    assert explorer.redraws == 0
    explorer.value.value = 0.5
    assert explorer.redraws == 1
    assert explorer.status.value.startswith("ŷ = 0.50")
    assert explorer.live.fig.axes[0].get_title() == "ŷ = 0.50, target y = 1.00"
    explorer.kind.value = "binary"
    assert explorer.redraws == 2
    assert "BCE with logits" in explorer.status.value
    assert explorer.live.fig.axes[0].get_xlabel() == "logit z"
    with pytest.raises(ValueError):
        losses.LossExplorer(kind="ranking")
    plt.close("all")
