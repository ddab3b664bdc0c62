"""Helpers for notebook 00 (welcome): the average image of one digit class, and its explorer.

* ``mean_digit`` (pure): the mean image of one class and how many images it averages.
* ``mean_digit_figure`` (draws): that image as a small figure.
* ``MeanDigitExplorer``: the thin widget shell, a slider that picks the class.
* ``tested_versions`` / ``version_lines``: the pins of requirements.txt, and installed versions compared with them.
"""

from __future__ import annotations

from pathlib import Path

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
        self.start(self.digit)

    def figure(self) -> Figure:
        average, self.count = mean_digit(self.images, self.labels, self.digit.value)
        return mean_digit_figure(average, self.digit.value, self.count)

    def on_redraw(self) -> None:
        self.status.value = f"{self.count} images of a '{self.digit.value}', averaged pixel by pixel"


def tested_versions(requirements: str | Path | None = None) -> dict[str, str]:
    """The exact pins (``name==version``) of the course's ``requirements.txt``, keyed by lower-case name.

    With no argument it reads the file at the repository root, next to the ``course_utils`` package; it returns
    an empty dict when that file is not there (an installed copy of the package without the repository).
    """
    path = Path(requirements) if requirements is not None else Path(__file__).resolve().parents[2] / "requirements.txt"
    if requirements is not None and not path.is_file():
        raise ValueError(f"no requirements file at {str(path)!r}; pass the path of the course's requirements.txt.")
    if not path.is_file():
        return {}
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.strip().lower()] = version.strip()
    return pins


def version_lines(installed: dict[str, str], tested: dict[str, str]) -> list[str]:
    """One line per package: its installed version and whether it matches the tested one (pure)."""
    lines = []
    for name, version in installed.items():
        version = version.split("+")[0]  # "2.14.1+cpu" is the same release as "2.14.1"
        pin = tested.get(name.lower())
        if pin is None:
            verdict = "(no pin found)"
        elif pin == version:
            verdict = "= tested version"
        else:
            verdict = f"DIFFERS from the tested {pin}: results may differ slightly"
        lines.append(f"{name:<13}{version:<9}{verdict}")
    return lines
