"""The seed file contract and the development tokens."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jwt
import pytest

from tenantkit.local.functions import FunctionSpec
from tenantkit.local.seed import load_seed, shared_environment, tokens
from tenantkit.local.stack_specs import Stack
from tenantkit.local.template import Template, TemplateError

SECRET = "seed-test-secret-0123456789abcdef01234567"


def write(tmp_path: Path, content: Any) -> Path:
    path = tmp_path / "seed.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON"),
        ([], "must hold a JSON object"),
        ({"users": {"id": "a"}}, '"users" must be a list of objects with an id'),
        ({"users": [{"name": "a"}]}, '"users" must be a list of objects with an id'),
        ({"users": [{"id": ""}]}, '"users" must be a list of objects with an id'),
    ],
)
def test_bad_seed_files_are_refused(tmp_path: Path, content: Any, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        load_seed(write(tmp_path, content))


def test_missing_seed_file(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="cannot read seed file"):
        load_seed(tmp_path / "absent.json")


def test_tokens_carry_issuer_audience_and_profile_claims() -> None:
    seed = {"users": [{"id": "alice", "email": "a@x.test", "given_name": "Al", "lastName": "A"}]}
    parameters = {"JwtSecret": SECRET, "JwtIssuer": "https://iss.test", "JwtAudience": "aud"}
    ((user, token),) = tokens(seed, parameters)
    claims = jwt.decode(
        token, SECRET, algorithms=["HS256"], issuer="https://iss.test", audience="aud"
    )
    assert user == "alice"
    assert (claims["sub"], claims["email"], claims["given_name"], claims["family_name"]) == (
        "alice",
        "a@x.test",
        "Al",
        "A",
    )
    assert claims["exp"] - claims["iat"] == 12 * 3600
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_tokens_without_issuer_and_audience_parameters() -> None:
    ((_, token),) = tokens({"users": [{"id": "bob"}]}, {"JwtSecret": SECRET})
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert "iss" not in claims
    assert "aud" not in claims


def test_tokens_need_the_jwt_secret_parameter() -> None:
    with pytest.raises(TemplateError, match="--print-tokens needs a JwtSecret template parameter"):
        tokens({"users": [{"id": "bob"}]}, {})


def test_shared_environment_leaves_out_conflicts(tmp_path: Path) -> None:
    stack = Stack(Template(tmp_path / "t.yaml", {}, {}), "us-east-1", "123456789012")
    for name, environment in (
        ("A", {"TABLE": "t", "ONLY_A": "a", "MODE": "x"}),
        ("B", {"TABLE": "t", "MODE": "y"}),
    ):
        stack.functions[name] = FunctionSpec(
            name, name, f"arn:{name}", "m.h", tmp_path, "python3.12", environment=environment
        )
    assert shared_environment(stack) == {"TABLE": "t", "ONLY_A": "a"}
