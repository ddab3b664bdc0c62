"""Tests of course_utils.topics.regularization (notebook 15)."""

import math

import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn

from course_utils.topics import regularization as reg


def test_make_wave_and_bad_input():
    x, y = reg.make_wave(20, generator=torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (20,) and x.dtype == torch.float64
    assert x.min() >= 0 and x.max() <= 1
    with pytest.raises(ValueError, match="positive int"):
        reg.make_wave(0)
    with pytest.raises(ValueError, match="standard deviation"):
        reg.make_wave(5, noise=-1)


def test_polynomial_features():
    phi = reg.polynomial_features(torch.tensor([0.0, 0.5, 1.0]), 2)
    assert torch.allclose(phi, torch.tensor([[1.0, -1.0, 1.0], [1.0, 0.0, 0.0], [1.0, 1.0, 1.0]], dtype=torch.float64))
    with pytest.raises(ValueError, match="non-negative int"):
        reg.polynomial_features(torch.zeros(3), -1)


def test_least_squares_matches_normal_equations_and_min_norm():
    g = torch.Generator().manual_seed(0)
    phi, y = torch.randn(30, 4, generator=g, dtype=torch.float64), torch.randn(30, generator=g, dtype=torch.float64)
    w = reg.least_squares(phi, y)
    assert torch.allclose(w, torch.linalg.solve(phi.T @ phi, phi.T @ y), atol=1e-10)
    wide = torch.randn(5, 20, generator=g, dtype=torch.float64)
    target = torch.randn(5, generator=g, dtype=torch.float64)
    w_min = reg.least_squares(wide, target)
    assert torch.allclose(wide @ w_min, target, atol=1e-10)  # interpolates
    w_ridge = reg.least_squares(wide, target, ridge=1e-9)
    assert torch.allclose(w_min, w_ridge, atol=1e-5)  # ridge -> 0 tends to the minimum-norm solution
    with pytest.raises(ValueError, match="ridge"):
        reg.least_squares(phi, y, ridge=-1.0)


def test_bias_variance_curve_decomposes_and_trends():
    out = reg.bias_variance_curve([0, 1, 5, 12], n=20, resamples=40, grid=50, generator=torch.Generator().manual_seed(0))
    assert set(out) == {"bias²", "variance", "error"} and all(len(v) == 4 for v in out.values())
    for b, v, e in zip(out["bias²"], out["variance"], out["error"], strict=True):
        assert math.isclose(b + v, e, rel_tol=1e-9, abs_tol=1e-12)
    assert out["bias²"][1] > 100 * out["bias²"][2]  # degree 1 underfits, degree 5 does not
    assert out["variance"][3] > out["variance"][2] > out["variance"][0]  # variance grows with the degree
    with pytest.raises(ValueError, match="resamples"):
        reg.bias_variance_curve([1], resamples=1)
    with pytest.raises(ValueError, match="n a positive int"):
        reg.bias_variance_curve([1], n=0)
    with pytest.raises(ValueError, match="standard deviation"):
        reg.bias_variance_curve([1], noise=-0.1)


def test_bootstrap_rows():
    rows = reg.bootstrap_rows(1000, generator=torch.Generator().manual_seed(0))
    assert rows.shape == (1000,) and rows.min() >= 0 and rows.max() < 1000
    assert 0.55 < len(rows.unique()) / 1000 < 0.7  # about 1 − 1/e of the rows are distinct
    with pytest.raises(ValueError, match="positive int"):
        reg.bootstrap_rows(0)


def test_capacity_curve_training_error_never_rises():
    g = torch.Generator().manual_seed(1)
    x, y = reg.make_wave(12, generator=g)
    xt, yt = reg.make_wave(50, generator=g)
    curve = reg.capacity_curve(x, y, xt, yt, list(range(8)))
    assert all(b <= a + 1e-12 for a, b in zip(curve["train"], curve["train"][1:], strict=False))
    fig = reg.capacity_figure(x, y, [1, 3], list(range(8)), curve)
    assert len(fig.axes) == 2
    plt.close("all")


def test_double_descent_peaks_near_n():
    g = torch.Generator().manual_seed(0)
    X = torch.rand(40, 16, generator=g)
    Y = torch.randn(40, 3, generator=g, dtype=torch.float64)
    Xt = torch.rand(200, 16, generator=g)
    Yt = torch.randn(200, 3, generator=g, dtype=torch.float64)
    widths = [5, 40, 400]
    curve = reg.double_descent_curve(X, Y, Xt, Yt, widths, draws=3, generator=g)
    assert curve["test"][1] > curve["test"][0] and curve["test"][1] > curve["test"][2]
    assert curve["train"][2] < 1e-10
    fig = reg.double_descent_figure(widths, {"min norm": curve}, n_train=40)
    assert fig.axes[0].get_xscale() == "log"
    plt.close("all")
    with pytest.raises(ValueError, match="draws"):
        reg.double_descent_curve(X, Y, Xt, Yt, widths, draws=0)


def test_small_subset_is_stratified():
    y = torch.arange(10).repeat(5)
    rows = reg.small_subset(y, 3, generator=torch.Generator().manual_seed(0))
    assert len(rows) == 30 and torch.equal(torch.bincount(y[rows]), torch.full((10,), 3))
    with pytest.raises(ValueError, match="at most that many"):
        reg.small_subset(y, 6)
    with pytest.raises(ValueError, match="positive int"):
        reg.small_subset(y, 0)


def test_shift_images():
    X = torch.arange(64.0).view(1, 64)
    right = reg.shift_images(X, 1, 0).view(8, 8)
    assert torch.equal(right[:, 0], torch.zeros(8)) and torch.equal(right[:, 1:], X.view(8, 8)[:, :-1])
    up = reg.shift_images(X, 0, -1).view(8, 8)
    assert torch.equal(up[-1], torch.zeros(8)) and torch.equal(up[:-1], X.view(8, 8)[1:])
    assert torch.equal(reg.shift_images(X, 0, 0), X)
    with pytest.raises(ValueError, match=r"\(N, 64\)"):
        reg.shift_images(torch.zeros(2, 8, 8), 1, 0)
    with pytest.raises(ValueError, match="smaller than the image"):
        reg.shift_images(X, 8, 0)


def test_random_shifts_keep_pixel_mass_for_centred_digits_and_prob():
    X = torch.zeros(50, 64)
    X.view(50, 8, 8)[:, 3:5, 3:5] = 1.0
    shifted = reg.random_shifts(X, 1, prob=1.0, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(shifted.sum(1), X.sum(1))
    assert torch.equal(reg.random_shifts(X, 1, prob=0.0), X)
    with pytest.raises(ValueError, match="probability"):
        reg.random_shifts(X, 1, prob=1.5)


def test_recipe_validation():
    with pytest.raises(ValueError, match="dropout"):
        reg.Recipe(dropout=1.0)
    with pytest.raises(ValueError, match="weight_decay"):
        reg.Recipe(weight_decay=-0.1)
    with pytest.raises(ValueError, match="positive"):
        reg.Recipe(epochs=0)


def test_make_mlp_has_dropout_only_when_asked():
    assert not any(isinstance(m, nn.Dropout) for m in reg.make_mlp(8))
    assert sum(isinstance(m, nn.Dropout) for m in reg.make_mlp(8, dropout=0.5)) == 2


def _toy_data():
    g = torch.Generator().manual_seed(0)
    X = torch.rand(60, 64, generator=g)
    y = torch.randint(0, 10, (60,), generator=g)
    return X, y


def test_train_mlp_is_reproducible_and_learns():
    X, y = _toy_data()
    recipe = reg.Recipe(hidden=32, epochs=30, batch_size=20, lr=1e-2)
    a = reg.train_mlp(recipe, X, y, X, y, seed=3)
    b = reg.train_mlp(recipe, X, y, X, y, seed=3)
    assert a.eval_accuracy == b.eval_accuracy and a.train_accuracy[-1] > 0.9
    assert not a.model.training


def test_train_mlp_early_stopping_restores_best():
    X, y = _toy_data()
    recipe = reg.Recipe(hidden=32, epochs=80, batch_size=20, lr=1e-2, patience=3)
    run = reg.train_mlp(recipe, X[:40], y[:40], X[40:], y[40:], seed=0, X_val=X[40:], y_val=y[40:])
    assert run.best_epoch is not None and len(run.val_loss) - run.best_epoch == 3
    with torch.no_grad():
        restored = nn.functional.cross_entropy(run.model(X[40:]), y[40:]).item()
    assert math.isclose(restored, min(run.val_loss), rel_tol=1e-6)
    with pytest.raises(ValueError, match="validation data"):
        reg.train_mlp(recipe, X, y, X, y)


def test_train_mlp_with_every_knob_and_compare_recipes():
    X, y = _toy_data()
    recipe = reg.Recipe(hidden=16, epochs=2, dropout=0.3, weight_decay=0.1, augment=1, label_smoothing=0.1)
    out = reg.compare_recipes({"plain": reg.Recipe(hidden=16, epochs=2), "reg": recipe}, X, y, X, y, [0, 1])
    assert set(out) == {"plain", "reg"} and all(len(v) == 2 for v in out.values())
    fig = reg.curves_figure({"r": reg.train_mlp(recipe, X, y, X, y)}, title="t")
    assert fig.axes[0].get_title() == "t"
    plt.close("all")


def test_explorer_redraws_and_caches_the_plain_run():
    X = torch.rand(100, 64, generator=torch.Generator().manual_seed(0))
    y = torch.arange(10).repeat(10)
    explorer = reg.RegularizationExplorer(X, y, X[:30], y[:30], per_class=3, epochs=2, hidden=16)
    assert explorer.redraws == 0 and "plain" in explorer.status.value
    explorer.show()
    plain_before = explorer.runs["plain"]
    explorer.dropout.value = 0.5
    assert explorer.redraws == 1 and explorer.runs["plain"] is plain_before
    assert "p=0.5" in explorer.status.value
    explorer.per_class.value = 4
    assert explorer.redraws == 2 and explorer.fig.axes[0].get_title() == "40 training digits"
    assert explorer.settings()[2] == 4
    plt.close("all")
