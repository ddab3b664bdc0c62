"""ipywidgets shells. Each widget calls a pure function and redraws an ordinary figure.

Design (see tests/ and the course design): the figure is displayed as a normal
output with a display id and updated in place, never inside an ``Output``
widget, so the saved notebook, GitHub, static HTML and nbval all show the figure
for the default settings. The controls get a plain-text fallback that reads well
where widgets are not live.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
from IPython.display import display
from matplotlib.figure import Figure


def show_controls(box: Any, fallback: str) -> None:
    """Display a widget with a readable ``text/plain`` fallback instead of its repr."""
    bundle = box._repr_mimebundle_() if hasattr(box, "_repr_mimebundle_") else {}
    data = dict(bundle[0] if isinstance(bundle, tuple) else bundle or {})
    data["text/plain"] = f"[interactive controls: {fallback}. Run the notebook to use them.]"
    display(data, raw=True)


class LiveFigure:
    """A figure shown once as an ordinary output and replaced in place on ``update``."""

    def __init__(self, fig: Figure) -> None:
        self.fig = fig
        self.redraws = 0
        plt.close(fig)  # the inline backend must not show it a second time
        self.handle = display(fig, display_id=True)

    def update(self, fig: Figure | None = None) -> None:
        """Show ``fig`` (or the current, redrawn ``self.fig``) in place of the old picture."""
        if fig is not None and fig is not self.fig:
            plt.close(self.fig)
            self.fig = fig
            plt.close(fig)
        self.redraws += 1
        if self.handle is not None:
            self.handle.update(self.fig)


class Explorer:
    """Base of the course's widget shells: controls above, one ``LiveFigure`` below.

    A subclass builds ``self.box`` (the ipywidgets controls) before calling
    ``super().__init__()``, sets ``description`` (the plain-text fallback), implements
    ``figure()`` (read the controls, return a new Figure from a pure function) and may
    override ``on_redraw()`` to refresh status text. Wire controls with
    ``control.observe(self.redraw, names="value")``.
    """

    description = "interactive controls"

    def __init__(self) -> None:
        self.live: LiveFigure | None = None
        self.redraws = 0
        self.fig = self.figure()
        self.on_redraw()

    def figure(self) -> Figure:
        raise NotImplementedError("an Explorer subclass must implement figure()")

    def on_redraw(self) -> None:
        """Hook for subclasses: update status text after each new figure."""

    def redraw(self, _change=None) -> None:
        """Recompute the figure from the controls and show it in place of the old one."""
        old = self.fig
        self.fig = self.figure()
        self.redraws += 1
        self.on_redraw()
        if self.live is not None:
            self.live.update(self.fig)
        else:
            plt.close(old)

    def show(self) -> None:
        """Display the controls (with their text fallback) and the current figure."""
        show_controls(self.box, self.description)
        self.live = LiveFigure(self.fig)
