"""The optimizer playground: the pure figure function and the widget shell driven by setting values."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pytest

from course_utils.topics.training_loops import landscapes
from course_utils.topics.training_loops.playground import (
    OptimizerPlayground,
    Settings,
    cached_map,
    compare_walks,
    effective_step,
    playground_figure,
    run,
    status_bundle,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_run_gives_the_walk_and_its_outcome():
    walk, outcome = run(Settings("bumpy", "sgd", 0.03, 0.0, 10))
    assert walk.surface == "bumpy" and len(walk.positions) == 11
    assert outcome.kind == "converged"


@pytest.mark.parametrize("surface", list(landscapes.SURFACES))
def test_figure_has_path_and_loss_panels(surface):
    walk, outcome = run(Settings(surface, "sgd", 0.001, 0.9, 30))
    fig = playground_figure(walk, outcome)
    ax_path, ax_loss = fig.axes[:2]
    assert ax_path.get_title() == landscapes.get_surface(surface).title
    assert ax_loss.get_xlabel() == "step"
    assert fig._suptitle.get_text() == f"sgd, lr=0.001, momentum=0.90: {outcome.headline}"


def test_diverged_walk_is_marked_on_the_loss_panel():
    walk, outcome = run(Settings("rosenbrock", "sgd", 0.1, 0.0, 20))
    fig = playground_figure(walk, outcome)
    texts = [t.get_text() for t in fig.axes[1].texts]
    assert any("diverged" in t and "at step 1" in t for t in texts)
    assert "diverged at step 1" in fig._suptitle.get_text()


def test_adam_titles_say_beta1():
    walk, outcome = run(Settings("ravine", "adam", 0.1, 0.9, 10))
    assert "β1=0.90" in playground_figure(walk, outcome)._suptitle.get_text()


def test_compare_walks_one_panel_per_walk():
    walks = [landscapes.trajectory("bumpy", "sgd", lr=lr, steps=10) for lr in (0.001, 0.03, 0.2)]
    fig = compare_walks(walks)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["lr=0.001, momentum=0\nstill far", "lr=0.03, momentum=0\nconverged in 2 steps",
                      "lr=0.2, momentum=0\ndiverged at step 2"]
    with pytest.raises(ValueError, match="at least one"):
        compare_walks([])


def test_status_bundle_has_text_and_html():
    walk, outcome = run(Settings("bumpy", "sgd", 0.2, 0.0, 10))
    bundle = status_bundle(outcome, Settings("bumpy", "sgd", 0.2, 0.0, 10))
    assert bundle["text/plain"].startswith("Outcome (sgd, lr=0.2, momentum=0.00, 10 steps): diverged at step 2")
    assert "#c62828" in bundle["text/html"] and "course-playground-status" in bundle["text/html"]


def test_widget_redraws_when_a_slider_moves():
    pg = OptimizerPlayground("ravine", "sgd", 0.05, 0.0, 40)
    assert pg.redraws == 0 and pg.outcome.kind == "still far"
    first_status = pg.status
    pg.lr_slider.value = 0.6
    assert pg.redraws == 1
    assert pg.settings.lr == pytest.approx(0.6)
    assert pg.outcome.kind == "diverged" and "diverged at step" in pg.status
    assert pg.status != first_status
    assert "lr=0.6" in pg.fig._suptitle.get_text()
    pg.momentum_slider.value = 0.5
    pg.lr_slider.value = 0.3
    assert pg.redraws == 3
    assert pg.walk.momentum == 0.5 and pg.outcome.kind == "converged"


def test_widget_switches_surface_optimizer_and_steps():
    pg = OptimizerPlayground()
    pg.surface_menu.value = "bumpy"
    pg.steps_slider.value = 10
    pg.lr_slider.value = 0.03
    assert pg.walk.surface == "bumpy" and pg.walk.steps == 10
    assert pg.status.endswith("converged in 2 steps to the minimum at x=1.27 (a local one, not the lowest).")
    pg.optimizer_menu.value = "adam"
    assert pg.walk.optimizer == "adam" and pg.redraws == 4
    assert pg.fig.axes[0].get_title() == landscapes.get_surface("bumpy").title


def test_sliders_use_a_log_scale_and_update_only_on_release():
    pg = OptimizerPlayground()
    assert type(pg.lr_slider).__name__ == "FloatLogSlider" and pg.lr_slider.base == 10
    assert (pg.lr_slider.min, pg.lr_slider.max) == (-4.0, 0.0)
    assert all(not c.continuous_update for c in (pg.lr_slider, pg.momentum_slider, pg.steps_slider))
    assert pg.momentum_slider.max == 0.99


def test_playground_rejects_bad_settings():
    with pytest.raises(landscapes.LandscapeError, match="unknown surface"):
        OptimizerPlayground(surface="moon")
    with pytest.raises(landscapes.LandscapeError, match="lr must be a positive number"):
        OptimizerPlayground(lr=-1)
    with pytest.raises(landscapes.LandscapeError, match="slider runs from 1e-4 to 1"):
        OptimizerPlayground(lr=5.0)
    with pytest.raises(landscapes.LandscapeError, match="momentum up to 0.99"):
        OptimizerPlayground(momentum=0.995)


def test_shown_playground_updates_its_displays(monkeypatch):
    shown = []

    class Handle:
        def __init__(self, obj):
            self.objs = [obj]

        def update(self, obj, **kwargs):
            self.objs.append(obj)

    def fake_display(obj, raw=False, display_id=False, **kwargs):
        shown.append(obj)
        return Handle(obj) if display_id else None

    import IPython.display

    monkeypatch.setattr(IPython.display, "display", fake_display)
    monkeypatch.setattr("course_utils.widgets.display", fake_display)
    pg = OptimizerPlayground(surface="bumpy", lr=0.01, steps=10)
    assert shown == []  # the constructor displays nothing
    assert pg.show() is None
    assert "[interactive controls:" in shown[0]["text/plain"]  # controls with their text fallback
    assert shown[1] is pg.fig  # the figure as an ordinary output
    assert shown[2]["text/plain"].startswith("Outcome (sgd, lr=0.01")
    pg.lr_slider.value = 0.2
    assert pg.live.fig is pg.fig and pg.live.handle.objs[-1].data[:8] == b"\x89PNG\r\n\x1a\n"
    assert pg._status_handle.objs[-1]["text/plain"].startswith("Outcome (sgd, lr=0.2, momentum=0.00, 10 steps): diverged")


def test_playground_is_an_explorer_with_a_ghost_and_a_marked_map():
    from course_utils.widgets import Explorer

    pg = OptimizerPlayground("ravine", "sgd", 0.05, 0.0, 40)
    assert isinstance(pg, Explorer) and pg.previous is None
    assert len(pg.fig.axes) == 4  # path, loss, stability map and its colour bar
    assert pg.fig.axes[2].get_title() == "stability map: sgd, 40 steps"
    first = pg.walk
    pg.lr_slider.value = 0.3
    assert pg.previous is first  # the last walk is the ghost
    ghost_lines = [line for line in pg.fig.axes[0].lines if line.get_label() == "previous setting"]
    assert len(ghost_lines) == 1 and list(ghost_lines[0].get_xdata()) == [p[0] for p in first.positions]
    markers = pg.fig.axes[2].lines
    assert len(markers) == 2  # the previous setting (hollow) and the current one
    assert markers[1].get_xdata()[0] == pytest.approx(math.log10(0.3))
    pg.surface_menu.value = "bumpy"
    assert pg.previous is None  # a path on another surface is not shown


def test_stability_map_is_computed_once_per_surface_and_optimizer():
    pg = OptimizerPlayground("ravine", "sgd", 0.05, 0.0, 40)
    smap = pg.smap
    pg.lr_slider.value = 0.2
    pg.momentum_slider.value = 0.5
    pg.steps_slider.value = 100
    assert pg.smap is smap and cached_map("ravine", "sgd") is smap
    pg.optimizer_menu.value = "adam"
    assert pg.smap is not smap and pg.smap.optimizer == "adam"


def test_effective_step_is_shown_beside_the_sliders():
    pg = OptimizerPlayground("ravine", "sgd", 0.01, 0.9, 40)
    assert "= <b>0.1</b>" in pg.effective_label.value
    pg.momentum_slider.value = 0.0
    assert "no momentum" in pg.effective_label.value
    assert "does not enlarge the step" in effective_step("adam", 0.1, 0.9)
    assert effective_step("sgd", 0.02, 0.5).endswith("= <b>0.04</b> on a steady slope")


def test_oscillation_advice_names_momentum_only_when_there_is_some():
    _, plain = run(Settings("bumpy", "sgd", 0.1, 0.0, 10))
    assert plain.kind == "oscillating" and "momentum" not in plain.text
    _, heavy = run(Settings("bumpy", "sgd", 0.01, 0.9, 20))
    assert heavy.kind == "oscillating" and "lower the learning rate or the momentum" in heavy.text
    _, adam = run(Settings("bumpy", "adam", 0.5, 0.9, 30))
    assert "momentum" not in adam.text
