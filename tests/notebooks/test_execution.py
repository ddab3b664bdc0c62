"""Student editions (marked slow; `make test` runs them after the nbval passes).

Each notebook's student edition (solutions stubbed) runs top to bottom without an error, and every
exercise check says "not done yet". (Reproducible outputs and the memory budget are checked by the
nbval passes themselves: see ``nbval_setup.py``.)
"""

from __future__ import annotations

import nbformat
import pytest

from course_utils.dev import execute, student
from tests.notebooks.nbfiles import notebook_paths

pytestmark = pytest.mark.slow

PATHS = notebook_paths()
IDS = [p.name for p in PATHS]


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
