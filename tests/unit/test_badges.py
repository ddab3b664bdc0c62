"""Every Binder badge opens its own notebook on the one configured repository."""

from __future__ import annotations

from course_utils.dev import badges
from course_utils.dev.settings import PUBLIC_REF, PUBLIC_REPOSITORY


def test_every_badge_agrees_with_the_setting():
    assert badges.problems() == []


def test_rewrite_points_every_badge_at_a_new_home_and_keeps_its_notebook():
    text = ("[![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/OWNER/dl-pytorch-course/main"
            "?urlpath=lab/tree/notebooks/06_training_loops.ipynb) and the same for "
            "(https://mybinder.org/v2/gh/a/b/dev?urlpath=lab/tree/notebooks/00_welcome.ipynb)")
    moved = badges.rewrite(text, "teacher/dl-course", "spring-2027")
    assert moved.count("https://mybinder.org/v2/gh/teacher/dl-course/spring-2027?urlpath=lab/tree/notebooks/") == 2
    assert "06_training_loops.ipynb" in moved and "00_welcome.ipynb" in moved and "OWNER" not in moved
    assert badges.rewrite(moved, PUBLIC_REPOSITORY, PUBLIC_REF) == badges.rewrite(text)


def test_a_badge_that_points_elsewhere_is_reported(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "README.md").write_text("https://mybinder.org/v2/gh/someone/else/main?urlpath=lab/tree/notebooks/00_welcome.ipynb")
    found = badges.problems(tmp_path)
    assert any("00_welcome" in line for line in found) and any("someone/else" in line for line in found)
