"""Write the student edition of the notebooks: exercises without their solutions.

    python -m course_utils.dev.student notebooks student      (what `make student` runs)

A solution cell is tagged ``solution`` and starts with ``# Exercise NN.M``. In the
student edition each such cell keeps its comments; every top-level assignment keeps
its target but gets ``...`` as its value, and every function keeps its signature and
docstring but its body becomes ``raise NotImplementedError(...)``. The check cell
after it then reports "not done yet" instead of a traceback. All outputs are
cleared, so the learner sees an unrun notebook.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

import nbformat

from course_utils.dev import notebook_io

NOTE = (
    "> **Student edition.** The solutions are removed: write your answer where you see `...` or "
    "`raise NotImplementedError`, then run the check cell below it. "
    "`checks.solution(\"NN.M\")` shows a solution once you have tried."
)


class SolutionCellError(ValueError):
    """A solution cell holds something the student edition cannot turn into a stub."""


def _stub_function(node: ast.FunctionDef, lines: list[str], exercise: str) -> list[str]:
    start = (node.decorator_list[0].lineno if node.decorator_list else node.lineno) - 1
    body_start = node.body[0].lineno - 1
    header = lines[start:body_start]
    indent = " " * node.body[0].col_offset
    out = list(header)
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant) and isinstance(
        first.value.value, str
    ):
        out.extend(lines[first.lineno - 1 : first.end_lineno])
    out.append(f'{indent}raise NotImplementedError("Exercise {exercise}: write this function")')
    return out


def stub_source(source: str) -> str:
    """The student version of one solution cell's source."""
    lines = source.splitlines()
    if not lines or not lines[0].startswith("# Exercise "):
        raise SolutionCellError(f"a solution cell must start with '# Exercise NN.M'; got {lines[:1]}")
    exercise = lines[0].removeprefix("# Exercise ").strip()
    tree = ast.parse(source)
    out: list[str] = []
    cursor = 0  # next line (0-based) not yet emitted

    def keep_comments(until: int) -> None:
        for line in lines[cursor:until]:
            if line.strip().startswith("#") or not line.strip():
                out.append(line)

    for node in tree.body:
        start = (node.decorator_list[0].lineno if getattr(node, "decorator_list", None) else node.lineno) - 1
        keep_comments(start)
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = " = ".join(ast.get_source_segment(source, t) for t in targets)
            annotation = f": {ast.get_source_segment(source, node.annotation)}" if isinstance(node, ast.AnnAssign) else ""
            out.append(f"{names}{annotation} = ...")
        elif isinstance(node, ast.FunctionDef):
            out.extend(_stub_function(node, lines, exercise))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            out.extend(lines[start : node.end_lineno])
        else:
            raise SolutionCellError(
                f"Exercise {exercise}: a solution cell may hold only comments, imports, assignments and "
                f"function definitions; found {type(node).__name__} on line {node.lineno}."
            )
        cursor = node.end_lineno
    keep_comments(len(lines))
    return "\n".join(out)


def student_edition(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` with solutions stubbed and all outputs cleared."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if "solution" in cell.metadata.get("tags", []):
            cell.source = stub_source(cell.source)
            cell.metadata["tags"] = [t for t in cell.metadata["tags"] if t != "solution"] + ["exercise"]
            cell.metadata.pop("jupyter", None)
        cell.outputs = []
        cell.execution_count = None
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(NOTE))
    return nb


def write_editions(source_dir: Path, target_dir: Path) -> list[Path]:
    """Write the student edition of every notebook in ``source_dir`` into ``target_dir``."""
    target_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(source_dir.glob("[0-9][0-9]_*.ipynb")):
        edition = student_edition(notebook_io.read(path))
        target = target_dir / path.name
        nbformat.validate(edition)
        nbformat.write(edition, str(target))
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder of the teacher notebooks")
    parser.add_argument("target", type=Path, help="folder for the student editions")
    args = parser.parse_args(argv)
    try:
        written = write_editions(args.source, args.target)
    except SolutionCellError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {len(written)} student notebooks to {args.target}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
