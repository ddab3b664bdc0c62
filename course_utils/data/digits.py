"""scikit-learn's bundled 8x8 handwritten digits as tensors and DataLoaders.

1,797 greyscale images of 8x8 pixels with integer values 0-16, ten classes.
It ships inside scikit-learn, so it works offline; it stands in for MNIST.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from course_utils.runtime import torch_generator

N_CLASSES = 10
IMAGE_SIZE = 8


@dataclass(frozen=True)
class Split:
    """Train / validation / test tensors of one data set (validation may be empty)."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_val: torch.Tensor
    y_val: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor

    def sizes(self) -> tuple[int, int, int]:
        return len(self.y_train), len(self.y_val), len(self.y_test)


def load_digits_tensors(as_images: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """All 1,797 digits: ``X`` float32 scaled to [0, 1], ``y`` int64 class labels.

    ``X`` has shape (1797, 64), or (1797, 1, 8, 8) with ``as_images=True``.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    X = torch.tensor(bunch.data / 16.0, dtype=torch.float32)
    y = torch.tensor(bunch.target, dtype=torch.int64)
    if as_images:
        X = X.view(-1, 1, IMAGE_SIZE, IMAGE_SIZE)
    return X, y


def stratified_indices(
    labels: np.ndarray, test_fraction: float, val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle each class with a fixed seed and cut it into train/val/test parts."""
    if not 0.0 < test_fraction < 1.0 or not 0.0 <= val_fraction < 1.0 or test_fraction + val_fraction >= 1.0:
        raise ValueError(
            f"test_fraction must be in (0, 1) and val_fraction in [0, 1) with a sum below 1; "
            f"got test_fraction={test_fraction}, val_fraction={val_fraction}."
        )
    rng = np.random.default_rng(seed)
    parts: tuple[list, list, list] = ([], [], [])
    for cls in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        n_test = round(len(idx) * test_fraction)
        n_val = round(len(idx) * val_fraction)
        parts[2].append(idx[:n_test])
        parts[1].append(idx[n_test : n_test + n_val])
        parts[0].append(idx[n_test + n_val :])
    return tuple(np.sort(np.concatenate(p)) for p in parts)  # type: ignore[return-value]


def digits_split(
    test_fraction: float = 0.2, val_fraction: float = 0.0, seed: int = 0, as_images: bool = False
) -> Split:
    """The digits cut into a fixed, stratified train/val/test split (same seed, same split)."""
    X, y = load_digits_tensors(as_images=as_images)
    train, val, test = stratified_indices(y.numpy(), test_fraction, val_fraction, seed)
    return Split(X[train], y[train], X[val], y[val], X[test], y[test])


def make_loaders(
    split: Split, batch_size: int = 64, seed: int | None = None, *, eval_batch_size: int = 256
) -> tuple[DataLoader, DataLoader | None, DataLoader]:
    """DataLoaders for a split: the training one shuffles with a seeded generator.

    Returns ``(train_loader, val_loader or None, test_loader)``.
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int; got {batch_size!r}.")
    train = DataLoader(
        TensorDataset(split.X_train, split.y_train),
        batch_size=batch_size,
        shuffle=True,
        generator=torch_generator(seed),
    )
    val = DataLoader(TensorDataset(split.X_val, split.y_val), batch_size=eval_batch_size) if len(split.y_val) else None
    test = DataLoader(TensorDataset(split.X_test, split.y_test), batch_size=eval_batch_size)
    return train, val, test
