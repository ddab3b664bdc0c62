"""Evaluation helpers (notebook 16): metrics, curves and calibration equal scikit-learn's; folds,
McNemar and the bootstrap behave; bad input gets a sentence; the threshold widget redraws."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import binomtest
from sklearn import metrics
from sklearn.calibration import calibration_curve
from sklearn.model_selection import KFold
from torch import nn

from course_utils import widgets
from course_utils.topics import evaluation as ev


def scored(seed: int, n: int = 300, ties: bool = True):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = rng.random(n) * (1 + y)
    return y, np.round(s, 2) if ties else s


@pytest.mark.parametrize("seed", range(4))
def test_curves_and_areas_equal_sklearn(seed):
    y, s = scored(seed, ties=seed % 2 == 0)
    fpr, tpr, thr = ev.roc_curve(y, s)
    fpr_sk, tpr_sk, thr_sk = metrics.roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(fpr, fpr_sk)
    np.testing.assert_allclose(tpr, tpr_sk)
    np.testing.assert_allclose(thr, thr_sk)
    prec, rec, pthr = ev.precision_recall_curve(y, s)
    prec_sk, rec_sk, pthr_sk = metrics.precision_recall_curve(y, s)
    np.testing.assert_allclose(prec, prec_sk)
    np.testing.assert_allclose(rec, rec_sk)
    np.testing.assert_allclose(pthr, pthr_sk)
    assert ev.auc(fpr, tpr) == pytest.approx(metrics.roc_auc_score(y, s), abs=1e-12)
    assert ev.average_precision(y, s) == pytest.approx(metrics.average_precision_score(y, s), abs=1e-12)


def test_counts_equal_sklearn():
    rng = np.random.default_rng(5)
    t, p = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    assert np.array_equal(ev.confusion_matrix(t, p).numpy(), metrics.confusion_matrix(t, p))
    tb, pb = t % 2, p % 2
    expected = (metrics.precision_score(tb, pb), metrics.recall_score(tb, pb), metrics.f1_score(tb, pb))
    assert ev.precision_recall_f1(tb, pb) == pytest.approx(expected, abs=1e-12)
    assert ev.precision_recall_f1([1, 0, 1], [0, 0, 0]) == (0.0, 0.0, 0.0)      # nothing flagged: 0, not NaN


def test_metrics_at_threshold():
    m = ev.metrics_at([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9], 0.5)
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (1, 1, 1, 1)
    assert m["accuracy"] == 0.5 and m["precision"] == 0.5 and m["recall"] == 0.5
    assert ev.metrics_at([0, 1], [0.2, 0.7], 0.0)["recall"] == 1.0


def test_perfect_and_reversed_rankings():
    y = [0, 0, 1, 1]
    assert ev.auc(*ev.roc_curve(y, [0.1, 0.2, 0.8, 0.9])[:2]) == 1.0
    assert ev.auc(*ev.roc_curve(y, [0.9, 0.8, 0.2, 0.1])[:2]) == 0.0
    assert ev.average_precision(y, [0.1, 0.2, 0.8, 0.9]) == 1.0


def test_reliability_bins_and_ece():
    rng = np.random.default_rng(1)
    conf, ok = rng.random(500), rng.integers(0, 2, 500)
    mean_conf, acc, count = ev.reliability_bins(conf, ok, 10)
    frac, mean_pred = calibration_curve(ok, conf, n_bins=10)
    used = count > 0
    np.testing.assert_allclose(acc[used], frac)
    np.testing.assert_allclose(mean_conf[used], mean_pred)
    assert int(count.sum()) == 500
    # a calibrated toy: in each bin the accuracy equals the confidence exactly
    assert ev.expected_calibration_error([0.75] * 4, [1, 1, 1, 0], 4) == pytest.approx(0.0)
    assert ev.expected_calibration_error([1.0, 1.0], [0, 0], 10) == pytest.approx(1.0)


def test_temperature_fits_the_grid_minimum_and_keeps_predictions():
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 5, (400,), generator=g)
    logits = torch.randn(400, 5, generator=g)
    logits[torch.arange(400), labels] += 1.5
    hot = logits * 4                                        # over-confident: the best T is about 4
    temperature = ev.fit_temperature(hot, labels)
    grid = torch.linspace(0.5, 10, 951)
    best = grid[torch.stack([nn.functional.cross_entropy(hot / t, labels) for t in grid]).argmin()].item()
    assert abs(temperature - best) <= 0.02
    assert 3.0 < temperature < 5.0
    assert torch.equal((hot / temperature).argmax(1), hot.argmax(1))


def test_kfold_equals_sklearn_and_stratified_keeps_proportions():
    for n, k in [(23, 5), (10, 2), (12, 3)]:
        for (a, b), (c, d) in zip(ev.kfold_indices(n, k), KFold(k).split(np.zeros(n)), strict=True):
            assert np.array_equal(a, c) and np.array_equal(b, d)
    shuffled = ev.kfold_indices(50, 5, seed=3)
    assert np.array_equal(np.sort(np.concatenate([t for _, t in shuffled])), np.arange(50))
    labels = torch.tensor([1] * 20 + [0] * 180)
    folds = ev.stratified_kfold_indices(labels, 5, seed=0)
    assert [int(labels[t].sum()) for _, t in folds] == [4] * 5
    assert np.array_equal(np.sort(np.concatenate([t for _, t in folds])), np.arange(200))
    for train, test in folds:
        assert not set(train) & set(test) and len(train) + len(test) == 200


def test_mcnemar_equals_scipy_and_bootstrap_is_paired():
    rng = np.random.default_rng(2)
    a, b = rng.random(300) < 0.9, rng.random(300) < 0.8
    nb, nc, p = ev.mcnemar_exact(a, b)
    assert nb == int((a & ~b).sum()) and nc == int((~a & b).sum())
    assert p == pytest.approx(binomtest(nb, nb + nc, 0.5).pvalue, abs=1e-12)
    assert ev.mcnemar_exact([1, 0], [1, 0]) == (0, 0, 1.0)
    assert ev.mcnemar_exact([1] * 5 + [0] * 5, [0] * 5 + [1] * 5)[2] == 1.0
    same = ev.paired_bootstrap(a, a, n_resamples=50)
    assert torch.equal(same, torch.zeros(50, dtype=torch.float64))           # paired: identical models never differ
    diffs = ev.paired_bootstrap(a, b, n_resamples=500, seed=1)
    assert diffs.mean().item() == pytest.approx(a.mean() - b.mean(), abs=0.01)
    assert torch.equal(diffs, ev.paired_bootstrap(a, b, n_resamples=500, seed=1))


def test_fit_full_batch_learns_and_stops_on_request():
    torch.manual_seed(0)
    X = torch.randn(200, 3)
    y = (X[:, 0] > 0).float()
    model = ev.fit_full_batch(nn.Linear(3, 1), X, y, nn.BCEWithLogitsLoss(), steps=200, lr=0.1)
    assert not model.training
    assert ((ev.outputs(model, X) > 0).float() == y).float().mean() > 0.95
    seen = []
    ev.fit_full_batch(nn.Linear(3, 1), X, y, nn.BCEWithLogitsLoss(), steps=50, lr=0.1,
                      on_step=lambda step, _m: seen.append(step) or step == 7)
    assert seen == list(range(1, 8))
    assert ev.digits_mlp(hidden=8)(torch.zeros(2, 64)).shape == (2, 10)


@pytest.mark.parametrize("call,words", [
    (lambda: ev.roc_curve([0, 1, 2], [0.1, 0.2, 0.3]), "0 (negative) or 1"),
    (lambda: ev.roc_curve([1, 1], [0.1, 0.2]), "only one class"),
    (lambda: ev.roc_curve([0, 1], [0.1]), "same length"),
    (lambda: ev.roc_curve(torch.zeros(2, 2), torch.zeros(2, 2)), "1-D"),
    (lambda: ev.roc_curve([0, 1], [float("nan"), 0.2]), "NaN"),
    (lambda: ev.confusion_matrix([0, 1], [0]), "same length"),
    (lambda: ev.confusion_matrix([0, 3], [0, 1], n_classes=2), "n_classes"),
    (lambda: ev.reliability_bins([0.5, 1.5], [1, 0]), "probabilities"),
    (lambda: ev.reliability_bins([0.5], [1], n_bins=0), "n_bins"),
    (lambda: ev.fit_temperature(torch.zeros(3), torch.zeros(3, dtype=torch.long)), "(N, classes)"),
    (lambda: ev.kfold_indices(5, 6), "between 2"),
    (lambda: ev.stratified_kfold_indices([0, 0, 0, 1], 2), "smallest class"),
    (lambda: ev.mcnemar_exact([1, 0], [1]), "same samples"),
    (lambda: ev.paired_bootstrap([1], [1], n_resamples=0), "n_resamples"),
    (lambda: ev.fit_full_batch(nn.Linear(1, 1), torch.zeros(2, 1), torch.zeros(2), nn.MSELoss(), steps=0, lr=0.1), "steps"),
    (lambda: ev.ThresholdExplorer([0, 1], [0.2, 0.8], threshold=2.0), "between 0 and 1"),
])
def test_bad_input_gets_a_sentence(call, words):
    with pytest.raises(ValueError, match=None) as info:
        call()
    assert words in str(info.value)


def test_threshold_explorer_redraws_and_reports(monkeypatch):
    y, s = scored(0, n=120)
    s = s / s.max()
    explorer = ev.ThresholdExplorer(y, s, threshold=0.5)
    assert explorer.redraws == 0 and explorer.fig is not None
    first = explorer.metrics["recall"]
    assert "threshold 0.50" in explorer.status.value
    explorer.slider.value = 0.05
    assert explorer.redraws == 1
    assert explorer.metrics["recall"] >= first
    assert explorer.metrics == ev.metrics_at(y, s, 0.05)
    assert "threshold 0.05" in explorer.status.value
    shown = []
    monkeypatch.setattr(widgets, "show_controls", lambda box, text, **_: shown.append(text))
    monkeypatch.setattr(widgets, "display", lambda *a, **k: None)
    assert explorer.show() is None
    assert shown == [ev.ThresholdExplorer.description]


def test_figures_draw():
    y, s = scored(1, n=80)
    fig = ev.threshold_figure(y, s / s.max(), 0.3)
    assert len(fig.axes) == 3
    conf = torch.rand(50, generator=torch.Generator().manual_seed(0))
    ok = (torch.rand(50, generator=torch.Generator().manual_seed(1)) < conf).long()
    fig = ev.reliability_figure([("a", conf, ok), ("b", conf.sqrt(), ok)])
    assert len(fig.axes) == 2 and "ECE" in fig.axes[0].get_title()
    assert math.isfinite(ev.expected_calibration_error(conf, ok))


def test_paired_difference_se_matches_the_bootstrap_and_refuses_no_disagreement():
    a = [1] * 60 + [0] * 20 + [1] * 20
    b = [1] * 60 + [1] * 20 + [0] * 20
    diffs = ev.paired_bootstrap(a, b, n_resamples=4000, seed=0)
    assert diffs.std().item() == pytest.approx(ev.paired_difference_se(20, 20, 100), rel=0.1)
    with pytest.raises(ValueError, match="never disagree"):
        ev.paired_difference_se(0, 0, 100)
    with pytest.raises(ValueError, match="counts"):
        ev.paired_difference_se(60, 60, 100)
