"""Fixtures for the local tests: the fixture template's stack and gateway."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tenantkit.local.backend import Backend
from tenantkit.local.functions import Runtime
from tenantkit.local.gateway import Gateway
from tenantkit.local.stack import build_stack
from tenantkit.local.stack_specs import Stack
from tenantkit.local.template import parse_template

FIXTURES = Path(__file__).parent / "fixtures"


@contextmanager
def built_stack(template: Path) -> Iterator[Stack]:
    """The stack of ``template`` on in-process moto, for the block."""
    backend = Backend()
    backend.start()
    try:
        yield build_stack(parse_template(template), backend)
    finally:
        backend.stop()


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with built_stack(FIXTURES / "template.yaml") as built:
        yield built


@pytest.fixture(scope="module")
def gateway(stack: Stack) -> Gateway:
    runtime = Runtime(stack.functions)
    runtime.load()
    return Gateway(stack, runtime)
