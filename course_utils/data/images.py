"""Images for notebook 08: generated colour shapes, batch augmentation, and the full-scale loaders.

* ``make_shapes`` / ``shapes_split``: a small CIFAR-like task made offline with a fixed
  seed: 3-channel images of six shapes in random colours, sizes, positions and tilts
  on random backgrounds, with a little noise. The label is the shape.
* ``random_shift`` / ``ShiftAugmentedLoader``: "pad and crop back at a random offset"
  (what ``torchvision.transforms.v2.RandomCrop(size, padding=m)`` does to one image),
  drawn independently for every image of a batch in one vectorised step.
* ``load_mnist`` / ``load_cifar10``: the real data sets through ``torchvision.datasets``,
  for the optional full scale (``COURSE_SCALE=full``). They read files already on disk,
  and download only when asked to (``download=True``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from course_utils.data.digits import Split

SHAPE_CLASSES = ("circle", "ring", "square", "triangle", "plus", "cross")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


# --------------------------------------------------------------------------- generated shapes


def _shape_mask(kind: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Boolean mask of a shape in its own coordinates (unit radius, centred at 0)."""
    r2 = u * u + v * v
    if kind == "circle":
        return r2 <= 1.0
    if kind == "ring":
        return (r2 <= 1.0) & (r2 >= 0.5**2)
    if kind == "square":
        return np.maximum(np.abs(u), np.abs(v)) <= 0.8
    if kind == "triangle":
        return (v <= 0.75) & (v >= -0.95 + 1.9 * np.abs(u))
    if kind in ("plus", "cross"):
        if kind == "cross":
            u, v = (u + v) / np.sqrt(2.0), (v - u) / np.sqrt(2.0)
        bar = 0.28
        return ((np.abs(u) <= bar) & (np.abs(v) <= 1.0)) | ((np.abs(v) <= bar) & (np.abs(u) <= 1.0))
    raise ValueError(f"unknown shape {kind!r}; the shapes are {', '.join(SHAPE_CLASSES)}.")


