"""The optimizer playground: learning rate, momentum, optimizer, steps and surface, with sliders.

The logic is pure and lives in ``course_utils.topics.training_loops.landscapes`` (the walk, its
outcome and the stability map) and in ``playground_figure`` below (the picture: the path with
the previous one as a faint ghost, the loss per step, and the stability map of the surface and
optimizer with the current setting marked). ``OptimizerPlayground`` is an ``Explorer``
(see ``course_utils.widgets``): each change recomputes one walk with the real ``torch.optim``
class; the stability map is computed once per surface and optimizer and kept in memory.

    >>> from course_utils.topics.training_loops.playground import OptimizerPlayground
    >>> playground = OptimizerPlayground(surface="ravine", lr=0.1)   # in a notebook
    >>> playground.show()
"""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axis import Axis
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.spines import Spine
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator

from course_utils.topics.training_loops import landscapes
from course_utils.topics.training_loops.landscapes import Outcome, StabilityMap, Surface, Trajectory
from course_utils.widgets import Explorer

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


def validate_for_sliders(settings: Settings) -> None:
    """Raise a ``LandscapeError`` for a setting the playground's sliders cannot show."""
    settings.validate()
    if not 10 ** LR_EXPONENTS[0] <= settings.lr <= 10 ** LR_EXPONENTS[1]:
        raise landscapes.LandscapeError(f"the playground's lr slider runs from 1e-4 to 1; got lr={settings.lr}.")
    if settings.momentum > MAX_MOMENTUM or settings.steps > MAX_SLIDER_STEPS:
        raise landscapes.LandscapeError(
            f"the playground allows momentum up to {MAX_MOMENTUM} and up to {MAX_SLIDER_STEPS} steps."
        )


def effective_step(optimizer: str, lr: float, momentum: float) -> str:
    """One line on the step size along a steady slope: η/(1−μ) for heavy-ball momentum."""
    if optimizer == "adam":
        return (f"Adam: its first moment is an <i>average</i> (bias-corrected), so β1 does not enlarge the step; "
                f"each step is about η = {lr:.3g} per coordinate")
    if momentum == 0:
        return f"effective step η/(1−μ) = {lr:.3g} (no momentum: just η)"
    return (f"effective step η/(1−μ) = {lr:.3g}/{1 - momentum:.2f} = <b>{lr / (1 - momentum):.3g}</b> "
            "on a steady slope")


@functools.lru_cache(maxsize=32)
def cached_map(surface: str, optimizer: str) -> StabilityMap:
    """The stability map of a surface and optimizer, computed once (up to the slider's 300 steps)."""
    return landscapes.stability_map(surface, optimizer, steps=MAX_SLIDER_STEPS)


def run(settings: Settings) -> tuple[Trajectory, Outcome]:
    """The walk for a setting and what happened on it."""
    settings.validate()
    walk = landscapes.trajectory(
        settings.surface, settings.optimizer, lr=settings.lr, momentum=settings.momentum, steps=settings.steps
    )
    return walk, landscapes.describe(walk)


# --------------------------------------------------------------------------- the picture

GHOST = {"color": "0.45", "alpha": 0.45, "lw": 1.0, "ls": "--"}


