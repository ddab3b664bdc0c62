"""The benchmark's pieces: one real measured run, the table, the chart, the README course map."""

import json

import nbformat

from course_utils.dev import bench


def _results(seconds=12.0, peak=900.0):
    row = {
        "notebook": "01_tensors.ipynb",
        "seconds": {"median": seconds, "min": seconds - 1, "max": seconds + 1, "runs": [seconds]},
        "cpu_seconds": {"median": seconds, "min": seconds, "max": seconds, "runs": [seconds]},
        "peak_mb": peak,
        "outcomes": [{"name": "test accuracy", "value": 0.98, "bar": 0.97, "relation": "≥"}],
        "within_time_budget": seconds <= 60,
        "within_memory_budget": peak <= 1500,
    }
    return {"repeat": 1, "machine": {"cores": 2, "cpu_model": "x", "python": "3.11", "torch": "2.14.1",
                                     "torch_threads_in_kernel": 1, "platform": "linux"},
            "startup": {"seconds": {"median": 4.0, "min": 4.0, "max": 4.0, "runs": [4.0]}, "peak_mb": 800},
            "notebooks": [row], "total_seconds": seconds}


def test_table_shows_figures_and_flags_budget_overruns():
    text = bench.table(_results())
    assert "| 01_tensors.ipynb | 12.0 | 11.0-13.0 |" in text and "test accuracy: 0.98 (≥ 0.97)" in text
    assert "| yes |" in text
    over = bench.table(_results(seconds=75.0, peak=1600.0))
    assert "**OVER: time, memory**" in over


def test_chart_is_written(tmp_path):
    bench.chart(_results(), tmp_path / "seconds.png")
    assert (tmp_path / "seconds.png").read_bytes()[:4] == b"\x89PNG"


def test_course_map_minutes_are_refreshed(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(
        "intro\n<!-- course-map:start -->\n| # | notebook | topic | run time |\n|---|---|---|---|\n"
        "| 01 | [tensors](notebooks/01_tensors.ipynb) | shapes | ? |\n<!-- course-map:end -->\nend\n"
    )
    assert bench.refresh_course_map(_results(seconds=30.0), readme)
    assert "| 01 | [tensors](notebooks/01_tensors.ipynb) | shapes | 0.5 min |" in readme.read_text()
    assert readme.read_text().endswith("end\n")


def test_a_real_notebook_is_measured_with_its_outcomes(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from course_utils import outcomes\noutcomes.record('answer', 42.0, bar=40, relation='≥')")])
    path = tmp_path / "01_demo.ipynb"
    nbformat.write(nb, str(path))
    row = bench.bench_notebook(path, repeat=1)
    assert row["outcomes"] == [{"name": "answer", "value": 42.0, "bar": 40, "relation": "≥"}]
    assert row["seconds"]["median"] > 0 and row["peak_mb"] > 10 and row["within_time_budget"]
    json.dumps(row)


def test_merge_replaces_rows_of_the_same_notebook_only():
    old, new = _results(seconds=12.0), _results(seconds=20.0)
    new["notebooks"][0]["notebook"] = "02_layers.ipynb"
    merged = bench.merge(old, new)
    assert [r["notebook"] for r in merged["notebooks"]] == ["01_tensors.ipynb", "02_layers.ipynb"]
    again = bench.merge(merged, _results(seconds=15.0))
    assert again["notebooks"][0]["seconds"]["median"] == 15.0


def test_merge_refuses_another_machine():
    import pytest

    other = _results()
    other["machine"]["cores"] = 16
    with pytest.raises(ValueError, match="another machine"):
        bench.merge(_results(), other)


def test_sweep_reports_each_bars_worst_value_and_who_missed_it():
    from course_utils.dev import sweep

    assert sweep.parse_seeds("0-2,5") == [0, 1, 2, 5]
    assert sweep.capability_env("native") == {} and sweep.capability_env("avx2") == {"ATEN_CPU_CAPABILITY": "avx2"}
    assert sweep.capability_env("foreign")["ATEN_CPU_CAPABILITY"] == "default"

    def run(capability, seed, accuracy, loss=None):
        outcomes = [{"name": "acc", "value": accuracy, "bar": 0.9, "relation": "≥"}]
        if loss is not None:
            outcomes.append({"name": "loss", "value": loss, "bar": 0.5, "relation": "≤"})
        return {"notebook": "08_cnn.ipynb", "capability": capability, "seed": seed, "outcomes": outcomes,
                "errors": [], "seconds": 1.0, "peak_mb": 1.0}

    runs = [run("native", 0, 0.95, 0.2), run("native", 1, 0.92, 0.4), run("foreign", 0, 0.88)]
    rows = {r["name"]: r for r in sweep.summarise(runs)}
    assert rows["acc"]["worst"] == 0.88 and rows["acc"]["stored"] == 0.95 and rows["acc"]["missed"] == ["foreign/s0"]
    assert rows["loss"]["worst"] == 0.4 and abs(rows["loss"]["margin"] - 0.1) < 1e-12
    assert rows["loss"]["not_reached"] == ["foreign/s0"]  # that run stopped before the outcome
    text = sweep.report(runs, {"cores": 2, "cpu_model": "x", "torch": "2.14.1"})
    assert "**0 of 2 bars held in every run.**" in text and "| 08_cnn | acc | ≥ 0.9 | 0.95 | 0.88 |" in text
