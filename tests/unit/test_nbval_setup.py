"""The nbval plugin's student-edition rule: a stubbed exercise's check must say "not done yet"."""

import pytest

from tests.notebooks import nbval_setup


class FakeItem:
    comparison_traceback: list[str] = []


def stream(text):
    return {"output_type": "stream", "name": "stdout", "text": text}


def test_not_done_passes_and_anything_else_fails():
    item = FakeItem()
    assert nbval_setup._student_check(item, [stream("⏳ Exercise 03.2 is not done yet: replace the ...")], "03.2")
    assert not nbval_setup._student_check(item, [stream("✅ Exercise 03.2 passed: ...")], "03.2")
    assert "did not say 'not done yet'" in item.comparison_traceback[0]
    judged = [stream("⏳ Exercise 03.2 is not done yet\n❌ Exercise 03.3 is not right yet: ...")]
    assert not nbval_setup._student_check(item, judged, "03.2")
    assert "judged a stub" in item.comparison_traceback[0]


def test_edition_variable_is_validated(monkeypatch):
    monkeypatch.setenv("COURSE_EDITION", "student")
    assert nbval_setup.student_edition_mode()
    monkeypatch.delenv("COURSE_EDITION")
    assert not nbval_setup.student_edition_mode()
    monkeypatch.setenv("COURSE_EDITION", "teachers")
    with pytest.raises(pytest.UsageError, match="teacher' or 'student"):
        nbval_setup.student_edition_mode()
