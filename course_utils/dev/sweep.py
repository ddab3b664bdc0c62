"""Seed and CPU sweep: does every asserted learning outcome hold for seeds 0-4 and on another CPU kind?

    python -m course_utils.dev.sweep [--seeds 0-4] [--capabilities native,foreign] [--jobs 2]
                                     [--runs DIR] [--keep DIR] [notebooks ...]        (`make sweep`)

Each notebook is executed in a fresh kernel once per (seed, CPU capability):

* ``COURSE_SEED=s`` makes ``setup`` use seed ``s`` and shifts every later ``torch.manual_seed``
  (see ``runtime.setup``), so every seeded experiment of the notebook draws new numbers;
* ``foreign`` simulates another CPU kind on this one (``settings.FOREIGN_ENV``: PyTorch's
  non-vectorised kernels, MKL's compatible code path, oneDNN capped at SSE4.1); a name such as
  ``default`` or ``avx2`` sets only ``ATEN_CPU_CAPABILITY``; ``native`` sets nothing;
* each run gets its own temporary folder, so no cache is shared between runs.

A failing outcome does not stop the run: the figures that every ``checks.expect_*`` records are
collected, and the report gives each bar's worst value over all runs, its margin, and every run
that missed it. One JSON file per run lands in ``--runs`` (runs already there are reused, so a
sweep can be extended); ``--keep`` also stores the executed notebooks. Writes ``bars.json`` and
``BARS.md`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat

from course_utils.dev import bench, execute, settings

ROOT = Path(__file__).resolve().parents[2]
NATIVE = "native"
FOREIGN = "foreign"


def capability_env(name: str) -> dict[str, str]:
    """The variables of one CPU kind: ``native`` (none), ``foreign`` (``settings.FOREIGN_ENV``),
    or an ``ATEN_CPU_CAPABILITY`` value such as ``default`` or ``avx2``."""
    if name == NATIVE:
        return {}
    if name == FOREIGN:
        return dict(settings.FOREIGN_ENV)
    return {"ATEN_CPU_CAPABILITY": name}


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` -> [0, 1, 2, 3, 4]; ``"0,2"`` -> [0, 2]."""
    seeds: list[int] = []
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise ValueError(f"seeds look like '0-4' or '0,1,3'; got {text!r}")
        seeds += range(int(low), int(high or low) + 1)
    return seeds


def run_name(notebook: str, capability: str, seed: int) -> str:
    return f"{Path(notebook).stem}__{capability}__s{seed}"


def run_one(path: Path, capability: str, seed: int, keep: Path | None) -> dict:
    """Execute one notebook for one (capability, seed); return its figures (runs in a worker process)."""
    env = {"COURSE_SEED": str(seed), **capability_env(capability)}
    nb, stats, found = execute.run_with_outcomes(path, env, allow_errors=True, private_tmp=True)
    errors = [
        f"{o['ename']}: {o['evalue']}"[:300]
        for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    if keep is not None:
        folder = keep / f"{capability}-s{seed}"
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(folder / path.name))
    return {"notebook": path.name, "capability": capability, "seed": seed, "outcomes": found,
            "errors": errors, "seconds": round(stats.wall_s, 1), "peak_mb": round(stats.peak_rss_mb)}


def _passes(value: float, relation: str | None, bar: float | None) -> bool:
    if bar is None or relation is None:
        return True
    return value >= bar if relation == "≥" else value <= bar


def summarise(runs: list[dict]) -> list[dict]:
    """One row per (notebook, outcome): its bar, the seed-0 native value, the worst value and who missed it.

    Outcomes are matched by name and by their order within the notebook (a name may repeat).
    """
    rows: dict[tuple[str, str, int], dict] = {}
    for run in sorted(runs, key=lambda r: (r["notebook"], r["capability"] != NATIVE, r["seed"])):
        seen: dict[str, int] = {}
        for outcome in run["outcomes"]:
            index = seen[outcome["name"]] = seen.get(outcome["name"], -1) + 1
            key = (run["notebook"], outcome["name"], index)
            row = rows.setdefault(key, {"notebook": run["notebook"], "name": outcome["name"],
                                        "bar": outcome["bar"], "relation": outcome["relation"],
                                        "values": {}, "missed": []})
            label = f"{run['capability']}/s{run['seed']}"
            row["values"][label] = outcome["value"]
            if not _passes(outcome["value"], outcome["relation"], outcome["bar"]):
                row["missed"].append(label)
    for (notebook, _, _), row in rows.items():
        ran = {f"{r['capability']}/s{r['seed']}" for r in runs if r["notebook"] == notebook}
        row["not_reached"] = sorted(ran - set(row["values"]))  # the run stopped before this outcome
        values = list(row["values"].values())
        worst = min(values) if row["relation"] == "≥" else max(values)
        row["worst"] = worst
        row["stored"] = row["values"].get(f"{NATIVE}/s0")
        row["margin"] = None if row["bar"] is None else (worst - row["bar"] if row["relation"] == "≥"
                                                          else row["bar"] - worst)
    return sorted(rows.values(), key=lambda r: (r["notebook"], r["name"]))


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2e}" if value != 0 and abs(value) < 1e-3 else f"{value:.4g}"


