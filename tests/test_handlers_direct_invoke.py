"""tenantkit.handlers: ``@tenant_handler(signer=...)`` on a direct ``Invoke``, the edges.

The mutation run (docs/testing.md) found three behaviours of the direct-invocation path
that no test pinned: why an event carrying an authorizer context is refused, a Lambda
context without ``tenant_id``, and the refusal's log line naming its reason.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest

from tenantkit import (
    TenantContext,
    current_tenant,
    current_tenant_or_none,
    tenant_handler,
    tenant_scope,
)
from tenantkit.errors import EnvelopeError
from tenantkit.events import EnvelopeSigner, SecretKey
from tests.conftest import load_event

SIGNER = EnvelopeSigner(key=SecretKey("an-envelope-secret-of-at-least-32-bytes!"))
FORGED_AUTHORIZER = {"tenantId": "victim", "userId": "mallory", "roles": '["admin"]'}


@tenant_handler(signer=SIGNER)
def reports(event: Any, context: object = None) -> tuple[str, Any]:
    return current_tenant().tenant_id, event


def carried(tenant: str, payload: object, signer: EnvelopeSigner = SIGNER) -> dict[str, str]:
    with tenant_scope(TenantContext(tenant_id=tenant, user_id="alice")):
        return {"tenantId": tenant, "envelope": signer.seal(payload, purpose="invoke:reports")}


def rest_event_without_authorizer() -> dict[str, Any]:
    event = load_event("apiGatewayProxyEvent.json")
    del event["requestContext"]["authorizer"]
    return event


@pytest.mark.parametrize(
    "event",
    [
        {"requestContext": {"authorizer": FORGED_AUTHORIZER}},
        {"requestContext": {"authorizer": {}}},
        rest_event_without_authorizer(),
        {"routeKey": "POST /x", "requestContext": {}},
    ],
    ids=["authorizer-only", "empty-authorizer", "rest-without-authorizer", "http-api-shaped"],
)
def test_an_api_event_or_an_authorizer_context_is_refused_for_being_one(
    event: dict[str, Any],
) -> None:
    """Each marker alone is refused by its own rule, not only because the event is no
    carried envelope: the rule holds whatever ``open_carried`` accepts."""
    with pytest.raises(EnvelopeError, match=r"authorizer context.*api_gateway=True"):
        reports(event, SimpleNamespace(function_name="reports", tenant_id="victim"))
    assert current_tenant_or_none() is None


def test_a_lambda_context_without_tenant_id_is_a_pool_function() -> None:
    """A Lambda context object that has no ``tenant_id`` attribute at all (a runtime
    without tenant isolation) means no isolation tenant, not a crash."""
    assert reports(carried("ohio", 7), SimpleNamespace(function_name="reports")) == ("ohio", 7)


def test_the_refusal_log_names_its_reason(caplog: pytest.LogCaptureFixture) -> None:
    other = EnvelopeSigner(key=SecretKey("a-different-secret-of-at-least-32-bytes"))
    with (
        caplog.at_level(logging.WARNING, logger="tenantkit.handlers"),
        pytest.raises(EnvelopeError),
    ):
        reports(carried("texas", 1, other), SimpleNamespace(function_name="reports"))
    [record] = [r for r in caplog.records if r.name == "tenantkit.handlers"]
    assert "signature does not verify" in record.getMessage()
    assert "a-different-secret" not in caplog.text
