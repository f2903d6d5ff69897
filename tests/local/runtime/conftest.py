"""The isolation fixture's stack, runtime and gateway, on a loopback moto server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tenantkit.local.backend import Backend
from tenantkit.local.functions import Runtime
from tenantkit.local.gateway import Gateway, Request, Response
from tenantkit.local.stack import Stack, build_stack
from tenantkit.local.template import parse_template

ISOLATION = Path(__file__).parents[1] / "fixtures" / "isolation" / "template.yaml"


@contextmanager
def isolation_stack() -> Iterator[tuple[Backend, Stack]]:
    """The isolation fixture's stack on a fresh loopback moto server, for the block."""
    backend = Backend()
    backend.start()
    try:
        yield backend, build_stack(parse_template(ISOLATION), backend)
    finally:
        backend.stop()


@pytest.fixture(scope="module")
def built() -> Iterator[tuple[Backend, Stack]]:
    with isolation_stack() as started:
        yield started


@pytest.fixture(scope="module")
def backend(built: tuple[Backend, Stack]) -> Backend:
    return built[0]


@pytest.fixture(scope="module")
def stack(built: tuple[Backend, Stack]) -> Stack:
    return built[1]


@pytest.fixture
def runtime(stack: Stack, backend: Backend) -> Iterator[Runtime]:
    """A fresh runtime per test (no warm environment carried over), serving Invoke."""
    fresh = Runtime(stack.functions, concurrency=2)
    fresh.load()
    backend.serve_lambda(fresh)
    try:
        yield fresh
    finally:
        fresh.close()


@pytest.fixture
def gateway(stack: Stack, runtime: Runtime) -> Gateway:
    return Gateway(stack, runtime)


def post(gateway: Gateway, path: str, body: object, tenant: str = "texas") -> Response:
    return gateway.handle(
        Request(
            "POST",
            path,
            [],
            [("X-Tenant", tenant), ("Content-Type", "application/json")],
            json.dumps(body).encode(),
        )
    )
