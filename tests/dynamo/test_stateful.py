"""Five tenants share one table; each must see exactly its own items, whatever they do.

A hypothesis state machine drives puts, updates, deletes, paginated queries (through
cursors), batches and transactions against moto, and checks every read against a model
kept per tenant.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Attr
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule
from moto import mock_aws

from tenantkit.context import tenant_scope
from tenantkit.dynamo import TenantTable
from tenantkit.errors import ConditionFailedError

from .conftest import SECRET, TABLE, create_table, ctx

TENANTS = ["texas", "utah", "ohio", "maine", "idaho"]
# "utah#p" is a value that looks like another tenant's prefixed key.
PKS = ["p", "q", "utah#p"]
SKS = ["1", "2", "3", "4"]

tenants = st.sampled_from(TENANTS)
pks = st.sampled_from(PKS)
keys = st.tuples(pks, st.sampled_from(SKS))
values = st.integers(min_value=0, max_value=9)

Key_ = tuple[str, str]


_shared: dict[str, Any] = {}


@pytest.fixture(scope="module", autouse=True)
def _moto() -> Iterator[None]:
    """One in-process moto for all examples (starting it costs ~0.3s); a table per example."""
    with mock_aws():
        _shared["client"] = boto3.client("dynamodb", region_name="us-east-1")
        _shared["tables"] = itertools.count()
        yield
    _shared.clear()


class TenantTableMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.client = _shared["client"]
        self.name = f"{TABLE}-{next(_shared['tables'])}"
        create_table(self.client, self.name)
        self.table = TenantTable(self.name, client=self.client, cursor_key=SECRET)
        self.model: dict[str, dict[Key_, dict[str, Any]]] = {t: {} for t in TENANTS}

    def teardown(self) -> None:
        self.client.delete_table(TableName=self.name)

    @staticmethod
    def _item(key: Key_, value: int, indexed: bool) -> dict[str, Any]:
        item: dict[str, Any] = {"pk": key[0], "sk": key[1], "v": value}
        if indexed:
            item["GSI1PK"] = "all"
            item["GSI1SK"] = f"{key[0]}/{key[1]}"
        return item

    def _expected(self, tenant: str, pk: str) -> list[dict[str, Any]]:
        return [self.model[tenant][k] for k in sorted(self.model[tenant]) if k[0] == pk]

    @initialize()
    def seed(self) -> None:
        """Every tenant starts with the same logical keys, so any leak shows up."""
        for number, tenant in enumerate(TENANTS):
            items = [self._item((pk, sk), number, sk in "13") for pk in PKS[:2] for sk in SKS[:3]]
            with tenant_scope(ctx(tenant)):
                self.table.batch_write(put=items)
            self.model[tenant] = {(i["pk"], i["sk"]): i for i in items}

    @rule(tenant=tenants, key=keys, value=values, indexed=st.booleans())
    def put(self, tenant: str, key: Key_, value: int, indexed: bool) -> None:
        item = self._item(key, value, indexed)
        with tenant_scope(ctx(tenant)):
            self.table.put_item(item)
        self.model[tenant][key] = item

    @rule(tenant=tenants, key=keys, value=values, index=st.booleans())
    def update(self, tenant: str, key: Key_, value: int, index: bool) -> None:
        changes: dict[str, Any] = {"v": value}
        if index:
            changes.update(GSI1PK="all", GSI1SK=f"{key[0]}/{key[1]}")
        with tenant_scope(ctx(tenant)):
            new = self.table.update_item({"pk": key[0], "sk": key[1]}, set=changes, add={"n": 1})
        expected = dict(self.model[tenant].get(key, {"pk": key[0], "sk": key[1]}))
        expected.update(changes, n=expected.get("n", 0) + 1)
        assert new == expected
        self.model[tenant][key] = expected

    @rule(tenant=tenants, key=keys, guarded=st.booleans())
    def delete(self, tenant: str, key: Key_, guarded: bool) -> None:
        condition = Attr("v").exists() if guarded else None
        with tenant_scope(ctx(tenant)):
            if guarded and key not in self.model[tenant]:
                try:
                    self.table.delete_item({"pk": key[0], "sk": key[1]}, condition=condition)
                except ConditionFailedError:
                    return
                raise AssertionError("a guarded delete of a missing item succeeded")
            old = self.table.delete_item({"pk": key[0], "sk": key[1]}, condition=condition)
        assert old == self.model[tenant].pop(key, None)

    @rule(tenant=tenants, key=keys)
    def get(self, tenant: str, key: Key_) -> None:
        with tenant_scope(ctx(tenant)):
            got = self.table.get_item({"pk": key[0], "sk": key[1]})
        assert got == self.model[tenant].get(key)

    @rule(tenant=tenants, pk=pks, limit=st.integers(min_value=1, max_value=3))
    def query_pages(self, tenant: str, pk: str, limit: int) -> None:
        seen: list[dict[str, Any]] = []
        cursor = None
        with tenant_scope(ctx(tenant)):
            for _ in range(len(SKS) + 2):
                page = self.table.query(pk, limit=limit, cursor=cursor)
                assert len(page.items) <= limit
                seen += page.items
                cursor = page.cursor
                if cursor is None:
                    break
        assert cursor is None
        assert seen == self._expected(tenant, pk)

    @rule(tenant=tenants, limit=st.integers(min_value=1, max_value=5))
    def query_index(self, tenant: str, limit: int) -> None:
        with tenant_scope(ctx(tenant)):
            seen = [
                i for p in self.table.query_all("all", index="GSI1", limit=limit) for i in p.items
            ]
            assert self.table.count("all", index="GSI1") == len(seen)
        expected = sorted(
            (i for i in self.model[tenant].values() if "GSI1PK" in i), key=lambda i: i["GSI1SK"]
        )
        assert seen == expected

    @rule(
        tenant=tenants,
        puts=st.dictionaries(keys, values, max_size=4),
        deletes=st.sets(keys, max_size=3),
    )
    def batch_write(self, tenant: str, puts: dict[Key_, int], deletes: set[Key_]) -> None:
        deletes -= set(puts)
        with tenant_scope(ctx(tenant)):
            self.table.batch_write(
                put=[self._item(k, v, False) for k, v in puts.items()],
                delete=[{"pk": k[0], "sk": k[1]} for k in deletes],
            )
        for k, v in puts.items():
            self.model[tenant][k] = self._item(k, v, False)
        for k in deletes:
            self.model[tenant].pop(k, None)

    @rule(tenant=tenants, wanted=st.lists(keys, max_size=6))
    def batch_get(self, tenant: str, wanted: list[Key_]) -> None:
        with tenant_scope(ctx(tenant)):
            got = self.table.batch_get([{"pk": k[0], "sk": k[1]} for k in wanted])
        expected = [self.model[tenant][k] for k in dict.fromkeys(wanted) if k in self.model[tenant]]
        assert got == expected

    @rule(
        tenant=tenants,
        put_key=keys,
        delete_key=keys,
        check_key=keys,
        value=values,
    )
    def transaction(
        self, tenant: str, put_key: Key_, delete_key: Key_, check_key: Key_, value: int
    ) -> None:
        if len({put_key, delete_key, check_key}) < 3:
            return
        item = self._item(put_key, value, True)
        with tenant_scope(ctx(tenant)):
            try:
                with self.table.transaction() as tx:
                    tx.put(item)
                    tx.delete({"pk": delete_key[0], "sk": delete_key[1]})
                    tx.condition_check({"pk": check_key[0], "sk": check_key[1]}, Attr("v").exists())
            except ConditionFailedError:
                assert "v" not in self.model[tenant].get(check_key, {})
                return
            assert "v" in self.model[tenant].get(check_key, {})
            got = self.table.transact_get(
                [{"pk": put_key[0], "sk": put_key[1]}, {"pk": delete_key[0], "sk": delete_key[1]}]
            )
        assert got == [item, None]
        self.model[tenant][put_key] = item
        self.model[tenant].pop(delete_key, None)

    @rule()
    def raw_table_matches_the_union_of_models(self) -> None:
        raw = self.client.scan(TableName=self.name)["Items"]
        stored = {(i["pk"]["S"], i["sk"]["S"]) for i in raw}
        expected = {(f"{t}#{k[0]}", k[1]) for t, items in self.model.items() for k in items}
        assert stored == expected


TenantTableMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_tenants_see_exactly_their_own_items = TenantTableMachine.TestCase
