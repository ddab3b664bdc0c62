"""A Binder launch, simulated on this machine: the environment repo2docker would build, then its server.

1. A fresh virtual environment gets ``binder/requirements.txt`` and nothing else. Where PyTorch's CPU
   wheel index cannot be reached (an offline machine), each ``+cpu`` pin is mapped to the package
   registry's build of the same version, and the test output says so.
2. ``binder/postBuild`` runs the way repo2docker runs it: from the repository's root, with the
   environment's ``bin`` first on ``PATH`` and ``NB_PYTHON_PREFIX`` pointing at the environment.
3. JupyterLab starts through ``binder/start``, as every Binder launch does, behind the offline guard
   (``tests/offline`` on ``PYTHONPATH``): the notebooks must run without the network.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BINDER = ROOT / "binder"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
OFFLINE_GUARD = ROOT / "tests" / "offline"


@dataclass
class BinderEnv:
    prefix: Path
    requirements: Path
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def bin(self) -> Path:
        return self.prefix / "bin"

    def environ(self, **extra: str) -> dict[str, str]:
        """The environment of a process inside the Binder image: its Python first, the offline guard on."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("JUPYTER", "MPLBACKEND", "VIRTUAL_ENV", "PYTHON", "OMP_", "MKL_", "COURSE_"))}
        env.update(PATH=f"{self.bin}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(self.prefix),
                   NB_PYTHON_PREFIX=str(self.prefix), **extra)
        return env


def cpu_index_reachable(pin: str = "torch==2.14.1+cpu") -> bool:
    """True when pip can see ``pin`` on PyTorch's CPU index (pip's own config ignored)."""
    name, version = pin.split("==")
    try:
        result = subprocess.run([sys.executable, "-m", "pip", "--isolated", "index", "versions", name,
                                 "--index-url", CPU_INDEX, "--timeout", "5", "--retries", "0"],
                                capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0 and version in result.stdout


def requirements_for_this_machine(folder: Path) -> tuple[Path, list[str]]:
    """binder/requirements.txt itself, or (offline) a copy whose ``+cpu`` pins name the registry's build."""
    source = BINDER / "requirements.txt"
    text = source.read_text(encoding="utf-8")
    pins = re.findall(r"^([A-Za-z0-9_.\-]+==[^\s#]+\+cpu)\s*$", text, flags=re.M)
    if not pins or cpu_index_reachable(pins[0]):
        return source, [f"installing binder/requirements.txt as it is (the CPU index at {CPU_INDEX} answers)"]
    mapped = re.sub(r"\+cpu\b", "", text)
    mapped = "\n".join(line for line in mapped.splitlines() if not line.startswith("--extra-index-url"))
    target = folder / "requirements-offline.txt"
    target.write_text(mapped + "\n", encoding="utf-8")
    note = (f"PyTorch's CPU index ({CPU_INDEX}) cannot be reached from here: the pins "
            f"{', '.join(pins)} are installed as the package registry's build of the same version")
    return target, [note]


def _run(command: list[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT, timeout: int = 1800) -> None:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout[-2000:]}\n"
                           f"{result.stderr[-3000:]}")


def build(folder: Path) -> BinderEnv:
    """A fresh environment from binder/ alone, with postBuild run in it.

    An author iterating on the browser tests may set ``COURSE_BINDER_ENV`` to a folder: the environment
    is built there once and reused while it exists (CI always builds a fresh one).
    """
    requirements, notes = requirements_for_this_machine(folder)
    reuse = os.environ.get("COURSE_BINDER_ENV")
    env = BinderEnv(prefix=Path(reuse) if reuse else folder / "env", requirements=requirements, notes=notes)
    start = time.monotonic()
    if not (env.prefix / ".installed").exists():
        _run([sys.executable, "-m", "venv", str(env.prefix)])
        pip_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        _run([str(env.bin / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
              "-r", str(requirements)], env=pip_env)
        (env.prefix / ".installed").write_text(requirements.read_text(encoding="utf-8"), encoding="utf-8")
    else:
        env.notes.append(f"reusing the Binder environment in {env.prefix} (COURSE_BINDER_ENV)")
    env.seconds["install binder/requirements.txt"] = time.monotonic() - start
    start = time.monotonic()
    # repo2docker: `RUN ./binder/postBuild` from the repository root, the environment first on PATH
    _run([str(BINDER / "postBuild")], env={**env.environ(), "PYTHONPATH": ""})
    env.seconds["postBuild"] = time.monotonic() - start
    return env


def start_command(env: BinderEnv, port: int, token: str, home: Path) -> list[str]:
    """JupyterLab as a Binder launch starts it: through binder/start."""
    command = [
        str(BINDER / "start"), str(env.bin / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1",
        f"--port={port}", "--ServerApp.port_retries=0", f"--ServerApp.token={token}",
        f"--ServerApp.root_dir={ROOT}", "--LabApp.expose_app_in_browser=True",
        f"--LabApp.user_settings_dir={home / 'user-settings'}", f"--LabApp.workspaces_dir={home / 'workspaces'}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    return command
