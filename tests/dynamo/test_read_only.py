"""A tenant being moved is read-only: ``TenantTable`` refuses its writes (decision 24).

The authorizer denies write methods while ``tenantkit tenant move`` runs, but a read
route's handler may write too (a view counter, a "last seen"). Such a write lands in
the source table after the copy, and the move's final delete from the source loses it.
The context's ``read_only`` makes the table refuse it with ``TenantReadOnlyError`` (423).
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest

from tenantkit import TenantContext, tenant_handler, tenant_scope
from tenantkit.dynamo import TenantTable
from tenantkit.dynamo.enumeration import Enumeration
from tenantkit.errors import NoTenantContextError, TenantReadOnlyError
from tests.conftest import load_event

from .conftest import SECRET, TABLE
from .test_enumeration import add_enumeration_index

MOVING = {
    "principalId": "alice",
    "userId": "alice",
    "tenantId": "texas",
    "roles": '["member"]',
    "readOnly": "true",
}
PARK = {"pk": "park#1", "sk": "meta", "name": "Big Bend"}
KEY = {"pk": "park#1", "sk": "meta"}


def get_event(authorizer: dict[str, Any]) -> dict[str, Any]:
    event = load_event("apiGatewayProxyEvent.json")
    assert event["httpMethod"] == "GET"
    event["requestContext"]["authorizer"] = authorizer
    return event


def stored(client: Any, pk: str, sk: str = "meta") -> dict[str, Any] | None:
    """What the table holds, read past TenantTable."""
    item: dict[str, Any] | None = client.get_item(
        TableName=TABLE, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
    ).get("Item")
    return item


def moving(tenant: str = "texas") -> TenantContext:
    return TenantContext(tenant_id=tenant, user_id="alice", read_only=True)


def seed(table: TenantTable, tenant: str = "texas") -> None:
    with tenant_scope(TenantContext(tenant_id=tenant, user_id="seeder")):
        table.put_item(PARK)


def test_attack_a_read_route_that_writes_during_a_move_is_refused_and_writes_nothing(
    client: Any,
) -> None:
    """GET /parks/1 records a view. The authorizer lets GET through during the move, so
    only the table can stop the write that the move's delete from the pool would lose."""
    table = TenantTable(TABLE, client=client, cursor_key=SECRET)
    seed(table)

    @tenant_handler
    def show_park(event: dict[str, Any], context: object = None) -> dict[str, Any]:
        park = table.get_item(KEY)
        table.update_item(KEY, add={"views": 1})
        table.put_item({"pk": "view#1", "sk": "alice", "park": "park#1"})
        return {"statusCode": 200, "body": json.dumps(park)}

    response = show_park(get_event(MOVING))
    assert response["statusCode"] == 423
    assert "moved" in json.loads(response["body"])["message"]
    assert "views" not in (stored(client, "texas#park#1") or {})
    assert stored(client, "texas#view#1", "alice") is None
    # Once the move is over, the same route writes again.
    assert show_park(get_event({**MOVING, "readOnly": "false"}))["statusCode"] == 200
    assert stored(client, "texas#view#1", "alice") is not None


def test_read_routes_keep_working_during_a_move(client: Any) -> None:
    table = TenantTable(TABLE, client=client, cursor_key=SECRET)
    seed(table)

    @tenant_handler
    def show_park(event: dict[str, Any], context: object = None) -> dict[str, Any]:
        return {"statusCode": 200, "body": json.dumps(table.get_item(KEY))}

    response = show_park(get_event(MOVING))
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == PARK


WRITES: dict[str, Callable[[TenantTable], object]] = {
    "put_item": lambda t: t.put_item({"pk": "new", "sk": "meta"}),
    "update_item": lambda t: t.update_item(KEY, set={"v": 1}),
    "delete_item": lambda t: t.delete_item(KEY),
    "batch_write put": lambda t: t.batch_write(put=[{"pk": "new", "sk": "meta"}]),
    "batch_write delete": lambda t: t.batch_write(delete=[KEY]),
    "transaction": lambda t: _transact(t),
}


def _transact(table: TenantTable) -> None:
    with table.transaction() as tx:
        tx.put({"pk": "new", "sk": "meta"})


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_every_write_of_a_moving_tenant_is_refused_and_changes_nothing(
    client: Any, write: Callable[[TenantTable], object]
) -> None:
    table = TenantTable(TABLE, client=client, cursor_key=SECRET)
    seed(table)
    before = stored(client, "texas#park#1")
    with tenant_scope(moving()), pytest.raises(TenantReadOnlyError):
        write(table)
    assert stored(client, "texas#park#1") == before
    assert stored(client, "texas#new") is None


def test_every_read_of_a_moving_tenant_still_answers(client: Any) -> None:
    add_enumeration_index(client)
    table = TenantTable(TABLE, client=client, cursor_key=SECRET, enumeration=Enumeration(shards=2))
    seed(table)
    with tenant_scope(moving()):
        assert table.get_item(KEY) == PARK
        assert table.query("park#1").items == [PARK]
        assert [page.items for page in table.query_all("park#1")] == [[PARK]]
        assert table.count("park#1") == 1
        assert table.batch_get([KEY]) == [PARK]
        assert table.transact_get([KEY]) == [PARK]
        assert list(table.enumerate_keys()) == [KEY]
        assert table.count_items() == 1


# Who is refused, as a model: the tenant written to is the context's own, and the
# context is read-only. Pinning a table to a tenant changes which tenant is written to,
# nothing else; work with no context of that tenant is the consumers' to check
# (TenantStatusCache.require_writable).
CONTEXTS = {
    "none": None,
    "texas": TenantContext(tenant_id="texas", user_id="alice"),
    "texas moving": moving("texas"),
    "utah moving": moving("utah"),
}
PINS = [None, "texas", "utah"]


def test_only_the_moving_tenant_s_own_context_refuses_its_writes(client: Any) -> None:
    for (name, scope), pinned in itertools.product(CONTEXTS.items(), PINS):
        pk = f"p-{name}-{pinned}".replace(" ", "-")
        written = pinned if pinned is not None else (scope.tenant_id if scope else None)
        table = TenantTable(TABLE, client=client, cursor_key=SECRET, tenant=pinned)
        with contextlib.ExitStack() as stack:
            if scope is not None:
                stack.enter_context(tenant_scope(scope))
            if written is None:
                with pytest.raises(NoTenantContextError):
                    table.put_item({"pk": pk, "sk": "meta"})
                continue
            refused = scope is not None and scope.read_only and scope.tenant_id == written
            if refused:
                with pytest.raises(TenantReadOnlyError):
                    table.put_item({"pk": pk, "sk": "meta"})
            else:
                table.put_item({"pk": pk, "sk": "meta"})
        assert (stored(client, f"{written}#{pk}") is None) == refused, (name, pinned)
