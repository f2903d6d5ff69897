"""Envelope-only consumers do not pay for boto3, DynamoDB or SNS at cold start."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import tenantkit.events
from tenantkit.events import EndpointPolicy, EnvelopeSigner, process_sqs_batch, send_message
print(",".join(sorted(m for m in ("boto3", "botocore", "tenantkit.dynamo",
                                   "tenantkit.events.topics") if m in sys.modules)))
from tenantkit.events import TopicRegistry
print("tenantkit.events.topics" in sys.modules)
"""


def test_envelopes_do_not_import_boto3_or_the_registry() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == ["", "True"]
