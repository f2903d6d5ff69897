"""Interim demo: what tenantkit does today, on a real API Gateway sample event.

The full demo (the state-parks API served locally) replaces this script once
`tenantkit local` lands.
"""

from __future__ import annotations

import json
from pathlib import Path

from tenantkit import current_tenant, requires_roles, tenant_handler

EVENT = (
    Path(__file__).parent.parent / "tests" / "fixtures" / "aws-events" / "apiGatewayProxyEvent.json"
)


@tenant_handler
@requires_roles("admin", "member")
def add_park(event: dict[str, object], context: object = None) -> dict[str, object]:
    ctx = current_tenant()
    return {"statusCode": 201, "body": json.dumps({"tenant": ctx.tenant_id, "by": ctx.user_id})}


def main() -> None:
    base = json.loads(EVENT.read_text())
    cases = {
        "alice (texas admin)": {"userId": "alice", "tenantId": "texas", "roles": '["admin"]'},
        "carol (texas visitor)": {"userId": "carol", "tenantId": "texas", "roles": '["visitor"]'},
        "dave (no active tenant)": {"userId": "dave"},
        "no authorizer context": {},
    }
    for who, authorizer in cases.items():
        event = json.loads(json.dumps(base))
        event["requestContext"]["authorizer"] = authorizer
        event["headers"]["X-Tenant-Id"] = "washington"  # spoof attempt: ignored
        response = add_park(event)
        print(f"{who:28} -> {response['statusCode']} {response['body']}")


if __name__ == "__main__":
    main()
