"""Every dataset of the course, offline: bundled files, scikit-learn's sets, generated data."""

from course_utils.data.digits import (
    Split,
    digits_split,
    load_digits_tensors,
    make_loaders,
    stratified_indices,
)
from course_utils.data.files import (
    DatasetCorruptedError,
    DatasetMissingError,
    dataset_path,
    datasets_dir,
)

__all__ = [
    "DatasetCorruptedError",
    "DatasetMissingError",
    "Split",
    "dataset_path",
    "datasets_dir",
    "digits_split",
    "load_digits_tensors",
    "make_loaders",
    "stratified_indices",
]
