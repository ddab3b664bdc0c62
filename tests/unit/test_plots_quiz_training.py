import pytest
import torch
from matplotlib.figure import Figure
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course_utils import plots, quiz, training


def test_image_grid_accepts_the_usual_layouts():
    for images in (torch.rand(5, 64), torch.rand(5, 8, 8), torch.rand(5, 1, 8, 8), torch.rand(5, 3, 8, 8)):
        fig = plots.image_grid(images, labels=list(range(5)), ncols=3)
        assert isinstance(fig, Figure) and len(fig.axes) == 6


@pytest.mark.parametrize(
    ("images", "labels", "message"),
    [(torch.rand(5, 10), None, "flattened square images"), (torch.rand(2, 2, 2, 2, 2), None, "expects"),
     (torch.rand(3, 8, 8), [1], "3 images but 1 labels")],
)
def test_image_grid_bad_input(images, labels, message):
    with pytest.raises(ValueError, match=message):
        plots.image_grid(images, labels=labels)


def test_loss_curves_and_decision_boundary():
    fig = plots.loss_curves({"train": [3, 2, 1], "validation": [3, 2.5, 2]})
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["train", "validation"]
    with pytest.raises(ValueError, match="empty history"):
        plots.loss_curves({})
    X = torch.randn(20, 2)
    fig = plots.decision_boundary(lambda p: (p[:, 0] > 0).long(), X, (X[:, 0] > 0).long())
    assert isinstance(fig, Figure)
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        plots.decision_boundary(lambda p: p, torch.randn(5, 3), torch.zeros(5))


QUESTION = quiz.Question("2 + 2?", ("3", "4"), 1, "Two pairs make four.")


def test_quiz_grading_and_text():
    assert quiz.grade(QUESTION, 1) == (True, "Correct. Two pairs make four.")
    assert quiz.grade(QUESTION, 0)[0] is False
    assert quiz.grade(QUESTION, None) == (False, "Pick an option first.")
    with pytest.raises(ValueError, match="choice must be between 0 and 1"):
        quiz.grade(QUESTION, 5)
    text = quiz.as_text([QUESTION])
    assert "1. 2 + 2?" in text and "b) 4" in text and "four" not in text
    with pytest.raises(ValueError, match="out of range"):
        quiz.Question("?", ("a", "b"), 2, "")


def test_quiz_widget_feedback():
    box = quiz.build_quiz([QUESTION])
    radio, (button, feedback) = box.children[0].children[1], box.children[0].children[2].children
    button.click()
    assert "Pick an option first" in feedback.value
    radio.value = "4"
    button.click()
    assert "Correct" in feedback.value


def _toy_loaders():
    torch.manual_seed(0)
    X = torch.randn(64, 2)
    y = (X[:, 0] + X[:, 1] > 0).long()
    ds = TensorDataset(X, y)
    return DataLoader(ds, batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(0)), DataLoader(ds)


def test_fit_learns_a_linear_rule():
    train, val = _toy_loaders()
    model = nn.Linear(2, 2)
    history = training.fit(model, train, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.5), 20,
                           val_loader=val, progress=False)
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.val_metric[-1] > 0.9
    assert model.training


def test_fit_reports_divergence_with_the_step():
    X = torch.randn(64, 2) * 10
    loader = DataLoader(TensorDataset(X, X.sum(1, keepdim=True)), batch_size=16)
    model = nn.Linear(2, 1)
    with pytest.raises(training.TrainingDiverged, match=r"diverged at step \d+.*last finite loss .*it was 10"):
        training.fit(model, loader, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=10.0), 50,
                     metric=None, progress=False)


def test_fit_bad_arguments():
    train, _ = _toy_loaders()
    model = nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        training.fit(model, train, nn.CrossEntropyLoss(), opt, 0)
    with pytest.raises(ValueError, match="needs a val_loader"):
        training.fit(model, train, nn.CrossEntropyLoss(), opt, 1, patience=2)
    with pytest.raises(ValueError, match="accuracy needs logits"):
        training.accuracy(torch.zeros(3), torch.zeros(3))


def test_early_stopping_restores_the_best_weights():
    train, val = _toy_loaders()
    model = nn.Linear(2, 2)
    history = training.fit(model, train, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.5), 50,
                           val_loader=val, patience=2, progress=False)
    best = min(history.val_loss)
    assert training.evaluate(model, val, nn.CrossEntropyLoss())[0] == pytest.approx(best, rel=1e-6)


def test_explorer_base_redraws_from_its_controls():
    import ipywidgets as w
    import matplotlib.pyplot as plt

    from course_utils.widgets import Explorer

    class Scale(Explorer):
        description = "a slope slider"

        def __init__(self):
            self.slope = w.FloatSlider(value=1.0, min=0.0, max=3.0)
            self.box = w.VBox([self.slope])
            self.status = ""
            super().__init__()
            self.slope.observe(self.redraw, names="value")

        def figure(self):
            fig, ax = plt.subplots()
            ax.set_title(f"slope {self.slope.value:.1f}")
            return fig

        def on_redraw(self):
            self.status = f"slope is {self.slope.value:.1f}"

    explorer = Scale()
    assert explorer.redraws == 0 and explorer.status == "slope is 1.0"
    explorer.slope.value = 2.5
    assert explorer.redraws == 1 and explorer.fig.axes[0].get_title() == "slope 2.5"
    assert explorer.status == "slope is 2.5"


def test_confusion_heatmap_counts_and_normalises():
    import matplotlib.pyplot as plt

    fig = plots.confusion_heatmap([0, 0, 1, 2], [0, 1, 1, 2], labels=["a", "b", "c"])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["1", "1", "0", "0", "1", "0", "0", "0", "1"]
    plt.close(fig)
    fig = plots.confusion_heatmap(torch.tensor([0, 0, 1]), torch.tensor([0, 1, 1]), normalize=True)
    assert [t.get_text() for t in fig.axes[0].texts] == ["0.50", "0.50", "0.00", "1.00"]
    plt.close(fig)
    with pytest.raises(ValueError, match="one prediction per example"):
        plots.confusion_heatmap([0, 1], [0])


def test_explorer_fallback_carries_the_status_once(monkeypatch):
    import ipywidgets as w
    import matplotlib.pyplot as plt

    from course_utils import widgets

    shown = []
    monkeypatch.setattr(widgets, "display", lambda data, **kwargs: shown.append(data))

    class Demo(widgets.Explorer):
        description = "a demo slider"

        def __init__(self):
            self.slider = w.IntSlider(value=2)
            self.status = w.HTML()
            self.box = w.VBox([self.slider, self.status])
            super().__init__()

        def figure(self):
            return plt.figure()

        def on_redraw(self):
            self.status.value = f"<b>value</b> {self.slider.value} &amp; more"

    Demo().show()
    assert shown[0]["text/plain"] == ("[interactive controls: a demo slider. Run the notebook to use them.]\n"
                                      "value 2 & more")
