import json
import math

import pytest
import torch

from course_utils import checks, outcomes


def line(capsys) -> str:
    return capsys.readouterr().out.strip()


def test_right_tensor_passes(capsys):
    checks.check_tensor("01.1", torch.ones(2, 3), torch.ones(2, 3))
    assert line(capsys) == "✅ Exercise 01.1 passed: shape, dtype and values match."


@pytest.mark.parametrize(
    ("answer", "expected", "words"),
    [
        (torch.ones(3, 2), torch.ones(2, 3), "rows and columns are swapped"),
        (torch.ones(6), torch.ones(2, 3), "reshape/view"),
        (torch.ones(1, 2, 3), torch.ones(2, 3), "size-1 dimensions"),
        (torch.ones(2, 4), torch.ones(2, 3), "off by one"),
        (torch.ones(2, 3, dtype=torch.int64), torch.ones(2, 3), "use .float()"),
        (torch.arange(5.0).roll(1), torch.arange(5.0), "shifted by one"),
        (-torch.arange(1.0, 4.0), torch.arange(1.0, 4.0), "wrong sign"),
        ([[1.0, 2.0]], torch.tensor([[1.0, 2.0]]), "torch.tensor"),
        (torch.tensor([float("nan"), 1.0]), torch.tensor([0.0, 1.0]), "NaN"),
    ],
)
def test_wrong_tensor_gets_a_pointed_hint(capsys, answer, expected, words):
    checks.check_tensor("01.2", answer, expected)
    out = line(capsys)
    assert out.startswith("❌ Exercise 01.2 is not right yet:")
    assert words in out


def test_placeholder_is_not_done(capsys):
    checks.check_tensor("01.3", ..., torch.ones(1))
    assert line(capsys).startswith("⏳ Exercise 01.3 is not done yet: replace the `...`")


def test_check_value_numbers_strings_and_shapes(capsys):
    checks.check_value("02.1", 42, 42)
    assert "passed" in line(capsys)
    checks.check_value("02.1", 41, 42, hint="count the biases too")
    out = line(capsys)
    assert "not right yet" in out and "count the biases too" in out
    checks.check_value("02.2", torch.Size([3, 2]), torch.Size([2, 3]))
    assert "swapped" in line(capsys)
    checks.check_value("02.3", "mean", 3.0)
    assert "expected a number" in line(capsys)


def test_check_function_reports_errors_as_sentences(capsys):
    def broken(x):
        return x.shape[5]

    checks.check_function("03.1", broken, [((torch.ones(2),), torch.ones(2))])
    assert "raised IndexError" in line(capsys)

    def unfinished(x):
        raise NotImplementedError

    checks.check_function("03.1", unfinished, [((torch.ones(2),), torch.ones(2))])
    assert "not done yet" in line(capsys)

    checks.check_function("03.1", torch.relu, [((torch.tensor([-1.0, 2.0]),), torch.tensor([0.0, 2.0]))])
    assert "passed" in line(capsys)


def test_check_condition(capsys):
    checks.check_condition("04.1", 0.5, lambda v: v > 0.9, success="high enough", failure="too low", hint="train longer")
    out = line(capsys)
    assert "too low" in out and "train longer" in out


def test_bad_exercise_id():
    with pytest.raises(ValueError, match="exercise ids look like '01.2'"):
        checks.check_value("one", 1, 1)