def _random_colours(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    background = rng.uniform(0.0, 1.0, size=3)
    while True:
        foreground = rng.uniform(0.0, 1.0, size=3)
        if np.linalg.norm(foreground - background) > 0.6:
            return foreground, background


def make_shapes(n: int, size: int = 32, seed: int = 0, noise: float = 0.03) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` colour images of shapes: X float32 (n, 3, size, size) in [0, 1], y int64 (n,).

    The classes are ``SHAPE_CLASSES`` (balanced, in a shuffled order). Each image has its own
    colours, position, radius and a tilt of up to ±15°; edges are anti-aliased by drawing at
    twice the resolution. The same ``seed`` always gives the same images.
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int; got {n!r}.")
    if not isinstance(size, int) or size < 8:
        raise ValueError(f"size must be an int ≥ 8 pixels; got {size!r}.")
    if noise < 0:
        raise ValueError(f"noise must be ≥ 0; got {noise!r}.")
    rng = np.random.default_rng(seed)
    n_classes = len(SHAPE_CLASSES)
    labels = rng.permutation(np.arange(n) % n_classes)
    fine = 2 * size
    coords = (np.arange(fine) + 0.5) / fine  # pixel centres in [0, 1]
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    images = np.empty((n, 3, size, size), dtype=np.float32)
    for i, label in enumerate(labels):
        radius = rng.uniform(0.22, 0.36)
        cx, cy = rng.uniform(radius, 1 - radius, size=2)
        angle = np.deg2rad(rng.uniform(-15, 15))
        dx, dy = (xx - cx) / radius, (yy - cy) / radius
        u = np.cos(angle) * dx + np.sin(angle) * dy
        v = -np.sin(angle) * dx + np.cos(angle) * dy
        mask = _shape_mask(SHAPE_CLASSES[label], u, v).astype(np.float32)
        coverage = mask.reshape(size, 2, size, 2).mean(axis=(1, 3))  # anti-aliasing
        foreground, background = _random_colours(rng)
        picture = background[:, None, None] * (1 - coverage) + foreground[:, None, None] * coverage
        picture += rng.normal(0.0, noise, size=picture.shape)
        images[i] = np.clip(picture, 0.0, 1.0)
    return torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64))


def shapes_split(n_train: int = 600, n_test: int = 300, size: int = 32, seed: int = 0) -> Split:
    """A train/test split of generated shapes (no validation part); test images use their own seed."""
    X_train, y_train = make_shapes(n_train, size=size, seed=seed)
    X_test, y_test = make_shapes(n_test, size=size, seed=seed + 10_000)
    empty_X, empty_y = X_train[:0], y_train[:0]
    return Split(X_train, y_train, empty_X, empty_y, X_test, y_test)


# --------------------------------------------------------------------------- batch augmentation


def random_shift(
    images: torch.Tensor, max_shift: int = 1, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Shift every image of a batch by its own random (dy, dx) in [-max_shift, max_shift], filling with 0.

    This is ``v2.RandomCrop(size, padding=max_shift)`` applied image by image, done for the
    whole batch at once. Returns ``(shifted, offsets)``; ``offsets[k] = (top, left)`` is where the
    crop of image ``k`` starts inside the zero-padded image.
    """
    if images.dim() != 4:
        raise ValueError(f"random_shift expects a batch (N, C, H, W); got shape {tuple(images.shape)}.")
    if not isinstance(max_shift, int) or max_shift < 0:
        raise ValueError(f"max_shift must be an int ≥ 0; got {max_shift!r}.")
    n, _, h, w = images.shape
    offsets = torch.randint(0, 2 * max_shift + 1, (n, 2), generator=generator)
    if max_shift == 0:
        return images.clone(), offsets
    padded = F.pad(images, (max_shift,) * 4)
    rows = offsets[:, 0, None] + torch.arange(h)  # (N, H): which padded rows each image keeps
    cols = offsets[:, 1, None] + torch.arange(w)  # (N, W)
    batch = torch.arange(n)[:, None, None]
    shifted = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # (N, H, W, C)
    return shifted.permute(0, 3, 1, 2).contiguous(), offsets


class ShiftAugmentedLoader:
    """Wrap a DataLoader of (images, labels) so each batch comes out randomly shifted.

    A fresh shift is drawn for every image in every epoch, from its own seeded generator,
    so training stays reproducible. Use it only for training; evaluate on the plain images.
    """

    def __init__(self, loader: DataLoader, max_shift: int = 1, seed: int = 0) -> None:
        self.loader = loader
        self.max_shift = max_shift
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for images, labels in self.loader:
            shifted, _ = random_shift(images, self.max_shift, self.generator)
            yield shifted, labels


# --------------------------------------------------------------------------- full-scale loaders


class FullScaleDataMissing(FileNotFoundError):
    """A full-scale data set is not on disk and downloading was not asked for (or failed)."""


def download_root() -> Path:
    """Where the full-scale data sets live: ``COURSE_DOWNLOADS_DIR``, else ``~/.cache/dl-pytorch-course``."""
    override = os.environ.get("COURSE_DOWNLOADS_DIR")
    return Path(override) if override else Path.home() / ".cache" / "dl-pytorch-course"


def _check_limit(limit: int | None) -> None:
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise ValueError(f"limit must be a positive int or None; got {limit!r}.")


def _open(dataset_cls, name: str, root: Path, train: bool, download: bool, files: str):
    try:
        return dataset_cls(str(root), train=train, download=download)
    except RuntimeError as error:
        if "not found" not in str(error).lower() and "corrupted" not in str(error).lower():
            raise
        raise FullScaleDataMissing(
            f"{name} is not in {root} ({files}). Call with download=True (needs internet), "
            f"or copy the files there first. At the default small scale the course never needs it."
        ) from error
    except OSError as error:  # a failed download: no network, proxy, ...
        raise FullScaleDataMissing(
            f"Downloading {name} into {root} failed ({type(error).__name__}: {error}). "
            "Check the internet connection, or copy the files there by hand."
        ) from error


def load_mnist(
    root: str | Path | None = None, train: bool = True, download: bool = False, limit: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST through ``torchvision.datasets.MNIST``: X float32 (N, 1, 28, 28) in [0, 1], y int64 (N,).

    ``root`` defaults to ``download_root()``; the files are ``<root>/MNIST/raw/*-idx?-ubyte``.
    ``limit`` keeps the first ``limit`` examples.
    """
    from torchvision.datasets import MNIST

    _check_limit(limit)
    root = download_root() if root is None else Path(root)
    dataset = _open(MNIST, "MNIST", root, train, download, "expected MNIST/raw/*-idx3-ubyte and *-idx1-ubyte")
    data, targets = dataset.data[:limit], dataset.targets[:limit]  # [:None] keeps everything
    return data.unsqueeze(1).float().div_(255.0), targets.to(torch.int64)


def load_cifar10(
    root: str | Path | None = None, train: bool = True, download: bool = False, limit: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """CIFAR-10 through ``torchvision.datasets.CIFAR10``: X float32 (N, 3, 32, 32) in [0, 1], y int64 (N,).

    ``root`` defaults to ``download_root()``; the files are ``<root>/cifar-10-batches-py/``.
    ``limit`` keeps the first ``limit`` examples (the full training set is 600 MB as float32).
    """
    from torchvision.datasets import CIFAR10

    _check_limit(limit)
    root = download_root() if root is None else Path(root)
    dataset = _open(CIFAR10, "CIFAR-10", root, train, download, "expected cifar-10-batches-py/")
    data = np.asarray(dataset.data)[:limit]  # (N, 32, 32, 3) uint8; [:None] keeps everything
    X = torch.from_numpy(data).permute(0, 3, 1, 2).float().div_(255.0).contiguous()
    y = torch.tensor(dataset.targets[: len(data)], dtype=torch.int64)
    return X, y
