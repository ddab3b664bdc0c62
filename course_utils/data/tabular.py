"""The two bundled tables, animals and salaries: pandas in, tensors out, with the right dtypes.

Both files live in ``datasets/`` and are checksum-verified on every load (``dataset_path``).

* ``animals.csv``: 125 real animals, 16 numeric traits (0/1 flags and a leg count) and a
  class name in ``type`` (mammal, bird, reptile, fish, amphibian, insect, invertebrate).
* ``salaries.csv``: 3,000 synthetic data-science salaries (``datasets/make_salaries.py``),
  categorical columns as strings and the target ``salary_in_usd``.

Networks want ``float32`` inputs and, for classification, ``int64`` class indices:
``frame_to_tensors`` makes exactly those and refuses text columns with a message that says
to one-hot encode them first.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from course_utils.data.files import dataset_path

ANIMALS_FILE = "animals.csv"
SALARIES_FILE = "salaries.csv"

ANIMAL_TRAITS = [
    "hair", "feathers", "eggs", "milk", "airborne", "aquatic", "predator", "toothed", "backbone",
    "breathes", "venomous", "fins", "legs", "tail", "domestic", "catsize",
]
ANIMAL_CLASSES = ["amphibian", "bird", "fish", "insect", "invertebrate", "mammal", "reptile"]  # sorted

SALARY_CATEGORICAL = ["experience_level", "employment_type", "job_title", "company_size",
                      "employee_residence", "company_location"]
SALARY_NUMERIC = ["work_year", "remote_ratio"]
SALARY_TARGET = "salary_in_usd"


class TableFormatError(ValueError):
    """A table does not have the columns or values the course expects."""


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise TableFormatError(f"{what} is missing the column(s) {missing}; it has {list(frame.columns)}.")


def load_animals(folder: Path | None = None) -> pd.DataFrame:
    """The animals table: ``animal_name``, 16 integer traits and the class name ``type``."""
    frame = pd.read_csv(dataset_path(ANIMALS_FILE, folder))
    _require_columns(frame, ["animal_name", *ANIMAL_TRAITS, "type"], ANIMALS_FILE)
    unknown = sorted(set(frame["type"]) - set(ANIMAL_CLASSES))
    if unknown:
        raise TableFormatError(f"{ANIMALS_FILE} has unknown classes {unknown}; expected {ANIMAL_CLASSES}.")
    frame[ANIMAL_TRAITS] = frame[ANIMAL_TRAITS].astype("int64")
    return frame


def load_salaries(folder: Path | None = None) -> pd.DataFrame:
    """The salary table, one row per person; ``company_size`` has a few missing values (NaN)."""
    frame = pd.read_csv(dataset_path(SALARIES_FILE, folder))
    _require_columns(frame, [*SALARY_NUMERIC, *SALARY_CATEGORICAL, SALARY_TARGET], SALARIES_FILE)
    return frame


def frame_to_tensors(
    frame: pd.DataFrame, features: Sequence[str], target: str, *, classification: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Feature columns as a float32 tensor (N, F) and the target as int64 (N,) or float32 (N, 1).

    Classification targets must already be integer class indices; regression targets become a
    column (N, 1), the shape of a one-output network.
    """
    _require_columns(frame, [*features, target], "the table")
    values = frame.loc[:, list(features)]
    text = [c for c in values.columns if not (pd.api.types.is_numeric_dtype(values[c])
                                              or pd.api.types.is_bool_dtype(values[c]))]
    if text:
        raise TableFormatError(
            f"column(s) {text} hold text, and a network needs numbers: one-hot encode them first "
            "(pd.get_dummies) or map them to numbers."
        )
    if values.isna().any().any():
        raise TableFormatError(
            f"column(s) {list(values.columns[values.isna().any()])} have missing values: fill them first "
            "(with statistics of the TRAINING rows only)."
        )
    X = torch.tensor(values.to_numpy(dtype=np.float32), dtype=torch.float32)
    y_values = frame[target]
    if classification:
        if not pd.api.types.is_integer_dtype(y_values):
            raise TableFormatError(
                f"classification targets must be integer class indices; {target!r} has dtype {y_values.dtype}. "
                "Map the class names to 0..K-1 first."
            )
        y = torch.tensor(y_values.to_numpy(), dtype=torch.int64)
    else:
        y = torch.tensor(y_values.to_numpy(dtype=np.float32), dtype=torch.float32).reshape(-1, 1)
    return X, y


def animals_tensors(folder: Path | None = None) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Animals as ``X`` float32 (N, 16), ``y`` int64 class indices (N,) and the class names.

    Class ``i`` is ``ANIMAL_CLASSES[i]`` (alphabetical, like sklearn's ``LabelEncoder``).
    """
    frame = load_animals(folder)
    frame = frame.assign(label=frame["type"].map({name: i for i, name in enumerate(ANIMAL_CLASSES)}))
    X, y = frame_to_tensors(frame, ANIMAL_TRAITS, "label", classification=True)
    return X, y, list(ANIMAL_CLASSES)
