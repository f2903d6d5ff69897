"""Importing tenantkit stays cheap: no boto3, no PyJWT, no pydantic, no network."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import socket, sys
def refuse(*args, **kwargs):
    raise AssertionError("network call at import time")
socket.socket.connect = refuse
socket.create_connection = refuse
import tenantkit
heavy = sorted(m for m in ("boto3", "botocore", "jwt", "pydantic", "aws_lambda_powertools")
               if m in sys.modules)
print(",".join(heavy))
"""


def test_import_tenantkit_pulls_in_nothing_heavy() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == ""
