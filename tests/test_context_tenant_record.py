"""tenantkit.context: the tenant record's tier and table travel from the authorizer context.

TenantTable's placement and metering read ``ctx.tier`` and ``ctx.table``; the mutation
run (docs/testing.md) found nothing that checked ``from_authorizer`` fills them in.
"""

from __future__ import annotations

from typing import Any

import pytest

from tenantkit import TenantContext
from tests.conftest import load_event

RECORD = {"tenantId": "texas", "userId": "alice", "tier": "premium", "table": "parks-texas"}


def rest_event(authorizer: dict[str, Any]) -> dict[str, Any]:
    event = load_event("apiGatewayProxyEvent.json")
    event["requestContext"]["authorizer"] = authorizer
    return event


def test_the_authorizers_tier_and_table_reach_the_context() -> None:
    ctx = TenantContext.from_authorizer(RECORD)
    assert (ctx.tier, ctx.table) == ("premium", "parks-texas")
    from_event = TenantContext.from_event(rest_event(RECORD))
    assert (from_event.tier, from_event.table) == ("premium", "parks-texas")


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({}, (None, None)),
        ({"tier": "", "table": ""}, (None, None)),
        ({"tier": "basic"}, ("basic", None)),
        ({"table": "parks-pool"}, (None, "parks-pool")),
    ],
    ids=["absent", "empty", "tier-only", "table-only"],
)
def test_a_missing_or_empty_tier_or_table_is_none(
    record: dict[str, str], expected: tuple[str | None, str | None]
) -> None:
    """An authorizer without tenant records sends neither; the two are read independently."""
    ctx = TenantContext.from_authorizer({"tenantId": "texas", "userId": "alice", **record})
    assert (ctx.tier, ctx.table) == expected
