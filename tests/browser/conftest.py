"""Fixtures for the real-browser tests: a throwaway JupyterLab server and headless Debian Chromium.

The server listens on a free loopback port with a random token, and keeps its config, runtime,
settings and workspace files in a temporary folder, so it never touches the user's JupyterLab.
It uses the course's Binder settings (binder/lab-settings/overrides.json: start the kernel without
asking, no news toast). Tests skip, with a message that says what to install, when Chromium or
Playwright is missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from course_utils.dev.settings import RUN_ENV

from . import binder_env

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update",
]
SERVER_START_TIMEOUT = 90


@dataclass
class LabServer:
    url: str
    token: str
    process: subprocess.Popen
    log: Path
    started: float = 0.0  # time.monotonic() when the server process was started
    env: binder_env.BinderEnv | None = None

    def notebook_url(self, path: str) -> str:
        return f"{self.url}/lab/tree/{path}?token={self.token}&reset"


def _no_autosave(user_settings: Path) -> None:
    """The tests run the committed notebooks in the browser: JupyterLab must never save them back."""
    folder = user_settings / "@jupyterlab" / "docmanager-extension"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plugin.jupyterlab-settings").write_text(json.dumps({"autosave": False}), encoding="utf-8")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_ready(url: str, token: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited early (code {process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"JupyterLab did not answer within {SERVER_START_TIMEOUT} s:\n{log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen) -> None:
    """Stop the server we started, and its kernels, through its own process group."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.skip(
            f"Chromium is not installed at {CHROMIUM}: the browser test needs Debian's chromium package "
            "(`apt-get install chromium`; .ci/run installs it in CI). Set COURSE_CHROMIUM to use another binary."
        )
    pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright).")
    return CHROMIUM


@pytest.fixture(scope="session")
def lab_server(chromium_path, tmp_path_factory) -> LabServer:
    pytest.importorskip("jupyterlab", reason="JupyterLab is not installed.")
    home = tmp_path_factory.mktemp("jupyterlab")
    settings = home / "app-settings"
    settings.mkdir()
    overrides = json.loads((ROOT / "binder" / "lab-settings" / "overrides.json").read_text(encoding="utf-8"))
    (settings / "overrides.json").write_text(json.dumps(overrides, indent=2), encoding="utf-8")
    _no_autosave(home / "user-settings")
    port, token = _free_port(), secrets.token_hex(24)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "MPLBACKEND"))}
    env.update(
        JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        IPYTHONDIR=str(home / "ipython"), **RUN_ENV,
    )
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        "--ServerApp.port_retries=0", f"--ServerApp.token={token}", f"--ServerApp.root_dir={ROOT}",
        f"--LabServerApp.app_settings_dir={settings}", f"--LabApp.user_settings_dir={home / 'user-settings'}",
        f"--LabApp.workspaces_dir={home / 'workspaces'}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = home / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(url, token, process, log)
        yield LabServer(url=url, token=token, process=process, log=log)
    finally:
        _stop(process)
        shutil.rmtree(home / "runtime", ignore_errors=True)


@pytest.fixture
def page(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


@pytest.fixture(scope="session")
def binder_lab(chromium_path, tmp_path_factory) -> LabServer:
    """JupyterLab in a simulated Binder launch (tests/browser/binder_env.py): a fresh environment from
    binder/ alone, postBuild run in it, the server started through binder/start, offline."""
    folder = tmp_path_factory.mktemp("binder")
    env = binder_env.build(folder)
    for note in env.notes:
        print(f"binder: {note}")
    for step, seconds in env.seconds.items():
        print(f"binder: {step}: {seconds:.0f} s")
    home = folder / "home"
    _no_autosave(home / "user-settings")
    port, token = _free_port(), secrets.token_hex(24)
    environ = env.environ(JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
                          IPYTHONDIR=str(home / "ipython"), PYTHONPATH=str(binder_env.OFFLINE_GUARD))
    log = folder / "server.log"
    started = time.monotonic()
    with open(log, "wb") as out:
        process = subprocess.Popen(binder_env.start_command(env, port, token, home), cwd=ROOT, env=environ,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(url, token, process, log)
        yield LabServer(url=url, token=token, process=process, log=log, started=started, env=env)
    finally:
        _stop(process)
        shutil.rmtree(home / "runtime", ignore_errors=True)
