"""The student edition turns solutions into stubs that the checks report as "not done yet"."""

import nbformat
import pytest

from course_utils.dev import student

SOLUTION = '''# Exercise 03.2
# Scale the logits before the softmax.
import torch
scaled: torch.Tensor = logits / 2.0
a, b = 1, 2


@torch.no_grad()
def stable_softmax(x, dim=-1):
    """Softmax that does not overflow."""
    shifted = x - x.max(dim=dim, keepdim=True).values
    return shifted.exp() / shifted.exp().sum(dim=dim, keepdim=True)
'''


def test_stub_keeps_names_and_comments_but_drops_the_answer():
    stub = student.stub_source(SOLUTION)
    assert stub.splitlines()[0] == "# Exercise 03.2"
    assert "# Scale the logits before the softmax." in stub
    assert "scaled: torch.Tensor = ..." in stub
    assert "a, b = ..." in stub
    assert "def stable_softmax(x, dim=-1):" in stub and "@torch.no_grad()" in stub
    assert '"""Softmax that does not overflow."""' in stub
    assert 'raise NotImplementedError("Exercise 03.2: write this function")' in stub
    assert "shifted" not in stub and "/ 2.0" not in stub
    compile(stub, "stub", "exec")


def test_stub_rejects_other_statements():
    with pytest.raises(student.SolutionCellError, match="only comments, imports, assignments"):
        student.stub_source("# Exercise 01.1\nfor i in range(3):\n    x = i\n")
    with pytest.raises(student.SolutionCellError, match="must start with '# Exercise NN.M'"):
        student.stub_source("x = 1\n")


def test_edition_clears_outputs_and_untags_solutions(tmp_path):
    nb = nbformat.v4.new_notebook()
    solution = nbformat.v4.new_code_cell("# Exercise 01.1\nx = 1")
    solution.metadata["tags"] = ["solution"]
    solution.metadata["jupyter"] = {"source_hidden": True}
    solution.outputs = [nbformat.v4.new_output("stream", text="1\n")]
    solution.execution_count = 2
    nb.cells = [nbformat.v4.new_markdown_cell("# 01 · Tensors"), nbformat.v4.new_code_cell("y = 2"), solution]
    source_dir = tmp_path / "notebooks"
    source_dir.mkdir()
    nbformat.write(nb, str(source_dir / "01_tensors.ipynb"))
    (written,) = student.write_editions(source_dir, tmp_path / "student")
    edition = nbformat.read(str(written), as_version=4)
    assert "Student edition" in edition.cells[1].source
    cell = edition.cells[-1]
    assert cell.source == "# Exercise 01.1\nx = ..."
    assert cell.metadata["tags"] == ["exercise"] and "jupyter" not in cell.metadata
    assert all(c.get("outputs", []) == [] for c in edition.cells if c.cell_type == "code")
