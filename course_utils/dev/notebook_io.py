"""Read, normalise and write notebooks the way the course stores them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import nbformat

# Cell metadata worth keeping; everything else (ExecuteTime, scrolled, ...) is noise.
KEEP_CELL_METADATA = ("tags", "jupyter", "editable", "deletable")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def normalise(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop widget state and volatile metadata; collapse solution cells in JupyterLab."""
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    language = nb.metadata.get("language_info", {})
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3", **{
        k: v for k, v in language.items() if k in ("codemirror_mode", "file_extension", "mimetype", "nbconvert_exporter")
    }}
    for cell in nb.cells:
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in KEEP_CELL_METADATA}
        if "solution" in cell.metadata.get("tags", []):
            cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
        if cell.cell_type == "code":
            for number, output in enumerate(cell.get("outputs", [])):
                output.get("metadata", {}).pop("execution", None)
                view = output.get("data", {}).get(WIDGET_VIEW)
                if view is not None:  # random per run; a stable id keeps diffs quiet (no state is saved)
                    view["model_id"] = hashlib.md5(f"{cell.get('id')}/{number}".encode()).hexdigest()
    return nb


def read(path: str | Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def write(nb: nbformat.NotebookNode, path: str | Path) -> None:
    nbformat.validate(nb)
    nbformat.write(normalise(nb), str(path))
