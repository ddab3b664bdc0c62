"""The offline guard refuses non-loopback connections before any packet is sent."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest

GUARD_DIR = Path(__file__).resolve().parents[1] / "offline"
sys.path.insert(0, str(GUARD_DIR))
import offline_guard  # noqa: E402


@pytest.mark.parametrize(
    ("address", "local"),
    [(("127.0.0.1", 80), True), (("127.5.5.5", 1), True), (("::1", 80, 0, 0), True), (("localhost", 8888), True),
     (("8.8.8.8", 53), False), (("10.1.2.3", 80), False), (("pypi.org", 443), False), ("/tmp/sock", True)],
)
def test_is_local(address, local):
    assert offline_guard.is_local(address) is local


def test_guard_blocks_before_the_real_connect(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(socket.socket, "connect", socket.socket.connect)
    monkeypatch.setattr(socket.socket, "connect_ex", socket.socket.connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", socket.getaddrinfo)
    offline_guard.install(connect=lambda s, a: calls.append(a), connect_ex=lambda s, a: calls.append(a) or 0,
                          getaddrinfo=lambda *a, **k: calls.append(a[0]) or [])
    with pytest.raises(offline_guard.OfflineViolation, match="pypi.org"):
        socket.getaddrinfo("pypi.org", 443)
    assert socket.getaddrinfo("localhost", 80) == [] and socket.getaddrinfo("203.0.113.7", 80) == []
    with socket.socket() as sock:
        with pytest.raises(offline_guard.OfflineViolation, match="blocked a network connection"):
            sock.connect(("203.0.113.7", 80))
        with pytest.raises(offline_guard.OfflineViolation):
            sock.connect_ex(("203.0.113.7", 80))
        sock.connect(("127.0.0.1", 9))
    assert calls == ["localhost", "203.0.113.7", ("127.0.0.1", 9)], "only local work reached the real socket"
    assert "offline guard" in capsys.readouterr().err


def test_sitecustomize_installs_the_guard_in_new_interpreters():
    code = "import socket; print(socket.socket.connect.__name__, socket.getaddrinfo.__name__)"
    out = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(GUARD_DIR)},
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "guarded_connect guarded_getaddrinfo"
