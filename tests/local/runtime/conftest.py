"""The isolation fixture's stack, runtime and gateway, on a loopback moto server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tenantkit.local.backend import Backend
from tenantkit.local.functions import Runtime
from tenantkit.local.gateway import Gateway
from tenantkit.local.stack_specs import Stack
from tests.local.runtime.isolation import isolation_stack


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
