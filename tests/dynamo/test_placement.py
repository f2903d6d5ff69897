"""Placement: a TenantTable sends each tenant's requests to its table (pool or silo)."""

from __future__ import annotations

import string
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit._shared.dynamodb.names import validate_table_name
from tenantkit.context import tenant_scope
from tenantkit.dynamo import TenantTable
from tenantkit.dynamo import placement as placement_module
from tenantkit.dynamo.placement import Placement, context_table
from tenantkit.errors import ConfigurationError, InvalidInputError

from .conftest import SECRET, TABLE, create_table, ctx

SILO = "tenantkit-silo-texas"


def placed_in(placements: dict[str, str]) -> Placement:
    return Placement(silos=[SILO], table_of=placements.get)


def stored(client: Any, table: str, pk: str) -> bool:
    key = {"pk": {"S": pk}, "sk": {"S": "meta"}}
    return "Item" in client.get_item(TableName=table, Key=key)


def test_a_silo_tenant_reads_and_writes_its_own_table(client: Any) -> None:
    create_table(client, SILO)
    placements = {"texas": SILO}
    table = TenantTable(TABLE, client=client, cursor_key=SECRET, placement=placed_in(placements))
    for tenant in ("texas", "utah"):
        with tenant_scope(ctx(tenant)):
            table.put_item({"pk": "p", "sk": "meta", "GSI1PK": "all", "GSI1SK": "1"})
            table.batch_write(put=[{"pk": "q", "sk": "meta"}])
            with table.transaction() as tx:
                tx.update({"pk": "r", "sk": "meta"}, set={"v": 1})
    assert [stored(client, SILO, f"texas#{pk}") for pk in "pqr"] == [True] * 3
    assert not stored(client, TABLE, "texas#p")
    assert stored(client, TABLE, "utah#p")
    assert not stored(client, SILO, "utah#p")
    with tenant_scope(ctx("texas")):
        assert table.get_item({"pk": "p", "sk": "meta"}) is not None
        assert [i["pk"] for i in table.query("all", index="GSI1").items] == ["p"]
        assert len(table.batch_get([{"pk": "q", "sk": "meta"}])) == 1
    # The same handler code, once texas moves back to the pool: the pool's items.
    del placements["texas"]
    with tenant_scope(ctx("texas")):
        assert table.get_item({"pk": "p", "sk": "meta"}) is None


def test_a_placement_outside_the_silos_is_refused_before_any_request(client: Any) -> None:
    table = TenantTable(
        TABLE, client=client, tenant="texas", placement=placed_in({"texas": "someone-elses"})
    )
    with pytest.raises(ConfigurationError):
        table.put_item({"pk": "p", "sk": "meta"})
    assert not stored(client, TABLE, "texas#p")


@pytest.mark.parametrize("name", ["", "ab", "bad name", "x" * 256, 7])
def test_a_placement_that_is_no_table_name_is_refused(name: Any) -> None:
    placement = Placement(table_of=lambda tenant: name)
    with pytest.raises(ConfigurationError):
        placement.table_for("texas", TABLE)


#: The model: DynamoDB's documented table-name rule, 3 to 255 of these characters.
TABLE_NAME_CHARACTERS = frozenset(string.ascii_letters + string.digits + "_.-")


@settings(max_examples=100, deadline=None)
@given(
    name=st.one_of(
        st.text(alphabet=sorted(TABLE_NAME_CHARACTERS), min_size=0, max_size=260),
        st.text(alphabet=[*sorted(TABLE_NAME_CHARACTERS), " ", "!", "/", "\n", "é", "٣"]),
    )
)
def test_a_placement_is_stored_exactly_when_it_can_be_routed(name: str) -> None:
    """``TenantAdmin.set_placement`` (write time) and ``Placement`` (every request) use
    one grammar: a name stored is one routed to, or the tenant's requests would all 500."""
    valid = 3 <= len(name) <= 255 and set(name) <= TABLE_NAME_CHARACTERS
    placement = Placement(table_of=lambda tenant: name)
    if valid:
        assert validate_table_name(name) == name
        assert placement.table_for("texas", TABLE) == name
    else:
        with pytest.raises(InvalidInputError):
            validate_table_name(name)
        with pytest.raises(ConfigurationError):
            placement.table_for("texas", TABLE)


def test_silos_are_table_names() -> None:
    with pytest.raises(ConfigurationError):
        Placement(silos="one-table")
    with pytest.raises(ConfigurationError):
        Placement(silos=["no"])


def test_the_context_places_only_its_own_tenant(monkeypatch: pytest.MonkeyPatch) -> None:
    """A table pinned to utah, used while texas's request is in scope, is not placed by
    texas's context: it refuses instead of guessing the pool."""
    caller = SimpleNamespace(tenant_id="texas", table=SILO)
    monkeypatch.setattr(placement_module, "current_tenant_or_none", lambda: caller)
    assert context_table("texas") == SILO
    assert Placement().table_for("texas", TABLE) == SILO
    with pytest.raises(ConfigurationError):
        Placement().table_for("utah", TABLE)
    caller.table = TABLE
    assert Placement().table_for("texas", TABLE) == TABLE


@pytest.mark.parametrize("table", [None, ""])
def test_a_context_without_a_table_is_refused_not_read_as_the_pool(
    monkeypatch: pytest.MonkeyPatch, table: str | None
) -> None:
    """The silent failure refused: a silo tenant's write sent to the pool, where its own
    reads would never find it (a context restored from a tenant id alone)."""
    caller = SimpleNamespace(tenant_id="texas", table=table)
    monkeypatch.setattr(placement_module, "current_tenant_or_none", lambda: caller)
    with pytest.raises(ConfigurationError):
        Placement().table_for("texas", TABLE)


def test_without_a_context_the_default_refuses(client: Any) -> None:
    table = TenantTable(TABLE, client=client, tenant="texas", placement=Placement())
    with pytest.raises(ConfigurationError):
        table.put_item({"pk": "p", "sk": "meta"})
    with tenant_scope(ctx("texas")), pytest.raises(ConfigurationError):  # no table in it
        table.get_item({"pk": "p", "sk": "meta"})
    assert not stored(client, TABLE, "texas#p")
