"""tabular: the two bundled CSVs, checksum-verified, as DataFrames and tensors with the right dtypes."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from course_utils.data import files, tabular

ROOT = Path(__file__).resolve().parents[2]


def write_dataset(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")
    digest = hashlib.sha256(text.encode()).hexdigest()
    with open(folder / "SHA256SUMS", "a", encoding="utf-8") as sums:
        sums.write(f"{digest}  {name}\n")


def test_bundled_animals_table():
    animals = tabular.load_animals()
    assert len(animals) >= 80 and animals["animal_name"].is_unique
    assert list(animals.columns) == ["animal_name", *tabular.ANIMAL_TRAITS, "type"]
    assert set(animals["type"]) == set(tabular.ANIMAL_CLASSES)
    flags = [c for c in tabular.ANIMAL_TRAITS if c != "legs"]
    assert animals[flags].isin([0, 1]).all().all()
    # facts that define the classes hold in every row
    assert (animals["milk"] == (animals["type"] == "mammal")).all()
    assert (animals["feathers"] == (animals["type"] == "bird")).all()
    assert (animals.loc[animals["type"] == "insect", "legs"] == 6).all()
    assert (animals.loc[animals["type"].isin(["insect", "invertebrate"]), "backbone"] == 0).all()
    # no two animals of different classes share all traits
    groups = animals.groupby(tabular.ANIMAL_TRAITS)["type"].nunique()
    assert (groups == 1).all()


def test_animals_tensors_dtypes_and_mapping():
    X, y, names = tabular.animals_tensors()
    assert X.dtype == torch.float32 and X.shape == (len(y), 16)
    assert y.dtype == torch.int64 and names == sorted(names)
    animals = tabular.load_animals()
    aardvark = animals.index[animals["animal_name"] == "aardvark"][0]
    assert names[y[aardvark]] == "mammal"


def test_bundled_salaries_table():
    salaries = tabular.load_salaries()
    assert salaries.shape == (3000, 9)
    assert salaries["experience_level"].isin(["EN", "MI", "SE", "EX"]).all()
    assert salaries["employment_type"].isin(["FT", "PT", "CT", "FL"]).all()
    assert salaries["remote_ratio"].isin([0, 50, 100]).all()
    assert salaries["company_size"].isna().sum() == 46
    assert salaries["company_size"].dropna().isin(["S", "M", "L"]).all()
    assert salaries["salary_in_usd"].dtype.kind == "i" and salaries["salary_in_usd"].min() > 0
    medians = salaries.groupby("experience_level")["salary_in_usd"].median()
    assert medians["EN"] < medians["MI"] < medians["SE"] < medians["EX"]


def test_generator_reproduces_the_bundled_file():
    result = subprocess.run([sys.executable, str(ROOT / "datasets" / "make_salaries.py"), "--check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "matches" in result.stdout


def test_frame_to_tensors_dtypes():
    frame = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5], "flag": [True, False], "label": [0, 2], "price": [10, 20]})
    X, y = tabular.frame_to_tensors(frame, ["a", "b", "flag"], "label", classification=True)
    assert X.dtype == torch.float32 and X.tolist() == [[1.0, 0.5, 1.0], [2.0, 1.5, 0.0]]
    assert y.dtype == torch.int64 and y.shape == (2,)
    X, y = tabular.frame_to_tensors(frame, ["a"], "price", classification=False)
    assert y.dtype == torch.float32 and y.shape == (2, 1)


@pytest.mark.parametrize(
    "frame, features, target, classification, message",
    [
        (pd.DataFrame({"job": ["x", "y"], "t": [1, 2]}), ["job"], "t", False, "one-hot encode"),
        (pd.DataFrame({"a": [1.0, None], "t": [1, 2]}), ["a"], "t", False, "missing values"),
        (pd.DataFrame({"a": [1, 2], "t": ["cat", "dog"]}), ["a"], "t", True, "integer class indices"),
        (pd.DataFrame({"a": [1, 2]}), ["a"], "t", True, "missing the column"),
    ],
)
def test_frame_to_tensors_errors(frame, features, target, classification, message):
    with pytest.raises(tabular.TableFormatError, match=message):
        tabular.frame_to_tensors(frame, features, target, classification=classification)


def test_loaders_read_small_files_from_another_folder(tmp_path):
    header = "animal_name," + ",".join(tabular.ANIMAL_TRAITS) + ",type\n"
    write_dataset(tmp_path, "animals.csv", header + "cat," + ",".join(["1"] * 16) + ",mammal\n")
    X, y, names = tabular.animals_tensors(tmp_path)
    assert X.shape == (1, 16) and names[y[0]] == "mammal"
    write_dataset(tmp_path, "salaries.csv", "work_year,experience_level,employment_type,job_title,company_size,"
                  "remote_ratio,employee_residence,company_location,salary_in_usd\n"
                  "2024,SE,FT,Data Scientist,,0,US,US,150000\n")
    frame = tabular.load_salaries(tmp_path)
    assert frame["company_size"].isna().all() and frame["salary_in_usd"].tolist() == [150000]


def test_unknown_class_and_changed_file_are_refused(tmp_path):
    header = "animal_name," + ",".join(tabular.ANIMAL_TRAITS) + ",type\n"
    write_dataset(tmp_path, "animals.csv", header + "robot," + ",".join(["0"] * 16) + ",machine\n")
    with pytest.raises(tabular.TableFormatError, match="unknown classes \\['machine'\\]"):
        tabular.load_animals(tmp_path)
    (tmp_path / "animals.csv").write_text("changed", encoding="utf-8")
    with pytest.raises(files.DatasetCorruptedError, match="does not match its checksum"):
        tabular.load_animals(tmp_path)
