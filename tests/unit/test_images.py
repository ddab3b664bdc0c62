"""course_utils.data.images: generated shapes, batch shifts and the full-scale loaders (on tiny local files)."""

import os
import pickle
import struct

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset
from torchvision.transforms import v2

from course_utils.data import images

# --------------------------------------------------------------------------- shapes


def test_shapes_are_seeded_balanced_and_in_range():
    X, y = images.make_shapes(24, size=16, seed=3)
    assert X.shape == (24, 3, 16, 16) and X.dtype == torch.float32 and y.dtype == torch.int64
    assert X.min() >= 0.0 and X.max() <= 1.0
    assert torch.bincount(y, minlength=len(images.SHAPE_CLASSES)).tolist() == [4] * 6
    X2, y2 = images.make_shapes(24, size=16, seed=3)
    assert torch.equal(X, X2) and torch.equal(y, y2)
    X3, _ = images.make_shapes(24, size=16, seed=4)
    assert not torch.equal(X, X3)


def test_each_shape_covers_a_plausible_area():
    # noise-free, so the foreground share is visible as the pixels that differ from the corner colour
    X, y = images.make_shapes(60, size=32, seed=0, noise=0.0)
    corner = X[:, :, :1, :1]
    covered = ((X - corner).abs().sum(dim=1) > 0.05).float().mean(dim=(1, 2))
    for label in range(len(images.SHAPE_CLASSES)):
        share = covered[y == label]
        assert share.min() > 0.02 and share.max() < 0.6, images.SHAPE_CLASSES[label]
    ring, circle = covered[y == 1].mean(), covered[y == 0].mean()
    assert ring < circle  # a ring has a hole


def test_shapes_split_uses_separate_test_images():
    split = images.shapes_split(n_train=12, n_test=6, size=12, seed=0)
    assert split.sizes() == (12, 0, 6)
    assert not torch.equal(split.X_train[:6], split.X_test)


@pytest.mark.parametrize("kwargs,message", [({"n": 0}, "positive int"), ({"n": 3, "size": 4}, "size must be"),
                                            ({"n": 3, "noise": -1.0}, "noise")])
def test_shapes_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        images.make_shapes(**kwargs)


# --------------------------------------------------------------------------- shifts


def test_random_shift_equals_torchvision_crop_of_the_padded_image():
    batch = torch.rand(10, 2, 6, 7)
    shifted, offsets = images.random_shift(batch, max_shift=2, generator=torch.Generator().manual_seed(0))
    assert shifted.shape == batch.shape and offsets.shape == (10, 2)
    assert offsets.min() >= 0 and offsets.max() <= 4 and len({tuple(o) for o in offsets.tolist()}) > 1
    for k, (top, left) in enumerate(offsets.tolist()):
        padded = torch.nn.functional.pad(batch[k], (2, 2, 2, 2))
        assert torch.equal(shifted[k], v2.functional.crop(padded, top, left, 6, 7))


def test_random_shift_zero_and_bad_input():
    batch = torch.rand(3, 1, 4, 4)
    same, _ = images.random_shift(batch, 0)
    assert torch.equal(same, batch) and same is not batch
    with pytest.raises(ValueError, match="N, C, H, W"):
        images.random_shift(batch[0])
    with pytest.raises(ValueError, match="max_shift"):
        images.random_shift(batch, -1)


def test_shift_augmented_loader_is_reproducible_and_keeps_labels():
    X, y = torch.rand(20, 1, 5, 5), torch.arange(20)

    def run(seed):
        loader = DataLoader(TensorDataset(X, y), batch_size=8)
        return list(images.ShiftAugmentedLoader(loader, max_shift=1, seed=seed))

    first, again, other = run(0), run(0), run(1)
    assert len(first) == 3 == len(images.ShiftAugmentedLoader(DataLoader(TensorDataset(X, y), batch_size=8)))
    assert all(torch.equal(a[0], b[0]) for a, b in zip(first, again, strict=True))
    assert not all(torch.equal(a[0], b[0]) for a, b in zip(first, other, strict=True))
    assert torch.equal(torch.cat([labels for _, labels in first]), y)


# --------------------------------------------------------------------------- full-scale loaders


def _write_idx(path, array: np.ndarray) -> None:
    """Write an array in MNIST's idx format (big-endian header, unsigned bytes)."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def tiny_mnist(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    train_images = rng.integers(0, 256, size=(5, 28, 28))
    _write_idx(raw / "train-images-idx3-ubyte", train_images)
    _write_idx(raw / "train-labels-idx1-ubyte", np.array([3, 1, 4, 1, 5]))
    _write_idx(raw / "t10k-images-idx3-ubyte", rng.integers(0, 256, size=(2, 28, 28)))
    _write_idx(raw / "t10k-labels-idx1-ubyte", np.array([9, 2]))
    return tmp_path, train_images


def test_load_mnist_reads_idx_files_without_downloading(tiny_mnist):
    root, train_images = tiny_mnist
    X, y = images.load_mnist(root, train=True, download=False)
    assert X.shape == (5, 1, 28, 28) and X.dtype == torch.float32 and y.dtype == torch.int64
    assert y.tolist() == [3, 1, 4, 1, 5]
    torch.testing.assert_close(X[:, 0] * 255, torch.tensor(train_images, dtype=torch.float32))
    X_test, y_test = images.load_mnist(root, train=False, limit=1)
    assert X_test.shape == (1, 1, 28, 28) and y_test.tolist() == [9]


def test_load_mnist_missing_files_say_what_to_do(tmp_path):
    with pytest.raises(images.FullScaleDataMissing, match="download=True"):
        images.load_mnist(tmp_path / "nothing-here")


def test_default_root_can_be_overridden(monkeypatch, tiny_mnist):
    root, _ = tiny_mnist
    monkeypatch.setenv("COURSE_DOWNLOADS_DIR", str(root))
    assert images.download_root() == root
    assert images.load_mnist(limit=2)[0].shape == (2, 1, 28, 28)
    with pytest.raises(ValueError, match="limit"):
        images.load_mnist(limit=0)


@pytest.fixture
def tiny_cifar(tmp_path, monkeypatch):
    # torchvision checks the md5 sums of the real files; these tiny stand-ins only need to exist.
    import torchvision.datasets.cifar as cifar

    monkeypatch.setattr(cifar, "check_integrity", lambda path, md5=None: os.path.isfile(path))
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(1)
    first = None
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": rng.integers(0, 256, size=(2, 3072), dtype=np.uint8), "labels": [7, 2]}
        first = batch["data"][0] if first is None else first
        (folder / name).write_bytes(pickle.dumps(batch))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": list(images.CIFAR10_CLASSES)}))
    return tmp_path, first


def test_load_cifar10_reads_batches_without_downloading(tiny_cifar):
    root, first = tiny_cifar
    X, y = images.load_cifar10(root, train=True, download=False)
    assert X.shape == (10, 3, 32, 32) and X.dtype == torch.float32 and X.min() >= 0 and X.max() <= 1
    assert y.tolist() == [7, 2] * 5
    # CIFAR rows are stored channel by channel (1024 red, 1024 green, 1024 blue values)
    torch.testing.assert_close(X[0] * 255, torch.tensor(first.reshape(3, 32, 32), dtype=torch.float32))
    X_test, y_test = images.load_cifar10(root, train=False, limit=1)
    assert X_test.shape == (1, 3, 32, 32) and y_test.tolist() == [7]


def test_load_cifar10_missing_files_say_what_to_do(tmp_path):
    with pytest.raises(images.FullScaleDataMissing, match="CIFAR-10 is not in"):
        images.load_cifar10(tmp_path)
