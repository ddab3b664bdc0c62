"""Policy test: every notebook follows the course's conventions (read as JSON, nothing executed)."""

from __future__ import annotations

import json
import re

import pytest

from tests.notebooks import portable
from tests.notebooks.nbfiles import CORE, NAME, code_cells, load, notebook_paths, source, tags

PATHS = notebook_paths()
IDS = [p.name for p in PATHS]
ABSOLUTE_PATH = re.compile(r"(/home/|/root/|/tmp/|/work/|/Users/|[A-Z]:\\\\Users)")
ADDRESS = re.compile(r" at 0x[0-9a-fA-F]{6,}")
ALLOWED_CELL_METADATA = {"tags", "jupyter", "editable", "deletable"}


def test_there_are_notebooks():
    assert PATHS, "notebooks/ holds no notebooks"
    assert PATHS[0].name == "00_welcome.ipynb"


def test_numbers_are_unique_and_core_order_holds():
    numbers = []
    for path in PATHS:
        match = NAME.match(path.name)
        assert match, f"{path.name}: names are NN_topic.ipynb (two digits, lower-case topic)"
        numbers.append(match.group(1))
        if match.group(1) in CORE:
            assert CORE[match.group(1)] in path.stem, f"{path.name}: notebook {match.group(1)} is about {CORE[match.group(1)]}"
    assert len(numbers) == len(set(numbers)), f"duplicate notebook numbers: {numbers}"


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_title_cell(path):
    nb = load(path)
    first = nb["cells"][0]
    number = path.name[:2]
    text = source(first)
    assert first["cell_type"] == "markdown", "the first cell is the title (markdown)"
    assert text.startswith(f"# {number}"), f"the title starts with '# {number}'"
    assert "mybinder.org" in text, "the title cell carries the Binder badge"
    assert re.search(r"\d+ min", text), "the title cell says how many minutes the notebook takes"


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_setup_cell_first(path):
    first_code = source(code_cells(load(path))[0])
    assert "from course_utils import setup" in first_code and "setup(seed=" in first_code, (
        "the first code cell imports course_utils.setup and calls setup(seed=...)"
    )


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_executed_in_order_in_one_fresh_kernel(path):
    counts = [c.get("execution_count") for c in code_cells(load(path))]
    assert None not in counts, "some code cells were never executed: run the whole notebook"
    assert counts == list(range(1, len(counts) + 1)), f"execution counts are {counts}: restart and run all"


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_outputs_are_clean(path):
    nb = load(path)
    images = streams = 0
    for number, cell in enumerate(code_cells(nb)):
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", f"code cell {number} stored an error ({output.get('ename')})"
            text = json.dumps(output.get("text", "")) + json.dumps(
                {k: v for k, v in output.get("data", {}).items() if not k.startswith("image/")}
            )
            assert not ADDRESS.search(text), f"code cell {number} shows a memory address: end the line with ';'"
            assert not ABSOLUTE_PATH.search(text), f"code cell {number} output shows an absolute path"
            images += "image/png" in output.get("data", {})
            streams += output["output_type"] == "stream"
    assert images >= 1, "a notebook shows at least one picture"
    assert streams >= 1, "a notebook prints something it checks"


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_sources_are_portable_and_safe(path):
    for number, cell in enumerate(code_cells(load(path))):
        text = source(cell)
        assert not ABSOLUTE_PATH.search(text), f"code cell {number} uses an absolute path"
        assert "sys.path" not in text, f"code cell {number}: import course_utils as an installed package"
        assert not re.search(r"^\s*[!%]pip ", text, re.M), f"code cell {number} installs packages"
        for call in re.findall(r"torch\.load\([^)]*\)", text):
            assert "weights_only=True" in call, f"code cell {number}: torch.load needs weights_only=True"
        assert not re.search(r"(^|[^.\w])(eval|exec)\(", text), f"code cell {number} uses eval/exec"
        assert "pickle.load" not in text, f"code cell {number} unpickles data"


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_metadata_is_normalised(path):
    nb = load(path)
    assert "widgets" not in nb["metadata"], "saved widget state: run `make execute` (it strips it)"
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3"
    for cell in nb["cells"]:
        extra = set(cell.get("metadata", {})) - ALLOWED_CELL_METADATA
        assert not extra, f"volatile cell metadata {extra}: run `make execute`"


