"""Helpers for notebook 00 (welcome): the average image of one digit class, and its explorer.

* ``mean_digit`` (pure): the mean image of one class and how many images it averages.
* ``mean_digit_figure`` (draws): that image as a small figure.
* ``MeanDigitExplorer``: the thin widget shell, a slider that picks the class.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from course_utils.widgets import Explorer


def mean_digit(images: torch.Tensor, labels: torch.Tensor, digit: int) -> tuple[torch.Tensor, int]:
    """The average (H, W) image of the class ``digit`` in ``images`` (N, 1, H, W), and the class size."""
    if images.dim() != 4 or images.shape[1] != 1:
        raise ValueError(f"images must have shape (N, 1, H, W); got {tuple(images.shape)}. "
                         "Load them with data.load_digits_tensors(as_images=True).")
    if labels.shape != images.shape[:1]:
        raise ValueError(f"labels must have shape ({images.shape[0]},), one per image; got {tuple(labels.shape)}.")
    if isinstance(digit, bool) or not isinstance(digit, int):
        raise ValueError(f"digit must be an int class label; got {digit!r}.")
    chosen = labels == digit
    count = int(chosen.sum())
    if count == 0:
        present = sorted(set(labels.tolist()))
        raise ValueError(f"no image has label {digit}; the labels present are {present}.")
    return images[chosen].mean(dim=0)[0], count


def mean_digit_figure(average: torch.Tensor, digit: int, count: int) -> Figure:
    """Draw the average image of one class, titled with the number of images it averages."""
    fig, ax = plt.subplots(figsize=(2.4, 2.4))
    ax.imshow(average.numpy(), cmap="gray_r")
    ax.set_title(f"average '{digit}' ({count} images)", fontsize=9)
    ax.axis("off")
    return fig


class MeanDigitExplorer(Explorer):
    """A slider that picks a digit class; the figure shows that class's average image.

    Tests set ``.digit.value`` and read ``.redraws``, ``.fig``, ``.count`` and ``.status.value``.
    """

    description = "a slider that picks the digit class"

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, digit: int = 3) -> None:
        import ipywidgets as w

        mean_digit(images, labels, digit)  # a clear error before any widget is built
        self.images, self.labels = images, labels
        classes = sorted(set(labels.tolist()))
        self.digit = w.IntSlider(value=digit, min=min(classes), max=max(classes), description="digit",
                                 continuous_update=False)
        self.status = w.HTML("")
        self.box = w.VBox([self.digit, self.status])
        super().__init__()
        self.digit.observe(self.redraw, names="value")

    def figure(self) -> Figure:
        average, self.count = mean_digit(self.images, self.labels, self.digit.value)
        return mean_digit_figure(average, self.digit.value, self.count)

    def on_redraw(self) -> None:
        self.status.value = f"{self.count} images of a '{self.digit.value}', averaged pixel by pixel"
