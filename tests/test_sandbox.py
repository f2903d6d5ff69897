"""The test suite itself reaches loopback only (see tests/conftest.py)."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest


@pytest.mark.parametrize("host", ["hooks.example.com", "169.254.169.254", "10.0.0.5"])
def test_non_loopback_addresses_are_refused(host: str) -> None:
    with pytest.raises(OSError, match="loopback only"):
        socket.getaddrinfo(host, 443)
    with socket.socket() as s, pytest.raises(OSError, match="loopback only"):
        s.connect((host, 443))


def test_loopback_is_allowed() -> None:
    assert socket.getaddrinfo("127.0.0.1", 80)
    assert socket.getaddrinfo("localhost", 80)


def test_subprocesses_reach_loopback_only_too() -> None:
    probe = (
        "import socket\n"
        "try:\n    socket.getaddrinfo('hooks.example.com', 443)\n"
        "except OSError as e:\n    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert "loopback only" in out
