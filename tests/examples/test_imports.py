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
      {{"boto3", "botocore", "jwt", "pydantic", "tenantkit", "cryptography"}})))
"""

# module -> top-level names it must not load at import time
FORBIDDEN = {
    "authorizer": {"boto3", "botocore", "jwt", "pydantic", "tenantkit.events", "tenantkit.dynamo"},
    "parks": {"boto3", "botocore", "jwt", "tenantkit.events", "tenantkit.auth"},
    "webhooks": {"boto3", "botocore", "jwt", "tenantkit.auth"},
    "settings": {"boto3", "botocore", "jwt", "tenantkit.events", "tenantkit.dynamo"},
    "statuses": {"jwt", "tenantkit.auth"},
}


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
        assert not any(m == name or m.startswith(name + ".") for m in loaded), (module, name)
