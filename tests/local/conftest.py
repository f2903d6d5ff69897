"""Fixtures for the local tests: the fixture template's stack and gateway."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tenantkit.local.backend import Backend
from tenantkit.local.functions import Runtime
from tenantkit.local.gateway import Gateway
from tenantkit.local.stack import build_stack
from tenantkit.local.stack_specs import Stack
from tenantkit.local.template import parse_template

FIXTURES = Path(__file__).parent / "fixtures"
#: The EventBridge and Step Functions fixture template.
ORCHESTRATION = FIXTURES / "orchestration" / "template.yaml"


@contextmanager
def running_backend() -> Iterator[Backend]:
    """An in-process moto backend, started for the block."""
    backend = Backend()
    backend.start()
    try:
        yield backend
    finally:
        backend.stop()


@contextmanager
def built_stack(template: Path) -> Iterator[Stack]:
    """The stack of ``template`` on in-process moto, for the block."""
    with running_backend() as backend:
        yield build_stack(parse_template(template), backend)


@contextmanager
def gateway_on(template: Path) -> Iterator[Gateway]:
    """The gateway of ``template``'s stack, its functions loaded, for the block."""
    with built_stack(template) as stack:
        runtime = Runtime(stack.functions)
        runtime.load()
        try:
            yield Gateway(stack, runtime)
        finally:
            runtime.close()


def build_on(backend: Backend, template: Path, stack_name: str) -> Stack:
    """``template``'s stack on a running ``backend``, under its own stack name."""
    return build_stack(parse_template(template), backend, stack_name=stack_name)


def aws_client(service: str) -> Any:
    """A boto3 client of ``service``, reaching whichever backend is running."""
    import boto3

    return boto3.client(service, region_name="us-east-1")  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with built_stack(FIXTURES / "template.yaml") as built:
        yield built


@pytest.fixture(scope="module")
def gateway(stack: Stack) -> Gateway:
    runtime = Runtime(stack.functions)
    runtime.load()
    return Gateway(stack, runtime)
