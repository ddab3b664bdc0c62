"""The pinned files agree, and Binder's files are complete and parse."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^\s*-?\s*([A-Za-z0-9_.\-]+)==([^\s#]+)\s*$")


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            found[match.group(1).lower().replace("_", "-")] = match.group(2)
    return found


def test_requirements_pin_the_promised_packages():
    req, dev = pins(ROOT / "requirements.txt"), pins(ROOT / "tests" / "requirements-dev.txt")
    assert req["torch"] == "2.14.1" and req["torchvision"] == "0.29.1"
    for name in ("jupyterlab", "ipywidgets", "matplotlib", "seaborn", "pandas", "scikit-learn", "tqdm"):
        assert name in req, f"{name} is not pinned in requirements.txt"
    for name in ("nbval", "pytest", "ruff", "playwright"):
        assert name in dev and name not in req, f"{name} belongs in requirements-dev.txt, not in the learners' pins"
    assert not set(req) & set(dev), "a package is pinned in both requirements files"
    for path in ("requirements.txt", "tests/requirements-dev.txt"):
        lines = [x for x in (ROOT / path).read_text().splitlines() if x.strip() and not x.startswith("#")]
        lines = [x for x in lines if x != "-r ../requirements.txt"]
        assert all(PIN.match(x) for x in lines), f"every requirement in {path} is an exact == pin"
    assert "-r ../requirements.txt" in (ROOT / "tests" / "requirements-dev.txt").read_text().splitlines()


def test_environment_yml_carries_the_same_versions():
    assert pins(ROOT / "environment.yml") == pins(ROOT / "requirements.txt")
    assert "python=3.11" in (ROOT / "environment.yml").read_text()


def test_binder_uses_the_same_versions_with_cpu_wheels():
    req, binder = pins(ROOT / "requirements.txt"), pins(ROOT / "binder" / "requirements.txt")
    assert binder.pop("torch") == req["torch"] + "+cpu"
    assert binder.pop("torchvision") == req["torchvision"] + "+cpu"
    for name, version in binder.items():
        assert req.get(name) == version, f"binder pins {name}=={version}, requirements.txt {req.get(name)}"
    lines = (ROOT / "binder" / "requirements.txt").read_text().splitlines()
    assert not any(x.strip().startswith("-e") for x in lines), "install course_utils in postBuild"


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~ \[]", r)[0].lower().replace("_", "-") for r in requirements}


def test_pyproject_groups_and_the_pinned_files_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    groups = project["optional-dependencies"]
    learners, dev = set(pins(ROOT / "requirements.txt")), set(pins(ROOT / "tests" / "requirements-dev.txt"))
    for name in _names(project["dependencies"]) | _names(groups["course"]):
        assert name in learners, f"{name} (needed by course_utils or the notebooks) is not pinned in requirements.txt"
    for name in _names(groups["dev"]):
        assert name in learners | dev, f"{name} (a [dev] package) is not pinned in requirements-dev.txt"
    declared = _names(project["dependencies"]) | _names(groups["course"]) | _names(groups["dev"])
    assert not (learners | dev) - declared, f"pinned but not declared in pyproject.toml: {(learners | dev) - declared}"


def test_binder_files():
    binder = ROOT / "binder"
    assert (binder / "runtime.txt").read_text().strip() == "python-3.11"
    for script in ("postBuild", "start"):
        path = binder / script
        assert path.stat().st_mode & 0o111, f"binder/{script} must be executable"
        assert path.read_text().startswith("#!/bin/bash")
    assert "pip install --no-deps -e ." in (binder / "postBuild").read_text()
    assert (binder / "start").read_text().rstrip().endswith('exec "$@"')
    settings = json.loads((binder / "lab-settings" / "overrides.json").read_text())
    assert settings["@jupyterlab/notebook-extension:tracker"]["autoStartDefaultKernel"] is True
    assert not (ROOT / ".binder").exists(), "repo2docker refuses both binder/ and .binder/"


def test_readme_badge_opens_the_welcome_notebook_in_lab():
    readme = (ROOT / "README.md").read_text()
    assert "https://mybinder.org/badge_logo.svg" in readme
    assert "?urlpath=lab/tree/notebooks/00_welcome.ipynb" in readme


def test_repo2docker_builds_the_image_the_binder_files_describe():
    """repo2docker (pinned in the authors' tools) writes the Dockerfile Binder would build; it must install
    binder/requirements.txt into a Python 3.11 kernel environment, run postBuild and start through binder/start."""
    repo2docker = Path(sys.executable).parent / "repo2docker"
    assert repo2docker.exists(), "repo2docker is missing: pip install -r tests/requirements-dev.txt"
    result = subprocess.run([str(repo2docker), "--no-build", "--no-run", "--debug", str(ROOT)],
                            capture_output=True, text=True, timeout=180)
    text = result.stdout + result.stderr
    assert result.returncode == 0, text[-2000:]
    assert "python=3.11" in text, "binder/runtime.txt asks for Python 3.11"
    assert re.search(r'RUN \$\{KERNEL_PYTHON_PREFIX\}/bin/pip install --no-cache-dir -r "binder/requirements.txt"', text)
    assert "RUN ./binder/postBuild" in text
    assert 'R2D_ENTRYPOINT="${REPO_DIR}/binder/start"' in text
    assert text.index("binder/requirements.txt") < text.index("RUN ./binder/postBuild"), "postBuild runs after the pins"