@functools.lru_cache(maxsize=8)
def _surface_grid(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The plotted surface, computed once per surface (x, y and log height for 2-D; x, f(x) for 1-D)."""
    surface = landscapes.get_surface(name)
    if surface.dim == 1:
        (low, high), = surface.limits
        xs = torch.linspace(low, high, 400, dtype=torch.float64)
        return xs.numpy(), surface(xs[:, None]).numpy(), np.empty(0)
    (x0, x1), (y0, y1) = surface.limits
    gx, gy = torch.meshgrid(
        torch.linspace(x0, x1, 120, dtype=torch.float64), torch.linspace(y0, y1, 120, dtype=torch.float64),
        indexing="xy",
    )
    zz = surface(torch.stack([gx, gy], dim=-1))
    height = torch.log1p(zz - surface.best_loss)  # log scale shows both the walls and the valley floor
    return gx.numpy(), gy.numpy(), height.numpy()


def _draw_surface_1d(ax, surface: Surface, walk: Trajectory, ghost: Trajectory | None = None) -> None:
    (low, high), = surface.limits
    xs, curve, _ = _surface_grid(surface.name)
    ax.plot(xs, curve, color="0.35", lw=1.5)
    if ghost is not None:
        ax.plot([p[0] for p in ghost.positions], ghost.losses, **GHOST, label="previous setting")
    path = np.array([p[0] for p in walk.positions])
    ys = np.array(walk.losses)
    ax.plot(path, ys, "-", color="tab:orange", lw=1, alpha=0.7)
    ax.scatter(path, ys, c=np.arange(len(path)), cmap="autumn", s=22, zorder=3, edgecolors="k", linewidths=0.3)
    ax.plot(path[0], ys[0], "o", ms=8, mfc="none", mec="k", label="start")
    for m in surface.minima:
        ax.axvline(m[0], color="tab:green", lw=0.8, ls=":")
    ax.set_xlim(low, high)
    ax.set_ylim(float(curve.min()) - 1.0, float(curve.max()) * 0.6)
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")


def _draw_surface_2d(ax, surface: Surface, walk: Trajectory, ghost: Trajectory | None = None) -> None:
    (x0, x1), (y0, y1) = surface.limits
    gx, gy, height = _surface_grid(surface.name)
    ax.contourf(gx, gy, height, levels=16, cmap="Blues_r", alpha=0.85)
    if ghost is not None:
        old = np.array(ghost.positions)
        ax.plot(old[:, 0], old[:, 1], **GHOST, label="previous setting")
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


def _edges(values: np.ndarray) -> np.ndarray:
    """Cell edges halfway between grid values (for pcolormesh on an uneven grid)."""
    mids = (values[1:] + values[:-1]) / 2
    return np.concatenate([[values[0] - (mids[0] - values[0])], mids, [values[-1] + (values[-1] - mids[-1])]])


def draw_stability_map(ax, smap: StabilityMap, steps: int, current: tuple[float, float] | None = None,
                       previous: tuple[float, float] | None = None) -> None:
    """Heat map of log10(loss above the best) after ``steps`` steps; diverged cells in red.

    ``current`` and ``previous`` are ``(lr, momentum)`` points to mark.
    """
    gap, diverged = smap.after(steps)
    log_gap = np.log10(np.clip(gap.numpy(), 1e-12, None))
    x_edges = _edges(np.log10(np.array(smap.lrs)))
    y_edges = _edges(np.arange(len(smap.momenta), dtype=float))
    mesh = ax.pcolormesh(x_edges, y_edges, np.ma.masked_invalid(log_gap), cmap="viridis", vmin=-8, vmax=2,
                         shading="flat")
    ax.pcolormesh(x_edges, y_edges, np.ma.masked_where(~diverged.numpy(), np.ones_like(log_gap)),
                  cmap=ListedColormap(["#c62828"]), shading="flat")
    bar = ax.figure.colorbar(mesh, ax=ax, pad=0.02, fraction=0.06, ticks=[-8, -4, 0, 2])
    bar.set_label("log10 loss above best; red: diverged", fontsize=8)
    labelled = [i for i, m in enumerate(smap.momenta) if m in (0.0, 0.3, 0.6, 0.9, 0.99)]  # few labels: fast to draw
    ax.set_yticks(labelled, [f"{smap.momenta[i]:g}" for i in labelled], fontsize=7)
    ax.set_xticks([-4, -2, 0], ["1e-4", "1e-2", "1"], fontsize=7)
    ax.set_xlabel("learning rate (log)")
    ax.set_ylabel(landscapes.momentum_name(smap.optimizer))
    ax.set_title(f"stability map: {smap.optimizer}, {steps} steps", fontsize=9)
    for point, style in ((previous, {"mfc": "none", "mec": "0.85", "mew": 1.2}),
                         (current, {"mfc": "white", "mec": "k", "mew": 1.2})):
        if point is not None:
            lr, mu = point
            row = float(np.interp(mu, smap.momenta, np.arange(len(smap.momenta))))
            ax.plot(np.log10(lr), row, "o", ms=8, zorder=4, **style)
    ax.grid(False)


def playground_figure(walk: Trajectory, outcome: Outcome, figsize: tuple[float, float] | None = None, *,
                      ghost: Trajectory | None = None, smap: StabilityMap | None = None) -> Figure:
    """The path on the surface (start circled, minima as green stars, ``ghost`` as a faint dashed
    path), the loss per step, and (with ``smap``) the stability map with the setting marked."""
    surface = landscapes.get_surface(walk.surface)
    panels = 3 if smap is not None else 2
    figsize = figsize or ((12.5, 3.6) if smap is not None else (9.0, 3.4))
    fig, axes = plt.subplots(1, panels, figsize=figsize,
                             gridspec_kw={"width_ratios": [1.25, 1, 1.15][:panels]})
    ax_path, ax_loss = axes[0], axes[1]
    if surface.dim == 1:
        _draw_surface_1d(ax_path, surface, walk, ghost)
    else:
        _draw_surface_2d(ax_path, surface, walk, ghost)
    ax_path.set_title(surface.title, fontsize=9)
    ax_path.xaxis.set_major_locator(MaxNLocator(4))
    ax_path.yaxis.set_major_locator(MaxNLocator(4))
    if ghost is not None:
        old_gap = np.log10(np.maximum(np.array(ghost.losses) - surface.best_loss, 1e-12))
        ax_loss.plot(range(len(old_gap)), old_gap, **GHOST, label="previous setting")
    gap = np.log10(np.maximum(np.array(walk.losses) - surface.best_loss, 1e-12))
    ax_loss.plot(range(len(gap)), gap, "-o", ms=2.5, color="tab:orange", label="this setting")
    if walk.diverged:
        ax_loss.axvline(walk.diverged_at, color="tab:red", ls="--", lw=1)
        ax_loss.text(walk.diverged_at, gap.max(), f" diverged\n at step {walk.diverged_at}", color="tab:red",
                     va="top", fontsize=8)
    ax_loss.yaxis.set_major_locator(MaxNLocator(4, integer=True))
    ax_loss.xaxis.set_major_locator(MaxNLocator(4, integer=True))
    if ghost is not None:
        ax_loss.legend(fontsize=7, loc="lower left")
    ax_loss.set_xlim(0, walk.steps)
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("log10 loss above the best")
    ax_loss.set_title("loss per step", fontsize=9)
    if smap is not None:
        same_axes = ghost is not None and ghost.optimizer == walk.optimizer
        previous = (ghost.lr, ghost.momentum) if same_axes else None
        draw_stability_map(axes[2], smap, walk.steps, (walk.lr, walk.momentum), previous)
    name = landscapes.momentum_name(walk.optimizer)
    fig.suptitle(
        f"{walk.optimizer}, lr={walk.lr:.4g}, {name}={walk.momentum:.2f}: {outcome.headline}", fontsize=10
    )
    fig.subplots_adjust(left=0.06, right=0.97, bottom=0.16, top=0.84, wspace=0.32)
    for ax in fig.axes:  # the layout is fixed: only the axes' labels need measuring for a tight bounding box
        for artist in ax.get_children():
            if not isinstance(artist, Axis | Spine | Text):
                artist.set_in_layout(False)
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


class OptimizerPlayground(Explorer):
    """Sliders and menus over ``run`` + ``playground_figure`` (an ``Explorer``: build, then ``show()``).

    Attributes: ``settings`` (current), ``walk`` and ``outcome`` (last run), ``previous`` (the walk
    before it, drawn as the ghost), ``smap`` (the stability map of the surface and optimizer),
    ``status`` (the outcome line), ``effective`` (the η/(1−μ) line), ``redraws`` and ``fig``.
    """

    def __init__(self, surface: str = "ravine", optimizer: str = "sgd", lr: float = 0.05, momentum: float = 0.0,
                 steps: int = 40) -> None:
        import ipywidgets as w

        settings = Settings(surface, optimizer, lr, momentum, steps)
        validate_for_sliders(settings)
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
        self.effective_label = w.HTML(layout=w.Layout(margin="0 0 0 12px"))
        self.controls = [self.surface_menu, self.optimizer_menu, self.lr_slider, self.momentum_slider,
                         self.steps_slider]
        self.box = w.VBox([self.surface_menu, self.optimizer_menu,
                           w.HBox([w.VBox([self.lr_slider, self.momentum_slider]), self.effective_label]),
                           self.steps_slider])
        self.description = (
            "surface, optimizer, learning rate (log scale, 1e-4 to 1), momentum (0 to 0.99) and steps; "
            f"the figure shows {settings.label()} on the {settings.surface} surface"
        )
        self.settings = settings
        self.walk: Trajectory | None = None
        self.previous: Trajectory | None = None
        self._status_handle = None
        super().__init__()
        for control in self.controls:
            control.observe(self.redraw, names="value")

    def current_settings(self) -> Settings:
        """The settings the controls show now."""
        return Settings(
            surface=self.surface_menu.value, optimizer=self.optimizer_menu.value, lr=float(self.lr_slider.value),
            momentum=float(self.momentum_slider.value), steps=int(self.steps_slider.value),
        )

    def figure(self) -> Figure:
        """Run the walk for the controls (the last walk becomes the ghost) and draw the three panels."""
        settings = self.current_settings()
        ghost = self.walk
        if ghost is not None and ghost.surface != settings.surface:
            ghost = None  # a path on another surface means nothing here
        self.settings, self.previous = settings, ghost
        self.walk, self.outcome = run(settings)
        self.smap = cached_map(settings.surface, settings.optimizer)
        return playground_figure(self.walk, self.outcome, ghost=ghost, smap=self.smap)

    def on_redraw(self) -> None:
        bundle = status_bundle(self.outcome, self.settings)
        self.status = bundle["text/plain"]
        self.effective = effective_step(self.settings.optimizer, self.settings.lr, self.settings.momentum)
        self.effective_label.value = self.effective
        if self._status_handle is not None:
            self._status_handle.update(bundle, raw=True)

    def show(self) -> None:
        """Display the controls (with a plain-text fallback), the figure and the outcome line."""
        from IPython.display import display

        super().show()
        self._status_handle = display(status_bundle(self.outcome, self.settings), raw=True, display_id=True)
