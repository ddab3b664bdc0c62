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
