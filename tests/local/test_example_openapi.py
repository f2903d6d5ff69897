"""Schemathesis against the example app served by ``tenantkit local``, as each seeded user.

Every generated request must get a non-5xx answer that conforms to
``examples/state_parks/openapi.yaml`` (status code, content type, body schema).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from tests.local.test_server import Local, start_local

EXAMPLE = Path(__file__).parents[2] / "examples" / "state_parks"
SECRET = "openapi-test-secret-0123456789abcdef0123"
USERS = ("alice", "bob", "carol", "dave")

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Local, dict[str, str]]]:
    from tests.conftest import stop_pid

    server = start_local(
        tmp_path_factory.mktemp("openapi"),
        str(EXAMPLE / "template.yaml"),
        "--seed",
        str(EXAMPLE / "seed.json"),
        "--print-tokens",
        "--parameter-overrides",
        f"JwtSecret={SECRET}",
        timeout=60,
    )
    lines = server.stdout.read_text().splitlines()
    tokens = {line.split()[1]: line.split()[2] for line in lines if line.startswith("token ")}
    try:
        yield server, tokens
    finally:
        stop_pid(server.proc)


@pytest.mark.parametrize("user", USERS)
def test_responses_conform_and_are_never_5xx(
    example: tuple[Local, dict[str, str]], user: str
) -> None:
    import schemathesis
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    server, tokens = example
    schema = schemathesis.openapi.from_path(EXAMPLE / "openapi.yaml")
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    headers = {"Authorization": f"Bearer {tokens[user]}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations
    before = server.log().count(f" user={user} ")
    for operation in operations:

        @settings(
            max_examples=8,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=server.url, headers=headers, checks=checks)

        check()
    log = server.log()
    assert "Traceback" not in log
    # The generated requests did reach the handlers as this user.
    assert log.count(f" user={user} ") - before >= len(operations)