@pytest.mark.parametrize("path", [p for p in PATHS if p.name[:2] != "00"], ids=[i for i in IDS if i[:2] != "00"])
def test_exercises_and_quiz(path):
    nb = load(path)
    number = path.name[:2]
    solutions = [c for c in nb["cells"] if "solution" in tags(c)]
    ids = []
    for cell in solutions:
        first = source(cell).splitlines()[0]
        assert re.fullmatch(rf"# Exercise {number}\.\d+", first), (
            f"a solution cell starts with '# Exercise {number}.M'; found {first!r}"
        )
        assert cell.get("metadata", {}).get("jupyter", {}).get("source_hidden"), "solution cells are collapsed"
        ids.append(first.split()[-1])
    assert len(ids) >= 3, f"at least three exercises; found {ids}"
    assert len(ids) == len(set(ids)), f"duplicate exercise ids {ids}"
    cells = code_cells(nb)
    for position, cell in enumerate(cells):
        if "solution" in tags(cell):
            ex = source(cell).splitlines()[0].split()[-1]
            call = f"ex{number}.check_{ex.split('.')[1]}("
            following = source(cells[position + 1]) if position + 1 < len(cells) else ""
            assert call in following, f"exercise {ex}: the code cell right after it must call {call}...)"
    all_code = "\n".join(source(c) for c in cells)
    assert "show_quiz(" in all_code, "the notebook ends with a self-check quiz"
    assert re.search(r"\bchecks\.expect_(at_least|at_most|close)\(", all_code), (
        "a topic notebook asserts what it teaches with at least one checks.expect_* call"
    )


# --------------------------------------------------------------------------- portable comparison

NBVAL_MARKERS = ("NBVAL_IGNORE_OUTPUT", "NBVAL_SKIP", "nbval-ignore-output", "nbval-skip", "PYTEST_VALIDATE_IGNORE_OUTPUT")


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_fingerprint_of_the_recording_machine_is_stored(path):
    recorded = portable.recorded_fingerprint(load(path))
    assert recorded is not None, "no metadata.course.fingerprint: execute the notebook with `make execute NB=...`"
    missing = set(portable.FINGERPRINT_FIELDS) - set(recorded)
    assert not missing, f"the stored fingerprint lacks {sorted(missing)}: execute the notebook again with `make execute`"


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_float_path_cells_carry_a_tolerance_or_a_bar(path):
    for number, cell in enumerate(code_cells(load(path))):
        rule = portable.parse_rule(tags(cell))  # raises RuleError, naming the tag, when it cannot be read
        if rule is not None and rule.bar:
            assert re.search(r"\bexpect_(at_least|at_most|close)\(", source(cell)), (
                f"code cell {number} is tagged float-path:bar, so its output is not compared on other machines; "
                "it must assert its outcome with checks.expect_at_least/_at_most/_close in the same cell"
            )


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_no_output_is_exempted_from_comparison(path):
    for number, cell in enumerate(code_cells(load(path))):
        lines = [line.lstrip("#").strip() for line in source(cell).splitlines()]
        used = [m for m in NBVAL_MARKERS if m in tags(cell) or m in lines]
        assert not used, (
            f"code cell {number} uses {used}: outputs that depend on the machine are tagged float-path:... "
            "(see tests/notebooks/portable.py); nothing else is exempted"
        )


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_prose_quotes_no_machine_dependent_number(path):
    """A number printed by a kind-(b) cell changes on another machine, so the text must not quote it."""
    nb = load(path)
    printed: dict[float, int] = {}
    for number, cell in enumerate(code_cells(nb)):
        if portable.parse_rule(tags(cell)) is None:
            continue
        for texts in portable.group_outputs(cell.get("outputs", [])).values():
            for text in texts:
                for value in portable.numbers_in(text):
                    printed.setdefault(value, number)
    quoted = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        for value in portable.numbers_in(source(cell)):
            for candidate in (value, value / 100):  # "98.05 %" quotes a printed 0.9805
                if candidate in printed:
                    quoted.append(f"{value:g} (printed by code cell {printed[candidate]})")
    assert not quoted, (
        "markdown quotes figures that another machine prints differently: "
        + ", ".join(quoted) + ". Round them in words ('about 98 %', 'above 0.9') instead"
    )
