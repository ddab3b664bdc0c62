"""Block every network connection (and name lookup) that does not stay on this machine.

The course promises that the default path of every notebook runs offline. The
notebook tests put ``tests/offline`` on ``PYTHONPATH``, so ``sitecustomize`` installs
this guard in every Python process they start, kernels included. A blocked
connection raises ``OfflineViolation`` and prints a line on stderr, which nbval
compares, so the offending cell fails loudly even when library code catches the
exception (as download helpers do).
"""

from __future__ import annotations

import ipaddress
import socket
import sys

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


class OfflineViolation(ConnectionRefusedError):
    """A connection to a non-loopback address was attempted while the guard is on."""


def is_local(address) -> bool:
    """True for loopback IP addresses, 'localhost', and non-IP (e.g. Unix socket) addresses."""
    if not isinstance(address, tuple):
        return True  # AF_UNIX paths and the like never leave the machine
    host = address[0]
    if isinstance(host, bytes):
        host = host.decode()
    host = str(host).split("%")[0]
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost would need DNS: that is the network


def _refuse(address) -> None:
    message = (
        f"offline guard: blocked a network connection to {address!r}. The default path of every "
        "notebook must run offline; put downloads behind COURSE_SCALE=full."
    )
    print(message, file=sys.stderr)
    raise OfflineViolation(message)


def needs_dns(host) -> bool:
    """True when looking ``host`` up would ask a name server (not an IP literal, not localhost)."""
    if host is None:
        return False
    if isinstance(host, bytes):
        host = host.decode()
    host = str(host).split("%")[0]
    if host in _LOCAL_NAMES:
        return False
    try:
        ipaddress.ip_address(host)
        return False
    except ValueError:
        return True


def install(connect=None, connect_ex=None, getaddrinfo=None) -> None:
    """Wrap ``socket.socket.connect``/``connect_ex`` and ``socket.getaddrinfo``.

    The originals can be injected for tests, so that a test never reaches the network
    even if the guard were broken.
    """
    original_connect = connect or socket.socket.connect
    original_connect_ex = connect_ex or socket.socket.connect_ex
    original_getaddrinfo = getaddrinfo or socket.getaddrinfo

    def guarded_getaddrinfo(host, *args, **kwargs):
        if needs_dns(host):
            _refuse((host, *args[:1]))
        return original_getaddrinfo(host, *args, **kwargs)

    def guarded_connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not is_local(address):
            _refuse(address)
        return original_connect(self, address)

    def guarded_connect_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not is_local(address):
            _refuse(address)
        return original_connect_ex(self, address)

    socket.socket.connect = guarded_connect
    socket.socket.connect_ex = guarded_connect_ex
    socket.getaddrinfo = guarded_getaddrinfo
