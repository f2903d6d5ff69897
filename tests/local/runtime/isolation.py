"""The isolation fixture's stack (tests/local/fixtures/isolation), for the runtime's
tests and the SQS poller's, and a request through its gateway."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tenantkit.local.backend import Backend
from tenantkit.local.gateway import Gateway, Request, Response
from tenantkit.local.stack import build_stack
from tenantkit.local.stack_specs import Stack
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
