"""Let a test process reach loopback addresses only.

Installed in the pytest process by tests/conftest.py, and in every Python subprocess
the tests start (tenantkit local, moto server, the demo) through the sitecustomize.py
beside this file, which conftest puts on PYTHONPATH. A webhook, an SDK call or a DNS
lookup that would leave the machine fails loudly instead.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def is_loopback(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str) or host == "localhost":
        return host == "localhost"
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0]).is_loopback
    except ValueError:
        return False


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if host is not None and not is_loopback(host):
        raise OSError(f"tests reach loopback only; refused to resolve {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


def _checked(address: Any) -> Any:
    if isinstance(address, tuple) and not is_loopback(address[0]):
        raise OSError(f"tests reach loopback only; refused to connect to {address[0]!r}")
    return address


def _connect(self: socket.socket, address: Any) -> None:
    _real_connect(self, _checked(address))


def _connect_ex(self: socket.socket, address: Any) -> int:
    return _real_connect_ex(self, _checked(address))


def install() -> None:
    socket.getaddrinfo = _getaddrinfo  # type: ignore[assignment]
    socket.socket.connect = _connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]
