"""The ``mock`` integration: no backend. The request template's ``statusCode`` (200 when
it names none) selects the integration response, whose template writes the body."""

from __future__ import annotations

import json
from typing import Any

from tenantkit.local.gateway.context import Call
from tenantkit.local.gateway.integrations.transform import (
    BackendAnswer,
    integration_response,
    request_payload,
)
from tenantkit.local.gateway.messages import Response
from tenantkit.local.template.openapi import Integration

__all__ = ["mock"]


def mock(
    call: Call, integration: Integration, context: dict[str, Any], params: dict[str, Any]
) -> Response:
    mapped = request_payload(call, integration, context, params)
    try:
        rendered = json.loads(mapped.body) if mapped.body.strip() else {}
    except ValueError:
        rendered = {}
    status = rendered.get("statusCode", 200) if isinstance(rendered, dict) else 200
    if isinstance(status, bool) or not isinstance(status, int):
        status = 200
    return integration_response(call, integration, mapped, BackendAnswer(status, "", {}))
