"""openapi.yaml describes the served API: valid, complete, and schemathesis finds no 5xx."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import free_port, stop_pid, wait_http
from tests.examples.conftest import EXAMPLE, template_routes

SECRET = "openapi-test-secret-0123456789abcdefgh"
SPEC = EXAMPLE / "openapi.yaml"


def load_spec() -> dict[str, object]:
    with SPEC.open() as f:
        spec: dict[str, object] = yaml.safe_load(f)
    return spec


def test_the_spec_is_valid_openapi() -> None:
    from openapi_spec_validator import validate

    validate(load_spec())  # type: ignore[arg-type]


def test_the_spec_lists_exactly_the_templates_routes() -> None:
    paths = load_spec()["paths"]
    assert isinstance(paths, dict)
    documented = {
        (method.upper(), path)
        for path, item in paths.items()
        for method in item
        if method in {"get", "put", "post", "delete", "patch"}
    }
    assert documented == set(template_routes())


@pytest.mark.integration
def test_schemathesis_finds_no_server_error_and_no_schema_violation(tmp_path: Path) -> None:
    st = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert st is not None
    port = free_port()
    tokens = tmp_path / "tokens.txt"
    with tokens.open("wb") as out:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tenantkit.cli",
                "local",
                str(EXAMPLE / "template.yaml"),
                "--port",
                str(port),
                "--seed",
                str(EXAMPLE / "seed.json"),
                "--parameter-overrides",
                f"JwtSecret={SECRET}",
                "--print-tokens",
            ],
            stdout=out,
            stderr=subprocess.DEVNULL,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/_local/health", timeout=60, proc=server)
        lines = [line.split() for line in tokens.read_text().splitlines()]
        users = {parts[1]: parts[2] for parts in lines if len(parts) == 3 and parts[0] == "token"}
        assert set(users) == {"alice", "bob", "carol", "dave"}
        for user, token in sorted(users.items()):
            run = subprocess.run(
                [
                    st,
                    "run",
                    str(SPEC),
                    "--url",
                    url,
                    "--header",
                    f"Authorization: Bearer {token}",
                    "--checks",
                    "not_a_server_error,response_schema_conformance,"
                    "status_code_conformance,content_type_conformance",
                    "--phases",
                    "examples,fuzzing",
                    "--max-examples",
                    "6",
                    "--seed",
                    "7",
                    "--generation-database",
                    "none",
                ],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
                cwd=tmp_path,
            )
            assert run.returncode == 0, (user, run.stdout[-4000:])
    finally:
        stop_pid(server)
