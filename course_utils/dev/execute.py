"""Execute notebooks top to bottom in a fresh kernel, measuring time and memory.

    python -m course_utils.dev.execute notebooks/01_tensors.ipynb [...]   (stores the outputs)

Run it through ``make execute`` so the environment (one thread, fixed hash seed)
matches the one nbval checks with. ``run`` is also what the benchmark and the
reproducibility/memory tests use.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient

from course_utils.dev import notebook_io


@dataclass(frozen=True)
class RunStats:
    """What one execution of a notebook cost."""

    wall_s: float  # kernel start to last cell done
    cpu_s: float  # user + system CPU time of the kernel process
    peak_rss_mb: float  # the kernel's peak resident memory


def peak_rss_mb(pid: int) -> float:
    """Peak resident set size of a process (VmHWM on Linux; current RSS elsewhere) in MB."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return psutil.Process(pid).memory_info().rss / 2**20


def run(nb: nbformat.NotebookNode, cwd: Path, timeout: int = 300, env: dict[str, str] | None = None,
        allow_errors: bool = False) -> RunStats:
    """Execute ``nb`` in place in a fresh kernel started in ``cwd``; return its cost.

    ``env`` adds variables to the kernel's environment (e.g. ``COURSE_OUTCOMES_FILE``).
    ``allow_errors`` goes on past a failing cell (the error is stored as its output).
    """
    measured: dict[str, float] = {}
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(cwd)}},
        store_widget_state=False,
        allow_errors=allow_errors,
    )

    def after_cell(**_):
        process = psutil.Process(client.km.provisioner.process.pid)
        times = process.cpu_times()
        measured["cpu_s"] = times.user + times.system
        measured["peak_rss_mb"] = max(measured.get("peak_rss_mb", 0.0), peak_rss_mb(process.pid))

    client.on_cell_executed = after_cell
    saved = {key: os.environ.get(key) for key in (env or {})}
    os.environ.update(env or {})
    try:
        start = time.perf_counter()
        client.execute()
        wall = time.perf_counter() - start
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return RunStats(wall, measured.get("cpu_s", 0.0), measured.get("peak_rss_mb", 0.0))


def run_with_outcomes(
    path: Path, env: dict[str, str] | None = None, allow_errors: bool = False, private_tmp: bool = False
) -> tuple[nbformat.NotebookNode, RunStats, list[dict]]:
    """Execute the notebook at ``path`` (the file is not changed) and collect the figures it records
    through ``course_utils.outcomes`` (every ``checks.expect_*``). ``private_tmp`` gives the kernel its own
    temporary folder, so that no cache from an earlier run is used. Returns (executed notebook, cost, figures)."""
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "outcomes.jsonl"
        full_env = {**(env or {}), "COURSE_OUTCOMES_FILE": str(log), **({"TMPDIR": folder} if private_tmp else {})}
        nb = notebook_io.read(path)
        stats = run(nb, path.parent, env=full_env, allow_errors=allow_errors)
        found = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return nb, stats, found


def execute(path: Path, timeout: int = 300) -> RunStats:
    """Execute one notebook and store it with its outputs, normalised, and with the fingerprint
    of the machine that made them (``metadata.course.fingerprint``: where the outputs are exact)."""
    from course_utils.runtime import fingerprint

    nb = notebook_io.read(path)
    stats = run(nb, path.parent, timeout)
    nb.metadata.setdefault("course", {})["fingerprint"] = fingerprint()
    notebook_io.write(nb, path)
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=300, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    failed = 0
    for path in args.notebooks:
        try:
            stats = execute(path, args.timeout)
            print(f"{path}: executed in {stats.wall_s:.1f} s, peak kernel memory {stats.peak_rss_mb:.0f} MB")
        except Exception as error:  # report and go on with the next notebook
            failed += 1
            print(f"{path}: FAILED: {type(error).__name__}: {str(error)[-2000:]}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
