"""The optimizer playground: learning rate, momentum, optimizer, steps and surface, with sliders.

The logic is pure and lives in ``course_utils.topics.training_loops.landscapes`` (the walk and its outcome)
and in ``playground_figure`` below (the picture). ``OptimizerPlayground`` is a thin
shell: widgets whose changes call ``redraw``, which recomputes the walk with the real
``torch.optim`` class, replaces the figure in place (``LiveFigure``, an ordinary
output, so a saved notebook shows the default picture) and updates the outcome line.

    >>> from course_utils.topics.training_loops.playground import optimizer_playground
    >>> playground = optimizer_playground(surface="ravine", lr=0.1)   # in a notebook
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from course_utils.topics.training_loops import landscapes
from course_utils.topics.training_loops.landscapes import Outcome, Surface, Trajectory

LR_EXPONENTS = (-4.0, 0.0)  # the learning-rate slider runs from 1e-4 to 1
MAX_SLIDER_STEPS = 300
MAX_MOMENTUM = 0.99


@dataclass(frozen=True)
class Settings:
    """One setting of the playground."""

    surface: str = "ravine"
    optimizer: str = "sgd"
    lr: float = 0.05
    momentum: float = 0.0
    steps: int = 40

    def validate(self) -> None:
        landscapes.get_surface(self.surface)
        landscapes.validate_settings(self.optimizer, self.lr, self.momentum, self.steps)

    def label(self) -> str:
        name = landscapes.momentum_name(self.optimizer)
        return f"{self.optimizer}, lr={self.lr:.4g}, {name}={self.momentum:.2f}, {self.steps} steps"


def run(settings: Settings) -> tuple[Trajectory, Outcome]:
    """The walk for a setting and what happened on it."""
    settings.validate()
    walk = landscapes.trajectory(
        settings.surface, settings.optimizer, lr=settings.lr, momentum=settings.momentum, steps=settings.steps
    )
    return walk, landscapes.describe(walk)


# --------------------------------------------------------------------------- the picture


def _draw_surface_1d(ax, surface: Surface, walk: Trajectory) -> None:
    (low, high), = surface.limits
    xs = torch.linspace(low, high, 400, dtype=torch.float64)
    ax.plot(xs, surface(xs[:, None]), color="0.35", lw=1.5)
    path = np.array([p[0] for p in walk.positions])
    ys = np.array(walk.losses)
    ax.plot(path, ys, "-", color="tab:orange", lw=1, alpha=0.7)
    ax.scatter(path, ys, c=np.arange(len(path)), cmap="autumn", s=22, zorder=3, edgecolors="k", linewidths=0.3)
    ax.plot(path[0], ys[0], "o", ms=8, mfc="none", mec="k", label="start")
    for m in surface.minima:
        ax.axvline(m[0], color="tab:green", lw=0.8, ls=":")
    ax.set_xlim(low, high)
    curve = surface(xs[:, None])
    ax.set_ylim(float(curve.min()) - 1.0, float(curve.max()) * 0.6)
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")


def _draw_surface_2d(ax, surface: Surface, walk: Trajectory) -> None:
    (x0, x1), (y0, y1) = surface.limits
    gx, gy = torch.meshgrid(
        torch.linspace(x0, x1, 160, dtype=torch.float64), torch.linspace(y0, y1, 160, dtype=torch.float64),
        indexing="xy",
    )
    zz = surface(torch.stack([gx, gy], dim=-1))
    height = torch.log1p(zz - surface.best_loss)  # log scale shows both the walls and the valley floor
    ax.contourf(gx, gy, height, levels=20, cmap="Blues_r", alpha=0.85)
    ax.contour(gx, gy, height, levels=20, colors="white", linewidths=0.3, alpha=0.6)
    path = np.array(walk.positions)
    ax.plot(path[:, 0], path[:, 1], "-", color="tab:orange", lw=1.2)
    ax.scatter(path[:, 0], path[:, 1], c=np.arange(len(path)), cmap="autumn", s=12, zorder=3, edgecolors="k",
               linewidths=0.2)
    ax.plot(*path[0], "o", ms=8, mfc="none", mec="k", label="start")
    for m in surface.minima:
        ax.plot(*m, "*", ms=12, color="tab:green", mec="k", mew=0.5)
    for s in surface.saddles:
        ax.plot(*s, "x", ms=8, color="k")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.grid(False)


def playground_figure(walk: Trajectory, outcome: Outcome, figsize: tuple[float, float] = (9.0, 3.4)) -> Figure:
    """Left: the surface with the path (start circled, minima as green stars). Right: loss per step."""
    surface = landscapes.get_surface(walk.surface)
    fig, (ax_path, ax_loss) = plt.subplots(1, 2, figsize=figsize, gridspec_kw={"width_ratios": [1.25, 1]})
    if surface.dim == 1:
        _draw_surface_1d(ax_path, surface, walk)
    else:
        _draw_surface_2d(ax_path, surface, walk)
    ax_path.set_title(surface.title, fontsize=9)
    gap = np.maximum(np.array(walk.losses) - surface.best_loss, 1e-12)
    ax_loss.semilogy(range(len(gap)), gap, "-o", ms=2.5, color="tab:orange")
    if walk.diverged:
        ax_loss.axvline(walk.diverged_at, color="tab:red", ls="--", lw=1)
        ax_loss.text(walk.diverged_at, gap.max(), f" diverged\n at step {walk.diverged_at}", color="tab:red",
                     va="top", fontsize=8)
    ax_loss.set_xlim(0, walk.steps)
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("loss above the best (log)")
    ax_loss.set_title("loss per step", fontsize=9)
    name = landscapes.momentum_name(walk.optimizer)
    fig.suptitle(
        f"{walk.optimizer}, lr={walk.lr:.4g}, {name}={walk.momentum:.2f}: {outcome.headline}", fontsize=10
    )
    fig.tight_layout()
    return fig


def compare_walks(walks: list[Trajectory], *, figsize: tuple[float, float] | None = None) -> Figure:
    """One small panel per walk on its surface, titled with its setting and outcome (for side-by-side runs)."""
    if not walks:
        raise ValueError("compare_walks needs at least one trajectory.")
    width = figsize or (min(9.0, 3.0 * len(walks)), 2.9)
    fig, axes = plt.subplots(1, len(walks), figsize=width, squeeze=False)
    for ax, walk in zip(axes[0], walks, strict=True):
        surface = landscapes.get_surface(walk.surface)
        if surface.dim == 1:
            _draw_surface_1d(ax, surface, walk)
        else:
            _draw_surface_2d(ax, surface, walk)
        name = landscapes.momentum_name(walk.optimizer)
        outcome = landscapes.describe(walk)
        ax.set_title(f"lr={walk.lr:g}, {name}={walk.momentum:g}\n{outcome.headline}", fontsize=9)
    fig.tight_layout()
    return fig


def status_bundle(outcome: Outcome, settings: Settings) -> dict[str, str]:
    """The outcome line as an output bundle (plain text and HTML)."""
    text = f"Outcome ({settings.label()}): {outcome.text}"
    colour = {"converged": "#1a7f37", "diverged": "#c62828", "oscillating": "#b35900"}.get(outcome.kind, "#333")
    markup = (
        f"<div class='course-playground-status' style='color:{colour}'><b>Outcome</b> "
        f"({html.escape(settings.label())}): {html.escape(outcome.text)}</div>"
    )
    return {"text/plain": text, "text/html": markup}


# --------------------------------------------------------------------------- the widget shell


class OptimizerPlayground:
    """Sliders and menus over ``run`` + ``playground_figure``; state kept on the object for tests.

    Attributes: ``settings`` (current), ``walk`` and ``outcome`` (last run), ``status`` (the outcome
    line), ``redraws`` (how many times the figure was replaced), ``figure`` (the current figure).
    """

    def __init__(self, settings: Settings | None = None, *, show: bool = True) -> None:
        import ipywidgets as w

        settings = settings or Settings()
        settings.validate()
        if not 10 ** LR_EXPONENTS[0] <= settings.lr <= 10 ** LR_EXPONENTS[1]:
            raise landscapes.LandscapeError(f"the playground's lr slider runs from 1e-4 to 1; got lr={settings.lr}.")
        if settings.momentum > MAX_MOMENTUM or settings.steps > MAX_SLIDER_STEPS:
            raise landscapes.LandscapeError(
                f"the playground allows momentum up to {MAX_MOMENTUM} and up to {MAX_SLIDER_STEPS} steps."
            )
        style = {"description_width": "110px"}
        wide = w.Layout(width="430px")
        self.surface_menu = w.Dropdown(
            options=[(s.title, name) for name, s in landscapes.SURFACES.items()], value=settings.surface,
            description="surface", style=style, layout=wide,
        )
        self.optimizer_menu = w.Dropdown(
            options=[(text, name) for name, text in landscapes.OPTIMIZERS.items()], value=settings.optimizer,
            description="optimizer", style=style, layout=wide,
        )
        self.lr_slider = w.FloatLogSlider(
            value=settings.lr, base=10, min=LR_EXPONENTS[0], max=LR_EXPONENTS[1], step=0.1,
            description="learning rate", readout_format=".4f", continuous_update=False, style=style, layout=wide,
        )
        self.momentum_slider = w.FloatSlider(
            value=settings.momentum, min=0.0, max=MAX_MOMENTUM, step=0.01, description="momentum",
            readout_format=".2f", continuous_update=False, style=style, layout=wide,
        )
        self.steps_slider = w.IntSlider(
            value=settings.steps, min=1, max=MAX_SLIDER_STEPS, description="steps", continuous_update=False,
            style=style, layout=wide,
        )
        self.controls = [self.surface_menu, self.optimizer_menu, self.lr_slider, self.momentum_slider,
                         self.steps_slider]
        self.box = w.VBox(self.controls)
        self.redraws = 0
        self.settings = settings
        self.walk, self.outcome = run(settings)
        self.status = status_bundle(self.outcome, settings)["text/plain"]
        self.figure = playground_figure(self.walk, self.outcome)
        self.live = None
        self._status_handle = None
        if show:
            self.show()
        for control in self.controls:
            control.observe(self._on_change, names="value")

    def current_settings(self) -> Settings:
        """The settings the controls show now."""
        return Settings(
            surface=self.surface_menu.value, optimizer=self.optimizer_menu.value, lr=float(self.lr_slider.value),
            momentum=float(self.momentum_slider.value), steps=int(self.steps_slider.value),
        )

    def show(self) -> None:
        """Display the controls (with a plain-text fallback), the figure and the outcome line."""
        from IPython.display import display

        from course_utils.widgets import LiveFigure, show_controls

        show_controls(
            self.box,
            "surface, optimizer, learning rate (log scale, 1e-4 to 1), momentum (0 to 0.99) and steps; "
            f"the figure shows {self.settings.label()} on the {self.settings.surface} surface",
        )
        self.live = LiveFigure(self.figure)
        self._status_handle = display(status_bundle(self.outcome, self.settings), raw=True, display_id=True)

    def _on_change(self, _change=None) -> None:
        self.redraw()

    def redraw(self) -> None:
        """Recompute the walk for the current controls and replace the figure and the outcome line."""
        settings = self.current_settings()
        self.settings = settings
        self.walk, self.outcome = run(settings)
        bundle = status_bundle(self.outcome, settings)
        self.status = bundle["text/plain"]
        old = self.figure
        self.figure = playground_figure(self.walk, self.outcome)
        if self.live is not None:
            self.live.update(self.figure)
        else:
            plt.close(old)
            plt.close(self.figure)
        if self._status_handle is not None:
            self._status_handle.update(bundle, raw=True)
        self.redraws += 1


def optimizer_playground(
    surface: str = "ravine",
    optimizer: str = "sgd",
    lr: float = 0.05,
    momentum: float = 0.0,
    steps: int = 40,
    *,
    show: bool = True,
) -> OptimizerPlayground:
    """Show the playground with these starting settings and return it (keep it in a variable)."""
    return OptimizerPlayground(Settings(surface, optimizer, lr, momentum, steps), show=show)
