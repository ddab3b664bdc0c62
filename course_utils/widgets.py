"""The course's one widget protocol: ``Explorer``.

Every interactive figure in the course is an ``Explorer`` subclass in its topic module::

    explorer = cnn.KernelEditor(image)   # builds the controls and the first figure; shows nothing
    explorer.show()                      # shows the controls and the figure; returns None

* The subclass builds its ipywidgets controls, then ends its constructor with
  ``self.start(control, (left, right), ...)``: each argument is one row of the layout (a tuple
  is a row of several controls), a status line (``self.status``) goes below them, the first
  figure is drawn and every control redraws it when its value changes. An explorer with an
  unusual layout or wiring builds ``self.box`` itself and calls ``Explorer.__init__(self)``.
* ``figure()`` reads the controls, calls a pure function of the topic module and returns a new
  Figure. It changes nothing else.
* ``on_redraw()`` (optional) refreshes status text after each new figure. Work that both need
  is computed once, in ``figure()``, and kept on ``self``.
* ``redraws`` counts redraws; ``fig`` is the current figure. Tests drive an explorer by
  setting a control's ``.value`` and reading these.

The figure is displayed as a normal output with a display id and updated in place, never
inside an ``Output`` widget, so the saved notebook, GitHub, static HTML and nbval all show the
figure for the default settings. The controls get a plain-text fallback that reads well where
widgets are not live. Quizzes (``course_utils.quiz``) use the same ``show_controls``.
"""

from __future__ import annotations

import io
from typing import Any

import matplotlib.pyplot as plt
from IPython.display import Image, display
from matplotlib.figure import Figure


def show_controls(box: Any, fallback: str, *, plain_text: str | None = None) -> None:
    """Display a widget with a readable ``text/plain`` fallback instead of its repr.

    ``fallback`` names the controls in a short sentence; ``plain_text`` replaces the whole
    fallback (a quiz shows its questions).
    """
    bundle = box._repr_mimebundle_() if hasattr(box, "_repr_mimebundle_") else {}
    data = dict(bundle[0] if isinstance(bundle, tuple) else bundle or {})
    data["text/plain"] = plain_text or f"[interactive controls: {fallback}. Run the notebook to use them.]"
    display(data, raw=True)


def png_of(fig: Figure) -> Image:
    """The figure as one PNG image, drawn once (no second pass for a tight bounding box)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return Image(data=buffer.getvalue(), format="png")


def _plain(html: object) -> str:
    """The text of a status line, without its HTML tags and entities."""
    import html as html_lib
    import re

    return html_lib.unescape(re.sub(r"<[^>]+>", "", str(html or ""))).strip()


class LiveFigure:
    """A figure shown once as an ordinary output and replaced in place on ``update``."""

    def __init__(self, fig: Figure) -> None:
        self.fig = fig
        plt.close(fig)  # the inline backend must not show it a second time
        self.handle = display(fig, display_id=True)

    def update(self, fig: Figure | None = None) -> None:
        """Show ``fig`` (or the current, redrawn ``self.fig``) in place of the old picture.

        The new picture is sent as a PNG rendered once: the inline backend's default ("tight"
        bounding box) would draw the figure twice, which doubles the time from slider to picture.
        """
        if fig is not None and fig is not self.fig:
            plt.close(self.fig)
            self.fig = fig
            plt.close(fig)
        if self.handle is not None:
            self.handle.update(png_of(self.fig))


class Explorer:
    """Base of every widget in the course: controls above, one ``LiveFigure`` below.

    See the module docstring for the protocol. ``description`` is the plain-text fallback
    of the controls.
    """

    description = "interactive controls"
    # The saved fallback repeats the status line; an explorer whose status is a random sample
    # (a generated text, say) sets this to False.
    status_in_fallback = True

    def __init__(self) -> None:
        self.live: LiveFigure | None = None
        self.redraws = 0
        self.fig = self.figure()
        self.on_redraw()

    def start(self, *rows: Any) -> None:
        """Lay out ``rows`` of controls above a status line, draw the first figure, and redraw on change."""
        import ipywidgets as w

        controls = [control for row in rows for control in (row if isinstance(row, tuple) else (row,))]
        self.status = w.HTML("")
        self.box = w.VBox([w.HBox(list(row)) if isinstance(row, tuple) else row for row in rows] + [self.status])
        Explorer.__init__(self)
        for control in controls:
            control.observe(self.redraw, names="value")

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
        """Display the controls (with their text fallback) and the current figure. Returns None.

        Where widgets are not live, the fallback also carries the current status line (if the
        explorer has a ``status`` widget), so a reader of the saved notebook sees it once.
        """
        status = _plain(getattr(getattr(self, "status", None), "value", "")) if self.status_in_fallback else ""
        fallback = f"[interactive controls: {self.description}. Run the notebook to use them.]"
        show_controls(self.box, self.description, plain_text=f"{fallback}\n{status}" if status else None)
        self.live = LiveFigure(self.fig)
