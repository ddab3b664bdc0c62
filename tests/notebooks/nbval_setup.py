"""pytest plugin for the notebook runs (loaded with ``-p tests.notebooks.nbval_setup``).

* Strict or portable comparison (``tests/notebooks/portable.py``): a notebook recorded on this
  machine's fingerprint is compared exactly, cell by cell; on any other machine its kind-(b)
  cells (tagged ``float-path:...``) are compared within their tolerance or through their bar.
  The mode is reported in the header of the run.
* Student editions (``COURSE_EDITION=student``, the foreign pass of ``make test``): each solution
  cell runs as the student edition's stub (``course_utils.dev.student``), the check cell after it
  must say "not done yet" (and no check may judge a stub "not right yet"), and every other cell
  is compared as usual. So one pass proves both that the outputs are portable and that the
  student edition runs top to bottom.
* Memory: after a notebook's last cell, the kernel's peak resident memory must stay within the
  course's budget (Binder gives 2 GB); a notebook over it fails with the figure.
* Two fixes for nbval 0.11:
  - nbval executes cells with ``store_history=False``, so IPython ignores a trailing ``;`` and
    shows ``[<matplotlib.lines.Line2D at 0x...>]``: execute with history on.
  - nbval waits a fixed 5 s for each output after a cell's reply, which a busy 2-core runner
    can exceed: raise it to 60 s.
"""

from __future__ import annotations

import copy
import os

import pytest
from nbval.kernel import RunningKernel
from nbval.plugin import IPyNbCell, IPyNbFile

from course_utils.dev import student
from course_utils.dev.execute import peak_rss_mb
from course_utils.dev.settings import MEMORY_BUDGET_MB
from tests.notebooks import portable

OUTPUT_WAIT_SECONDS = 60
_modes: dict[str, str] = {}


def _execute_with_history(self, cell_input, allow_stdin=None):
    return self.kc.execute(cell_input, store_history=True, allow_stdin=allow_stdin, stop_on_error=False)


RunningKernel.execute_cell_input = _execute_with_history

_nbval_compare = IPyNbCell.compare_outputs


def _compare_outputs(self, test, ref, skip_compare=None):
    """nbval's exact comparison in strict mode; in portable mode, kind-(b) cells follow their tag and
    expect_close gaps are compared through their bar only."""
    role = getattr(self, "student_role", None)
    if role == "solution":  # the stub's outputs are not the solution's; it only has to run
        return True
    if role is not None:
        return _student_check(self, test, role)
    if not getattr(self, "portable", False):
        return _nbval_compare(self, test, ref, skip_compare)
    rule = getattr(self, "portable_rule", None)

    def sanitize(text):
        return portable.mask_gaps(self.sanitize(text))

    stored = portable.group_outputs(ref, sanitize)  # both already coalesced by nbval
    fresh = portable.group_outputs(test, sanitize)
    problem = portable.compare_grouped(stored, fresh, rule)
    how = rule.describe() if rule is not None else "exact"
    self.comparison_traceback = [] if problem is None else [f"portable comparison ({how}): {problem}"]
    return problem is None


IPyNbCell.compare_outputs = _compare_outputs


def _student_check(item, outputs, exercise: str) -> bool:
    text = "\n".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    problems = []
    if f"⏳ Exercise {exercise} is not done yet" not in text:
        problems.append(f"the check of exercise {exercise} did not say 'not done yet' for the stub")
    if "is not right yet" in text:
        problems.append("a check judged a stub as a wrong answer instead of 'not done yet'")
    item.comparison_traceback = [f"student edition: {p}; it printed: {text.strip()!r}" for p in problems]
    return not problems


def student_edition_mode() -> bool:
    """True when the notebooks run as their student editions (``COURSE_EDITION=student``)."""
    edition = os.environ.get("COURSE_EDITION", "teacher")
    if edition not in ("teacher", "student"):
        raise pytest.UsageError(f"COURSE_EDITION must be 'teacher' or 'student'; got {edition!r}.")
    return edition == "student"


def _as_student_edition(items) -> None:
    """Stub each solution cell and mark the check cell that follows it."""
    pending: dict[object, str] = {}  # notebook -> exercise whose check cell comes next
    for item in items:
        if not isinstance(item, IPyNbCell):
            continue
        notebook = item.parent
        if "solution" in item.cell.metadata.get("tags", []):
            exercise = item.cell.source.splitlines()[0].removeprefix("# Exercise ").strip()
            item.cell = copy.deepcopy(item.cell)
            item.cell.source = student.stub_source(item.cell.source)
            item.student_role = "solution"
            pending[notebook] = exercise
        elif notebook in pending:
            item.student_role = pending.pop(notebook)

_nbval_teardown = IPyNbFile.teardown


def _teardown_with_memory_check(self):
    kernel = getattr(self, "kernel", None)
    peak = None
    if kernel is not None and kernel.is_alive():
        peak = peak_rss_mb(kernel.km.provisioner.process.pid)
    _nbval_teardown(self)
    if peak is not None and peak > MEMORY_BUDGET_MB:
        raise AssertionError(
            f"{self.path.name}: the kernel peaked at {peak:.0f} MB; the budget is {MEMORY_BUDGET_MB:.0f} MB "
            "(Binder gives 2 GB)"
        )


IPyNbFile.teardown = _teardown_with_memory_check


def _here() -> dict:
    from course_utils.runtime import fingerprint

    return fingerprint()


def comparison_lines(config) -> list[str]:
    """How this run compares the notebooks' outputs, and why (printed at the start of the run)."""
    import json
    from pathlib import Path

    paths = [p for arg in config.args for p in ([Path(arg)] if arg.endswith(".ipynb") else Path(arg).glob("*.ipynb"))]
    here, forced = _here(), portable.forced_mode()
    recorded = {}
    for path in paths:
        fp = portable.recorded_fingerprint(json.loads(path.read_text(encoding="utf-8")))
        recorded.setdefault(json.dumps(fp, sort_keys=True), []).append(path.name[:2])
    lines = [f"this machine: {portable.describe_fingerprint(here)}"]
    if student_edition_mode():
        lines.append("notebooks run as their STUDENT EDITIONS: solution cells stubbed, checks must say 'not done yet'")
    for key, numbers in recorded.items():
        fp = json.loads(key)
        mode = portable.mode_for(fp, here, forced)
        why = "forced by COURSE_COMPARE" if forced != "auto" else (
            "recorded on this fingerprint" if mode == portable.STRICT else f"recorded on {portable.describe_fingerprint(fp)}")
        lines.append(f"notebook outputs compared {mode.upper()} ({why}): {' '.join(numbers)}")
    return lines


def pytest_sessionstart(session):
    config = session.config
    if not config.getoption("nbval", False) or hasattr(config, "workerinput"):  # once, in the main process
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    for line in comparison_lines(config):
        if reporter is not None:
            reporter.write_line(line)


def pytest_collection_modifyitems(session, config, items):
    here, forced = None, portable.forced_mode()
    for item in items:
        if not isinstance(item, IPyNbCell):
            continue
        item.output_timeout = OUTPUT_WAIT_SECONDS
        name = item.parent.path.name
        if name not in _modes:
            here = here or _here()
            _modes[name] = portable.mode_for(portable.recorded_fingerprint(item.parent.nb), here, forced)
        item.portable = _modes[name] == portable.PORTABLE
        if item.portable:
            item.portable_rule = portable.parse_rule(item.cell.metadata.get("tags", []))
    if student_edition_mode():
        _as_student_edition(items)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    portable.forced_mode()  # a wrong COURSE_COMPARE or COURSE_EDITION fails before anything runs
    student_edition_mode()
