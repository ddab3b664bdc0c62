"""Execute notebooks top to bottom in a fresh kernel and store them with their outputs.

    python -m course_utils.dev.execute notebooks/01_tensors.ipynb [...]

Run it through ``make execute`` so the environment (one thread, fixed hash seed)
matches the one nbval checks with.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from nbclient import NotebookClient

from course_utils.dev import notebook_io


def execute(path: Path, timeout: int = 300) -> float:
    """Execute one notebook in place; return the wall time in seconds."""
    nb = notebook_io.read(path)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=False,
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    notebook_io.write(nb, path)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=300, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    failed = 0
    for path in args.notebooks:
        try:
            seconds = execute(path, args.timeout)
            print(f"{path}: executed in {seconds:.1f} s")
        except Exception as error:  # report and go on with the next notebook
            failed += 1
            print(f"{path}: FAILED: {type(error).__name__}: {str(error)[-2000:]}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
