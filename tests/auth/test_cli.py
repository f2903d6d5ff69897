"""``tenantkit token`` and ``tenantkit policy``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tenantkit.auth import SecretKey
from tenantkit.auth.verifier import TokenVerifier
from tenantkit.cli import main

from .conftest import ROLE_MAP, SECRET

ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/parks"


def test_token_prints_a_token_the_verifier_accepts(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["token", "--secret", SECRET, "--sub", "alice", "--issuer", "I", "--audience", "A"]
    assert main(argv) == 0
    token = capsys.readouterr().out.strip()
    verifier = TokenVerifier(algorithm="HS256", keys=SecretKey(SECRET), issuer="I", audience="A")
    verified = verifier.verify(f"Bearer {token}")
    assert verified.subject == "alice"
    assert verified.claims["exp"] - verified.claims["iat"] == 3600


def test_token_refuses_a_short_secret(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "--secret", "short", "--sub", "alice"]) == 2
    captured = capsys.readouterr()
    assert "32 bytes" in captured.err
    assert captured.out == ""


def test_policy_prints_the_compiled_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "rolemap.json"
    path.write_text(json.dumps(ROLE_MAP))
    assert main(["policy", str(path), "--method-arn", ARN, "--roles", "member,visitor"]) == 0
    policy = json.loads(capsys.readouterr().out)
    effects: dict[str, list[str]] = {}
    for statement in policy["Statement"]:
        effects.setdefault(statement["Effect"], []).extend(statement["Resource"])
    prefix = ARN.removesuffix("/GET/parks")
    assert f"{prefix}/GET/parks" in effects["Allow"]
    assert f"{prefix}/POST/parks" in effects["Deny"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--roles", "owner"], "does not declare"),
        (["--roles", "admin", "--method-arn", "nope"], "ARN"),
    ],
)
def test_policy_errors_are_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    path = tmp_path / "rolemap.json"
    path.write_text(json.dumps(ROLE_MAP))
    assert main(["policy", str(path), "--method-arn", ARN, *extra]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("command", ["token", "policy"])
def test_help(command: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tenantkit.cli", command, "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"tenantkit {command}" in result.stdout
    assert "--secret" in result.stdout or "--method-arn" in result.stdout
