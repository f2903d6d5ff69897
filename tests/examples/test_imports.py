"""Cold start: importing a handler module creates no client and loads only what it uses."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.examples.conftest import APP

PROBE = """
import json, sys
sys.path.insert(0, {app!r})
import {module}
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in
      {{"boto3", "botocore", "jwt", "pydantic", "tenantkit", "cryptography",
        "aws_lambda_powertools", "web", "models"}})))
"""

# The SDK: boto3, and botocore's submodules. Powertools (parks, webhooks, settings)
# imports the bare ``botocore`` package, its __init__ alone (about 1 ms), to add its user
# agent to clients; the session, client and loader machinery is what costs, and stays out.
SDK = {"boto3", "botocore.*"}
# module -> names it must not load at import time ("x.*": x's submodules, not x itself)
FORBIDDEN = {
    "authorizer": {"boto3", "botocore", "jwt", "pydantic", "tenantkit.events", "tenantkit.dynamo"},
    "webhooks": SDK | {"jwt", "tenantkit.auth"},
    "settings": SDK | {"jwt", "tenantkit.events", "tenantkit.dynamo"},
    # The state machine's task: no API resolver, no request models, no SDK until it runs.
    "announcer": SDK
    | {"jwt", "tenantkit.auth.authorizer", "pydantic", "aws_lambda_powertools"}
    | {"web", "models", "tenantkit.dynamo"},
}


def loads(loaded: set[str], name: str) -> bool:
    if name.endswith(".*"):
        return any(m.startswith(name[:-1]) for m in loaded)
    return any(m == name or m.startswith(name + ".") for m in loaded)


@pytest.mark.parametrize("module", sorted(FORBIDDEN))
def test_importing_a_handler_loads_only_what_it_uses(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(app=str(APP), module=module)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"PATH": "", "AWS_DEFAULT_REGION": "us-east-1"},
    )
    loaded = set(json.loads(result.stdout))
    for name in FORBIDDEN[module]:
        assert not loads(loaded, name), (module, name)


def test_the_sdk_check_sees_botocore_submodules() -> None:
    assert loads({"botocore", "botocore.session"}, "botocore.*")
    assert not loads({"botocore"}, "botocore.*")
    assert loads({"jwt"}, "jwt")
    assert not loads({"jwtx"}, "jwt")
