"""Whole-notebook runs (marked slow; `make test` runs them after nbval).

* Reproducible outputs and memory: each notebook is executed once more in a fresh
  kernel (nbval's run is the other fresh execution) and its checked outputs, after the
  same sanitising nbval uses, must equal the stored ones; a difference names the cell.
  The kernel's peak resident memory must stay under the Binder-safe budget.
* Student editions: each notebook's student edition (solutions stubbed) runs top to
  bottom without an error, and every exercise check says "not done yet".
"""

from __future__ import annotations

import re

import nbformat
import pytest

from course_utils.dev import execute, student
from tests.notebooks.nbfiles import ROOT, notebook_paths

pytestmark = pytest.mark.slow

PATHS = notebook_paths()
IDS = [p.name for p in PATHS]
MEMORY_BUDGET_MB = 1500
SANITIZE_FILE = ROOT / "tests" / "notebooks" / "sanitize.cfg"
SKIPPED_KEYS = ("image/", "application/vnd.jupyter.widget-view+json")


def sanitizers() -> list[tuple[str, str]]:
    """The (regex, replacement) pairs of nbval's sanitize file, parsed the way nbval 0.11 does."""
    return re.findall(r"^regex: (.*)$\n^replace: (.*)$", SANITIZE_FILE.read_text(encoding="utf-8"), re.MULTILINE)


def _clean(text: str, rules: list[tuple[str, str]]) -> str:
    for regex, replacement in rules:
        text = re.sub(regex, replacement, text)
    return text


def _ignored(cell) -> bool:
    tags = cell.get("metadata", {}).get("tags", [])
    lines = [line.lstrip("#").strip() for line in cell.source.splitlines()]
    return "nbval-ignore-output" in tags or "NBVAL_IGNORE_OUTPUT" in lines or "nbval-skip" in tags


def checked_outputs(cell, rules) -> dict[str, list[str]]:
    """A cell's outputs as nbval compares them: grouped by key, images and widget ids left out."""
    grouped: dict[str, list[str]] = {}
    for output in cell.get("outputs", []):
        kind = output["output_type"]
        if kind == "stream":
            grouped.setdefault(output["name"], [""])[0] += output["text"]
        elif kind == "error":
            grouped.setdefault("error", []).append(f"{output['ename']}: {output['evalue']}")
        else:
            for key, value in output.get("data", {}).items():
                if not key.startswith(SKIPPED_KEYS):
                    grouped.setdefault(key, []).append(value if isinstance(value, str) else "".join(value))
    return {key: [_clean(v, rules) for v in values] for key, values in grouped.items()}


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_fresh_run_reproduces_stored_outputs_within_memory_budget(path):
    stored = nbformat.read(str(path), as_version=4)
    fresh = nbformat.read(str(path), as_version=4)
    stats = execute.run(fresh, path.parent)
    rules = sanitizers()
    for number, (old, new) in enumerate(zip(stored.cells, fresh.cells, strict=True)):
        if old.cell_type != "code" or _ignored(old):
            continue
        before, after = checked_outputs(old, rules), checked_outputs(new, rules)
        assert after == before, (
            f"{path.name}, code cell starting {old.source.splitlines()[:1]} (cell {number}) printed something "
            f"else on a fresh run:\nstored: {before}\nfresh:  {after}"
        )
    assert stats.peak_rss_mb <= MEMORY_BUDGET_MB, (
        f"{path.name}: the kernel peaked at {stats.peak_rss_mb:.0f} MB; the budget is {MEMORY_BUDGET_MB} MB "
        "(Binder gives 2 GB)"
    )


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_student_edition_runs_and_reports_not_done(path, tmp_path):
    edition = student.student_edition(nbformat.read(str(path), as_version=4))
    exercises = [
        c.source.splitlines()[0].removeprefix("# Exercise ").strip()
        for c in edition.cells
        if "exercise" in c.metadata.get("tags", [])
    ]
    execute.run(edition, path.parent)  # raises CellExecutionError, naming the cell, on any error
    text = "\n".join(
        o.get("text", "") for c in edition.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "stream"
    )
    for exercise in exercises:
        assert f"⏳ Exercise {exercise} is not done yet" in text, f"exercise {exercise}'s check did not say 'not done'"
    assert "is not right yet" not in text, "a check judged a stub as a wrong answer instead of 'not done yet'"