def test_outcome_bars_raise_and_record(capsys, tmp_path, monkeypatch):
    log = tmp_path / "outcomes.jsonl"
    monkeypatch.setenv("COURSE_OUTCOMES_FILE", str(log))
    checks.expect_at_least("test accuracy", 0.99, 0.98)
    assert line(capsys) == "✅ test accuracy = 0.9900 (bar: ≥ 0.98)"
    with pytest.raises(checks.OutcomeNotReached, match="test accuracy = 0.9000, but the bar is ≥ 0.98"):
        checks.expect_at_least("test accuracy", 0.90, 0.98)
    with pytest.raises(checks.OutcomeNotReached):
        checks.expect_at_most("loss", 2.0, 1.0)
    checks.expect_close("conv", torch.ones(2), torch.ones(2) + 1e-7)
    with pytest.raises(checks.OutcomeNotReached, match="shapes differ"):
        checks.expect_close("conv", torch.ones(2), torch.ones(3))
    records = [json.loads(x) for x in log.read_text().splitlines()]
    assert [r["name"] for r in records] == ["test accuracy", "test accuracy", "loss", "conv"]
    assert outcomes.recorded()[-1]["name"] == "conv"


def test_outcome_rejects_nan():
    with pytest.raises(ValueError, match="only finite numbers"):
        outcomes.record("loss", float("nan"))


def _notebook(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nb = {"cells": [
        {"cell_type": "code", "metadata": {"tags": ["solution"]}, "source": "# Exercise 07.1\nx = 1\n"},
        {"cell_type": "code", "metadata": {}, "source": "checks.check_value('07.1', x, 1)"},
        {"cell_type": "code", "metadata": {"tags": ["solution"]}, "source": ["# Exercise 07.2\n", "y = 2\n"]},
    ]}
    (folder / "07_init.ipynb").write_text(json.dumps(nb))
    return folder


def test_solution_lookup(tmp_path):
    folder = _notebook(tmp_path)
    assert checks.solution_source("07.2", folder) == "# Exercise 07.2\ny = 2\n"
    assert checks.exercises_in(folder / "07_init.ipynb") == ["07.1", "07.2"]
    with pytest.raises(LookupError, match="No solution cell for exercise 07.9"):
        checks.solution_source("07.9", folder)


def test_progress_lists_statuses(capsys):
    checks.check_value("98.1", 1, 1)
    checks.check_value("98.2", 1, 2)
    rows = checks.progress("98")
    assert rows == [("98.1", "passed"), ("98.2", "failed")]
    assert "Exercises passed: 1 of 2" in capsys.readouterr().out


def test_hint_repeats_the_last_hint(capsys):
    checks.check_tensor("99.1", torch.ones(3, 2), torch.ones(2, 3))
    capsys.readouterr()
    checks.hint("99.1")
    assert "swapped" in line(capsys)


def test_the_notebooks_folder_is_found_from_the_working_folder_or_the_variable(tmp_path, monkeypatch):
    folder = tmp_path / "course"
    folder.mkdir()
    (folder / "07_demo.ipynb").write_text('{"cells": []}')
    monkeypatch.chdir(folder)
    assert checks._notebooks_dir() == folder
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("COURSE_NOTEBOOKS", str(folder))
    assert checks._notebooks_dir() == folder


def test_a_copy_without_notebooks_gets_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COURSE_NOTEBOOKS", raising=False)
    monkeypatch.setattr(checks, "__file__", str(tmp_path / "pkg" / "checks.py"))
    with pytest.raises(LookupError, match="COURSE_NOTEBOOKS"):
        checks._notebooks_dir()


def test_reporting_helpers_return_nothing_so_a_cell_shows_only_the_sentence(capsys):
    assert checks.passed("01.1", "fine.") is None
    assert checks.failed("01.1", "wrong.", "look again.") is None
    assert checks.not_done("01.1") is None
    out = capsys.readouterr().out
    assert "✅ Exercise 01.1 passed: fine." in out and "Hint: look again." in out and "not done yet" in out


def test_diagnose_tensor_counts_a_finite_value_where_minus_inf_is_expected():
    expected = torch.tensor([0.5, -math.inf, -math.inf, 1.0])
    got = torch.tensor([0.5, -math.inf, -3.0, 1.0])
    problem, _ = checks.diagnose_tensor(got, expected)
    assert "1 of 4 values differ" in problem and "index (2,)" in problem
