"""The walkthrough, over real HTTP, against `tenantkit local` serving the example."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import free_port, stop_pid, wait_http
from tests.examples.conftest import AUDIENCE, EXAMPLE, ISSUER, load_definition, load_template

SECRET = "walkthrough-test-secret-0123456789abcdef"


@pytest.mark.integration
def test_make_demo_once_passes_every_step() -> None:
    """What `make demo` runs, in DEMO_ONCE=1 mode: serve, walk through, stop, exit 0."""
    demo = subprocess.Popen(
        [sys.executable, str(EXAMPLE.parent / "demo.py")],
        env={**os.environ, "DEMO_ONCE": "1", "DEMO_PORT": str(free_port())},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = demo.communicate(timeout=300)
    finally:
        # On a timeout, SIGTERM makes demo.py stop the server it started, then exit.
        stop_pid(demo)
    assert demo.returncode == 0, out[-3000:] + err[-2000:]
    assert "FAIL" not in out
    assert "All checks passed" in out
    assert "receiver got:" in out
    assert out.count("curl -s -H 'Authorization: Bearer ") >= 4


@pytest.mark.integration
def test_tokens_signed_with_the_templates_secret_are_accepted(tmp_path: Path) -> None:
    port = free_port()
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
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/_local/health", timeout=60, proc=server)
        for user, token in walkthrough_module().sign_tokens(SECRET, ISSUER, AUDIENCE).items():
            request = urllib.request.Request(f"{url}/settings")  # noqa: S310 - loopback
            request.add_header("Authorization", f"Bearer {token}")
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                assert response.status == 200, user
    finally:
        stop_pid(server)


def walkthrough_module() -> ModuleType:
    sys.path.insert(0, str(EXAMPLE))
    try:
        import walkthrough
    finally:
        sys.path.remove(str(EXAMPLE))
    return walkthrough


def test_the_walkthrough_uses_the_templates_issuer_audience_and_cache_times() -> None:
    import config

    walkthrough = walkthrough_module()

    parameters = load_template()["Parameters"]
    assert parameters["JwtIssuer"]["Default"] == walkthrough.ISSUER
    assert parameters["JwtAudience"]["Default"] == walkthrough.AUDIENCE
    [scheme] = load_definition()["components"]["securitySchemes"].values()
    ttl = scheme["x-amazon-apigateway-authorizer"]["authorizerResultTtlInSeconds"]
    assert ttl == walkthrough.AUTHORIZER_TTL
    assert config.USER_RECORD_TTL_SECONDS == walkthrough.USER_RECORD_TTL
    assert config.TENANT_STATUS_TTL_SECONDS == walkthrough.TENANT_STATUS_TTL


def test_the_walkthrough_fails_when_nothing_answers(tmp_path: Path) -> None:
    walk = subprocess.run(
        [
            sys.executable,
            str(EXAMPLE / "walkthrough.py"),
            "--url",
            f"http://127.0.0.1:{free_port()}",
            "--jwt-secret",
            SECRET,
            "--ready-timeout",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert walk.returncode == 2
    assert "nothing answers" in walk.stderr
