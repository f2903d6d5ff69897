"""Shared fixtures: fake AWS credentials, and a moto server on a free loopback port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

FIXTURES = Path(__file__).parent / "fixtures"

# Never let a test reach real AWS: fake credentials, a fixed region, no profile.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SECURITY_TOKEN="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
)
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)

# `make mutate` runs the tests once per mutant (docs/testing.md). Its profile is small, so
# the run fits in about 30 minutes, and derandomised, so a mutant is killed on every run or
# on none. No deadline or too_slow check: a slow, busy machine must not pass for a kill.
# Tests that pin max_examples inherit the rest at import time; see pytest_collection_modifyitems.
settings.register_profile(
    "mutation",
    max_examples=50,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=False,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under the mutation profile, cut pinned example counts down to the profile's.

    A pin such as max_examples=300 is a minimum for `make test`. A mutation run repeats
    each test for every mutant, and at 300 the routing property tests alone would take
    most of its half hour. Hypothesis reads the settings from the test's
    ``_hypothesis_internal_use_settings`` when it runs.
    """
    if os.environ.get("HYPOTHESIS_PROFILE") != "mutation":
        return
    cap = settings.get_profile("mutation").max_examples
    for item in items:
        test = getattr(getattr(item, "obj", None), "__func__", getattr(item, "obj", None))
        pinned = getattr(test, "_hypothesis_internal_use_settings", None)
        if isinstance(pinned, settings) and pinned.max_examples > cap:
            test._hypothesis_internal_use_settings = settings(pinned, max_examples=cap)


# Every test process, and every Python subprocess the tests start, may talk to
# loopback only (see tests/loopback/loopback_guard.py).
_LOOPBACK = Path(__file__).parent / "loopback"
sys.path.insert(0, str(_LOOPBACK))
import loopback_guard  # noqa: E402

loopback_guard.install()
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(_LOOPBACK), os.environ.get("PYTHONPATH")) if p
)


def load_event(name: str) -> dict[str, Any]:
    """A real AWS sample event from tests/fixtures/aws-events (see its LICENSE)."""
    with (FIXTURES / "aws-events" / name).open() as f:
        event: dict[str, Any] = json.load(f)
    return event


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_http(url: str, timeout: float = 20.0, proc: subprocess.Popen[Any] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - loopback only
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def stop_pid(proc: subprocess.Popen[Any]) -> None:
    """Stop a process this test session started, by its PID."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A moto server on a free 127.0.0.1 port; yields its endpoint URL, stops it by PID."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/moto-api/", proc=proc)
        yield url
    finally:
        stop_pid(proc)


@pytest.fixture
def moto_reset(moto_server: str) -> str:
    """The shared moto server, reset to empty before the test."""
    req = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")  # noqa: S310
    urllib.request.urlopen(req, timeout=5).close()  # noqa: S310 - loopback only
    return moto_server
