"""results: predictions in eval mode, metrics against scikit-learn, the scatter, the table, the browser."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course_utils import training
from course_utils.topics.training_loops import results


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


class Recorder(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.dropout = nn.Dropout(0.5)
        self.modes = []

    def forward(self, x):
        self.modes.append((self.training, torch.is_grad_enabled()))
        return self.linear(self.dropout(x))


def loader(n=10, batch_size=4):
    g = torch.Generator().manual_seed(0)
    return DataLoader(TensorDataset(torch.randn(n, 2, generator=g), torch.randn(n, 1, generator=g)), batch_size=batch_size)


def test_predict_uses_eval_mode_no_grad_and_restores_the_mode():
    model = Recorder()
    model.train()
    outputs, targets = training.predict(model, loader())
    assert outputs.shape == (10, 1) and targets.shape == (10, 1)
    assert model.modes == [(False, False)] * 3
    assert model.training  # put back
    model.eval()
    training.predict(model, loader())
    assert not model.training
    with pytest.raises(ValueError, match="empty loader"):
        training.predict(model, DataLoader(TensorDataset(torch.zeros(0, 2), torch.zeros(0, 1))))


def test_regression_metrics_match_sklearn():
    rng = np.random.default_rng(0)
    t = rng.normal(size=50)
    p = t + rng.normal(scale=0.5, size=50)
    m = results.regression_metrics(torch.tensor(t), p)
    assert m["mse"] == pytest.approx(mean_squared_error(t, p))
    assert m["mae"] == pytest.approx(mean_absolute_error(t, p))
    assert m["r2"] == pytest.approx(r2_score(t, p))


def test_r2_can_be_negative_and_handles_columns():
    t = torch.tensor([[1.0], [2.0], [3.0]])
    assert results.regression_metrics(t, torch.tensor([3.0, 2.0, 1.0]))["r2"] == pytest.approx(-3.0)
    assert results.regression_metrics(t, t)["r2"] == 1.0


@pytest.mark.parametrize(
    "true, pred, message",
    [([1.0, 2.0], [1.0], "y_true has 2 values but y_pred has 1"), ([1.0], [1.0], "at least two"),
     ([2.0, 2.0], [1.0, 3.0], "all targets are equal")],
)
def test_metric_errors(true, pred, message):
    with pytest.raises(ValueError, match=message):
        results.regression_metrics(true, pred)


def test_predicted_vs_true_draws_points_and_diagonal():
    fig = results.predicted_vs_true([1.0, 2.0, 3.0, 4.0], [1.1, 1.9, 3.2, 3.9], title="test", unit="kUSD")
    ax = fig.axes[0]
    assert ax.get_title().startswith("test: R² = 0.98")
    assert ax.get_xlabel() == "true (kUSD)" and ax.get_ylabel() == "predicted (kUSD)"
    assert len(ax.collections) == 1 and len(ax.lines) == 1


def test_show_results_maps_back_to_original_units():
    model = nn.Linear(2, 1)
    fig = results.show_results(model, loader(), to_original=lambda z: z * 1000 + 5000, title="demo")
    x, y = fig.axes[0].collections[0].get_offsets().T
    assert x.min() > 2000  # targets were mapped back


def test_prediction_table_regression_sorts_by_error():
    frame = pd.DataFrame({"name": ["a", "b", "c"]}, index=[10, 11, 12])
    table = results.prediction_table(frame, [1.0, 2.0, 3.0], [1.0, 5.0, 2.5])
    assert table["name"].tolist() == ["b", "c", "a"]
    assert table.index.tolist() == [11, 12, 10]
    assert table["abs_error"].tolist() == [3.0, 0.5, 0.0]


def test_prediction_table_classification_puts_mistakes_first():
    frame = pd.DataFrame({"name": ["cat", "cod", "frog"], "legs": [4, 0, 4]})
    table = results.prediction_table(frame, torch.tensor([0, 1, 2]), torch.tensor([0, 1, 0]),
                                     class_names=["mammal", "fish", "amphibian"], columns=["name"])
    assert list(table.columns) == ["name", "true", "predicted", "correct"]
    assert table.iloc[0].tolist() == ["frog", "amphibian", "mammal", False]
    with pytest.raises(ValueError, match="must match"):
        results.prediction_table(frame, [0, 1], [0, 1])


def test_prediction_browser_steps_through_rows():
    table = pd.DataFrame({"name": ["frog", "cat"], "score": [0.25, 1.5]})
    browser = results.PredictionBrowser(table)
    assert browser.text.splitlines()[:2] == ["row 1 of 2 (index 0)", "  name: frog"]
    browser.slider.value = 1
    assert browser.redraws == 1 and "  name: cat" in browser.text and "  score: 1.5" in browser.text
    with pytest.raises(ValueError, match="empty table"):
        results.PredictionBrowser(table.iloc[:0])


def test_prediction_browser_shows_only_when_asked(monkeypatch):
    shown = []

    class Handle:
        def update(self, obj, **kwargs):
            shown.append(obj)

    def fake_display(obj, raw=False, display_id=False, **kwargs):
        shown.append(obj)
        return Handle() if display_id else None

    import IPython.display

    monkeypatch.setattr(IPython.display, "display", fake_display)
    monkeypatch.setattr("course_utils.widgets.display", fake_display)
    browser = results.PredictionBrowser(pd.DataFrame({"name": ["frog", "cat"]}))
    assert shown == []
    assert browser.show() is None
    assert "[interactive controls:" in shown[0]["text/plain"] and shown[1]["text/plain"].startswith("row 1 of 2")
    browser.slider.value = 1
    assert shown[-1]["text/plain"].startswith("row 2 of 2")