def report(runs: list[dict], machine: dict) -> str:
    """The sweep as a Markdown page."""
    rows = summarise(runs)
    seeds = sorted({r["seed"] for r in runs})
    capabilities = sorted({r["capability"] for r in runs}, key=lambda c: (c != NATIVE, c))
    failed = [r for r in rows if r["missed"] or r["not_reached"]]
    errors = [r for r in runs if r["errors"]]
    lines = [
        "# Learning outcomes over seeds and CPU kinds",
        "",
        "Made by `make sweep`: every notebook executed in a fresh kernel for each seed "
        f"({', '.join(map(str, seeds))}) and each CPU capability ({', '.join(capabilities)}); "
        "`native` is this machine's own kernels; `foreign` is another CPU kind simulated on this one "
        f"({' '.join(f'{k}={v}' for k, v in settings.FOREIGN_ENV.items())}); any other name is an "
        "`ATEN_CPU_CAPABILITY` value. The stored notebooks are the `native`, seed-0 runs. A seed moves every "
        "`torch.manual_seed` of the notebook (`COURSE_SEED`, see `runtime.setup`).",
        "",
        f"Machine: {machine['cores']} cores, {machine['cpu_model']}; torch {machine['torch']}; "
        f"{len(runs)} runs.",
        "",
        f"**{len(rows) - len(failed)} of {len(rows)} bars held in every run.**"
        + ("" if not failed else f" Missed: {', '.join(r['notebook'][:2] + ' ' + r['name'] for r in failed)}."),
        "",
        "| notebook | outcome | bar | seed 0 (stored) | worst | margin | missed in |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for r in rows:
        bar = "-" if r["bar"] is None else f"{r['relation']} {r['bar']:g}"
        missed = ", ".join(r["missed"] + [f"{x} (not reached)" for x in r["not_reached"]]) or "-"
        lines.append(f"| {r['notebook'].removesuffix('.ipynb')} | {r['name']} | {bar} | {_fmt(r['stored'])} | "
                     f"{_fmt(r['worst'])} | {_fmt(r['margin'])} | {missed} |")
    if errors:
        lines += ["", "Runs that stopped on an error:", ""]
        lines += [f"- {r['notebook']} {r['capability']}/s{r['seed']}: {r['errors'][0]}" for r in errors]
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook")
    parser.add_argument("--seeds", default="0-4")
    parser.add_argument("--capabilities", default=f"{NATIVE},{FOREIGN}",
                        help="comma-separated: native, foreign (settings.FOREIGN_ENV) or ATEN_CPU_CAPABILITY "
                             "values such as default, avx2")
    parser.add_argument("--jobs", type=int, default=2, help="notebooks executed at once")
    parser.add_argument("--runs", type=Path, default=ROOT / "benchmarks" / "tmp" / "sweep",
                        help="one JSON per run; runs already there are not repeated")
    parser.add_argument("--keep", type=Path, default=None, help="also store the executed notebooks here")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks")
    args = parser.parse_args(argv)
    try:
        seeds = parse_seeds(args.seeds)
    except ValueError as error:
        parser.error(str(error))
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    capabilities = [c.strip() for c in args.capabilities.split(",") if c.strip()]
    args.runs.mkdir(parents=True, exist_ok=True)
    todo = [(p, c, s) for s in seeds for c in capabilities for p in paths
            if not (args.runs / f"{run_name(p.name, c, s)}.json").exists()]
    print(f"{len(todo)} runs to do ({len(paths)} notebooks x seeds {seeds} x {capabilities})", flush=True)
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = {pool.submit(run_one, p, c, s, args.keep): (p, c, s) for p, c, s in todo}
        for future, (p, c, s) in futures.items():
            result = future.result()
            (args.runs / f"{run_name(p.name, c, s)}.json").write_text(json.dumps(result) + "\n", encoding="utf-8")
            status = "ok" if not result["errors"] else f"ERROR {result['errors'][0][:120]}"
            print(f"  {p.name} {c}/s{s}: {result['seconds']} s, {status}", flush=True)
    wanted = {run_name(p.name, c, s) for s in seeds for c in capabilities for p in paths}
    runs = [json.loads(f.read_text()) for f in sorted(args.runs.glob("*.json")) if f.stem in wanted]
    args.out.mkdir(parents=True, exist_ok=True)
    machine = bench.machine()
    (args.out / "bars.json").write_text(
        json.dumps({"machine": machine, "rows": summarise(runs), "runs": runs}, indent=1) + "\n", encoding="utf-8")
    text = report(runs, machine)
    (args.out / "BARS.md").write_text(text, encoding="utf-8")
    print(text)
    return 1 if any(r["missed"] or r["not_reached"] for r in summarise(runs)) else 0


if __name__ == "__main__":
    sys.exit(main())
