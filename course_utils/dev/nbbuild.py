"""Build a notebook from a percent-format Python script (an authoring aid).

    python -m course_utils.dev.nbbuild source.py notebooks/NN_topic.ipynb

Cells start with ``# %%`` (code) or ``# %% [markdown]`` (markdown, each line
commented with ``# ``). Tags go in brackets: ``# %% tags=["solution"]``.
The notebook, not the script, is the course's source; execute it afterwards.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import nbformat

from course_utils.dev import notebook_io

HEADER = re.compile(r"^# %%(?P<md> \[markdown\])?(?:\s+tags=(?P<tags>\[.*\]))?\s*$")


def parse(text: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    current: list[str] | None = None
    kind, tags = "code", []

    def flush() -> None:
        if current is None:
            return
        lines = current
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        if kind == "markdown":
            body = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in lines)
            cell = nbformat.v4.new_markdown_cell(body)
        else:
            cell = nbformat.v4.new_code_cell("\n".join(lines))
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)

    for line in text.splitlines():
        match = HEADER.match(line)
        if match:
            flush()
            current, kind = [], ("markdown" if match.group("md") else "code")
            tags = json.loads(match.group("tags")) if match.group("tags") else []
        elif current is not None:
            current.append(line)
    flush()
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    args = parser.parse_args(argv)
    nb = parse(args.source.read_text(encoding="utf-8"))
    notebook_io.write(nb, args.target)
    print(f"wrote {args.target} ({len(nb.cells)} cells)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
