import hashlib

import pytest
import torch

from course_utils import data
from course_utils.data import files


def test_digits_tensors_have_the_documented_form():
    X, y = data.load_digits_tensors()
    assert X.shape == (1797, 64) and X.dtype == torch.float32
    assert y.dtype == torch.int64 and set(y.tolist()) == set(range(10))
    assert X.min() >= 0.0 and X.max() <= 1.0
    images, _ = data.load_digits_tensors(as_images=True)
    assert images.shape == (1797, 1, 8, 8)


def test_split_is_fixed_stratified_and_disjoint():
    a = data.digits_split(test_fraction=0.2, val_fraction=0.1, seed=0)
    b = data.digits_split(test_fraction=0.2, val_fraction=0.1, seed=0)
    assert torch.equal(a.X_test, b.X_test)
    assert sum(a.sizes()) == 1797
    assert abs(a.sizes()[2] - 0.2 * 1797) < 12
    counts = torch.bincount(a.y_test, minlength=10)
    assert counts.min() >= 34  # every class is represented about equally
    c = data.digits_split(seed=1)
    assert not torch.equal(a.X_test[:10], c.X_test[:10])


def test_bad_split_fractions():
    with pytest.raises(ValueError, match="test_fraction must be in"):
        data.digits_split(test_fraction=0.7, val_fraction=0.4)


def test_loaders_shuffle_reproducibly():
    split = data.digits_split()
    first = next(iter(data.make_loaders(split, batch_size=8, seed=1)[0]))[1]
    again = next(iter(data.make_loaders(split, batch_size=8, seed=1)[0]))[1]
    assert torch.equal(first, again)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        data.make_loaders(split, batch_size=0)


def _make_folder(tmp_path, content=b"a,b\n1,2\n"):
    (tmp_path / "toy.csv").write_bytes(content)
    (tmp_path / "SHA256SUMS").write_text(f"{hashlib.sha256(content).hexdigest()}  toy.csv\n")
    return tmp_path


def test_checksummed_file_loads(tmp_path):
    folder = _make_folder(tmp_path)
    assert files.dataset_path("toy.csv", folder) == folder / "toy.csv"


def test_missing_file_names_the_file_and_the_fix(tmp_path):
    folder = _make_folder(tmp_path)
    (folder / "toy.csv").unlink()
    with pytest.raises(data.DatasetMissingError, match=r"datasets/toy.csv is missing.*git checkout -- datasets/toy.csv"):
        files.dataset_path("toy.csv", folder)


def test_corrupted_file_is_caught(tmp_path):
    folder = _make_folder(tmp_path)
    (folder / "toy.csv").write_bytes(b"a,b\n1,3\n")
    with pytest.raises(data.DatasetCorruptedError, match="does not match its checksum"):
        files.dataset_path("toy.csv", folder)


def test_unlisted_file_and_missing_checksum_file(tmp_path):
    folder = _make_folder(tmp_path)
    (folder / "other.csv").write_text("x")
    with pytest.raises(data.DatasetCorruptedError, match="has no entry"):
        files.dataset_path("other.csv", folder)
    (folder / "SHA256SUMS").unlink()
    with pytest.raises(data.DatasetMissingError, match="SHA256SUMS is missing"):
        files.dataset_path("toy.csv", folder)


def test_bundled_checksums_match():
    folder = files.datasets_dir()
    for name in files.read_checksums(folder):
        files.dataset_path(name)
