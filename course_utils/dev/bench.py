"""Course benchmark: run time, CPU time, peak memory and learning outcomes of every notebook.

    python -m course_utils.dev.bench [--repeat N] [--out benchmarks] [notebooks ...]   (`make bench`)

Each notebook is executed in a fresh kernel, as nbval does, with the environment of
`make test`. The figures each notebook reports through ``course_utils.outcomes`` (every
``checks.expect_*`` call) are collected from the kernel. Writes ``results.json``,
``README.md`` (the table, with the course's budgets) and ``seconds.png``, and refreshes
the run-time column of the course map in the top-level README.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from pathlib import Path

import nbformat

from course_utils.dev import execute, settings

ROOT = Path(__file__).resolve().parents[2]
SECONDS_BUDGET = settings.CORE_SECONDS_BUDGET
FIRST_DEEP_DIVE = 14  # notebooks 00-13 are the core, 14 on the deep dives


def seconds_budget(name: str) -> float:
    """A core notebook's budget (60 s) or a deep dive's (45 s), from the number its name starts with."""
    number = int(name[:2]) if name[:2].isdigit() else 0
    return settings.DEEP_DIVE_SECONDS_BUDGET if number >= FIRST_DEEP_DIVE else settings.CORE_SECONDS_BUDGET
COURSE_BUDGET = settings.COURSE_SECONDS_BUDGET
MEMORY_BUDGET_MB = settings.MEMORY_BUDGET_MB
MAP_START, MAP_END = "<!-- course-map:start -->", "<!-- course-map:end -->"


def machine() -> dict:
    """What the figures were measured on."""
    import torch

    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads_in_kernel": int(os.environ.get("COURSE_THREADS", "1")),
        "platform": platform.platform(),
    }


def _spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


def startup_cost(repeat: int) -> dict:
    """Kernel start plus the set-up cell (torch, NumPy, matplotlib imports): the part that is not ours."""
    walls, peaks = [], []
    for _ in range(repeat):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("from course_utils import setup\nsetup(seed=0)")])
        stats = execute.run(nb, ROOT / "notebooks")
        walls.append(stats.wall_s)
        peaks.append(stats.peak_rss_mb)
    return {"seconds": _spread(walls), "peak_mb": max(peaks)}


def bench_notebook(path: Path, repeat: int) -> dict:
    """Execute one notebook ``repeat`` times; return its figures."""
    walls, cpus, peaks, outcomes = [], [], [], None
    for _ in range(repeat):
        _, stats, found = execute.run_with_outcomes(path)
        outcomes = outcomes if outcomes is not None else found
        walls.append(round(stats.wall_s, 2))
        cpus.append(round(stats.cpu_s, 2))
        peaks.append(round(stats.peak_rss_mb, 1))
        print(f"  {path.name}: {stats.wall_s:.1f} s, {stats.peak_rss_mb:.0f} MB", flush=True)
    median = statistics.median(walls)
    return {
        "notebook": path.name,
        "seconds": _spread(walls),
        "cpu_seconds": _spread(cpus),
        "peak_mb": max(peaks),
        "outcomes": outcomes or [],
        "within_time_budget": median <= seconds_budget(path.name),
        "within_memory_budget": max(peaks) <= MEMORY_BUDGET_MB,
    }


def merge(old: dict, new: dict) -> dict:
    """Old results with the rows of ``new`` replacing (or joining) rows of the same notebook.

    The machine must be the same (same cores, CPU model, torch): mixing machines in one table would mislead.
    """
    keys = ("cores", "cpu_model", "torch", "torch_threads_in_kernel")
    if any(old["machine"].get(k) != new["machine"].get(k) for k in keys):
        raise ValueError("results.json was measured on another machine or torch: run the whole benchmark again.")
    rows = {r["notebook"]: r for r in old["notebooks"]}
    rows.update({r["notebook"]: r for r in new["notebooks"]})
    merged = dict(new, notebooks=[rows[name] for name in sorted(rows)])
    merged["startup"] = old["startup"] if old["repeat"] >= new["repeat"] else new["startup"]
    merged["repeat"] = min(old["repeat"], new["repeat"])
    return merged


def _outcome_text(outcome: dict) -> str:
    value = outcome["value"]
    shown = f"{value:.2e}" if value != 0 and abs(value) < 1e-3 else f"{value:.4g}"
    bar = f" ({outcome['relation']} {outcome['bar']:g})" if outcome.get("bar") is not None else ""
    return f"{outcome['name']}: {shown}{bar}"


def table(results: dict) -> str:
    """The benchmark as a Markdown page."""
    m = results["machine"]
    start = results["startup"]["seconds"]
    lines = [
        "# Course benchmark",
        "",
        f"Made by `make bench` (`--repeat {results['repeat']}`): each notebook executed in a fresh kernel with the",
        "settings of `make test` (1 torch thread). Seconds are the median over the runs, with the spread (min-max);",
        "peak memory is the kernel's peak resident set (VmHWM). Budgets (course_utils/dev/settings.py): 60 s and",
        "1,500 MB per notebook, 10 minutes for the whole course. Outcomes are the figures each notebook asserts",
        "through `course_utils.checks`, with their bars.",
        "",
        f"Machine: {m['cores']} cores, {m['cpu_model']}; Python {m['python']}; torch {m['torch']}; "
        f"{m['torch_threads_in_kernel']} torch thread(s) in the kernel.",
        "",
        f"Start-up cost (kernel start + the set-up cell's imports), included in every notebook's seconds: "
        f"{start['median']:.1f} s (spread {start['min']:.1f}-{start['max']:.1f}), "
        f"{results['startup']['peak_mb']:.0f} MB.",
        "",
        "| notebook | seconds | spread | CPU s | peak MB | within budget | outcomes |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for row in results["notebooks"]:
        s = row["seconds"]
        budget = "yes" if row["within_time_budget"] and row["within_memory_budget"] else (
            "**OVER: " + ", ".join(
                x for x, ok in (("time", row["within_time_budget"]), ("memory", row["within_memory_budget"])) if not ok
            ) + "**"
        )
        outcomes = "<br>".join(_outcome_text(o) for o in row["outcomes"]) or "-"
        lines.append(
            f"| {row['notebook']} | {s['median']:.1f} | {s['min']:.1f}-{s['max']:.1f} | "
            f"{row['cpu_seconds']['median']:.1f} | {row['peak_mb']:.0f} | {budget} | {outcomes} |"
        )
    total = results["total_seconds"]
    verdict = "within" if total <= COURSE_BUDGET else "**OVER**"
    lines += ["", f"Whole course: {total:.0f} s ({total / 60:.1f} min), {verdict} the 10-minute budget.", "",
              "![seconds per notebook](seconds.png)", ""]
    return "\n".join(lines)


def chart(results: dict, path: Path) -> None:
    """Bar chart of seconds per notebook with the budget lines (60 s core, 45 s deep dive)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["notebooks"]
    names = [r["notebook"].removesuffix(".ipynb") for r in rows][::-1]
    medians = [r["seconds"]["median"] for r in rows][::-1]
    errors = [[m - r["seconds"]["min"] for m, r in zip(medians, rows[::-1], strict=True)],
              [r["seconds"]["max"] - m for m, r in zip(medians, rows[::-1], strict=True)]]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(rows) + 1.2))
    colours = ["#c0392b" if m > seconds_budget(n) else "#2e86c1" for m, n in zip(medians, names, strict=True)]
    ax.barh(names, medians, xerr=errors, color=colours, capsize=2)
    ax.axvline(SECONDS_BUDGET, color="k", linestyle="--", linewidth=1, label="60 s budget (core)")
    ax.axvline(settings.DEEP_DIVE_SECONDS_BUDGET, color="k", linestyle="-.", linewidth=1,
               label="45 s budget (deep dives)")
    ax.axvline(results["startup"]["seconds"]["median"], color="grey", linestyle=":", label="start-up cost")
    ax.set_xlabel("seconds (median; bars show min-max)")
    ax.set_title(f"Run time per notebook, {results['machine']['cores']}-core CPU")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def refresh_course_map(results: dict, readme: Path) -> bool:
    """Rewrite the run-time column of the README's course map from the results."""
    text = readme.read_text(encoding="utf-8")
    if MAP_START not in text or MAP_END not in text:
        return False
    before, rest = text.split(MAP_START, 1)
    block, after = rest.split(MAP_END, 1)
    seconds = {r["notebook"]: r["seconds"]["median"] for r in results["notebooks"]}
    lines = []
    for line in block.strip("\n").splitlines():
        cells = line.split("|")
        link = next((c for c in cells if ".ipynb" in c), "")
        name = link.split("(notebooks/")[-1].split(")")[0] if "(notebooks/" in link else ""
        if name in seconds and len(cells) >= 5:
            cells[-2] = f" {seconds[name] / 60:.1f} min "
            line = "|".join(cells)
        lines.append(line)
    readme.write_text(before + MAP_START + "\n" + "\n".join(lines) + "\n" + MAP_END + after, encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook")
    parser.add_argument("--repeat", type=int, default=1, help="runs per notebook (median and spread reported)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks")
    parser.add_argument("--update", action="store_true",
                        help="replace only the named notebooks' rows in an existing results.json")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    print(f"start-up cost ({args.repeat} run(s))", flush=True)
    results = {"repeat": args.repeat, "machine": machine(), "startup": startup_cost(args.repeat), "notebooks": []}
    for path in paths:
        results["notebooks"].append(bench_notebook(path, args.repeat))
    if args.update and (args.out / "results.json").exists():
        results = merge(json.loads((args.out / "results.json").read_text(encoding="utf-8")), results)
    results["total_seconds"] = sum(r["seconds"]["median"] for r in results["notebooks"])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    (args.out / "README.md").write_text(table(results), encoding="utf-8")
    chart(results, args.out / "seconds.png")
    if not args.notebooks or args.update:
        refresh_course_map(results, ROOT / "README.md")
    print(table(results))
    over = [r["notebook"] for r in results["notebooks"] if not (r["within_time_budget"] and r["within_memory_budget"])]
    if over:
        print(f"over budget: {', '.join(over)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
