"""Offboarding: items, webhooks, memberships and status, for one tenant and no other."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from tenantkit.context import TenantContext, tenant_scope
from tenantkit.dynamo.enumeration import Enumeration
from tenantkit.dynamo.table import TenantTable
from tenantkit.errors import ConflictError, NotFoundError, TenantKitError, UnprocessedItemsError
from tenantkit.lifecycle.backfill import backfill_index
from tenantkit.lifecycle.offboard import Offboarding, delete_items
from tests.calls import Calls

from .conftest import OPERATOR, TABLE, App, park, run


def subscribe(app: App, tenant: str, event_type: str, url: str) -> None:
    admin = TenantContext(tenant, f"owner-{tenant}", roles=frozenset({"admin"}))
    with tenant_scope(admin):
        app.registry.subscribe(event_type, url)


def raw_items(app: App, tenant: str) -> list[dict[str, Any]]:
    table = app.table(tenant)
    return sorted(table.batch_get(list(table.enumerate_keys())), key=lambda i: i["pk"])


def seed(app: App, items: int) -> App:
    """texas (``items``, two webhooks, three members) beside utah (bob's, one webhook)."""
    app.seed("texas", items)
    app.seed("utah", 40, owner="bob")
    directory = app.directory
    directory.add_member("texas", "bob", ["member"], actor_id="owner-texas")
    directory.create_user("carol")
    directory.add_member("texas", "carol", ["member"], actor_id="owner-texas")
    directory.set_active_tenant(user_id="carol", tenant_id="texas")
    subscribe(app, "texas", "park-updated", "https://hooks.example.com/a")
    subscribe(app, "texas", "park-closed", "https://hooks.example.com/b")
    subscribe(app, "utah", "park-updated", "https://hooks.example.com/u")
    backfill_index(app.spec, run("backfill-index", None))
    return app


@pytest.fixture
def seeded(app: App) -> App:
    """The full size (decision 29): 1,000 items in texas."""
    return seed(app, 1000)


@pytest.fixture
def small(app: App) -> App:
    return seed(app, 120)


def offboarding(app: App, **kwargs: Any) -> Offboarding:
    return Offboarding(app.spec, app.admin, OPERATOR, app.registry, **kwargs)


def topics(app: App) -> list[str]:
    return [t["TopicArn"].rsplit(":", 1)[1] for t in app.sns.list_topics()["Topics"]]


def test_a_dry_run_counts_and_changes_nothing(small: App) -> None:
    before = raw_items(small, "texas")
    plan = offboarding(small).plan("texas", run("offboard", "texas"))
    assert plan == {
        "dryRun": True,
        "status": "active",
        "table": TABLE,
        "items": 120,
        "subscriptions": 2,
        "members": 3,
        "indexed": "backfilled",
    }
    assert raw_items(small, "texas") == before
    assert small.admin.get("texas").status == "active"  # type: ignore[union-attr]


def test_offboarding_erases_one_tenant_and_leaves_a_tombstone(seeded: App) -> None:
    utah_before = raw_items(seeded, "utah")
    utah_topics = [t for t in topics(seeded) if "5_utah" in t]
    calls = Calls(seeded.dynamodb)

    summary = offboarding(seeded).run("texas", run("offboard", "texas"), sweep_after=0)

    assert summary["items"] == 1000
    assert summary["subscriptions"] == 2
    assert summary["members"] == 3
    assert seeded.table("texas").count_items() == 0
    assert calls.seen["Scan"] == calls.seen["ExecuteStatement"] == 0
    # Nothing of utah's was touched: items, topics, its owner's membership.
    assert raw_items(seeded, "utah") == utah_before
    assert [t for t in topics(seeded) if "5_texas" in t] == []
    assert [t for t in topics(seeded) if "5_utah" in t] == utah_topics
    directory = seeded.directory
    bob, carol = directory.get_user("bob"), directory.get_user("carol")
    owner = directory.get_user("owner-texas")
    assert bob is not None
    assert carol is not None
    assert owner is not None
    assert dict(bob.memberships) == {"utah": frozenset({"admin"})}
    assert bob.active_tenant == "utah"
    assert carol.active_tenant is None
    assert dict(carol.memberships) == {}
    assert owner.active_tenant is None
    roster = directory.get_tenant("texas")
    assert roster is not None
    assert roster.members == frozenset()
    assert seeded.admin.get("texas").status == "deleted"  # type: ignore[union-attr]


def test_the_tombstone_keeps_the_id_from_being_founded_again(small: App) -> None:
    offboarding(small).run("texas", run("offboard", "texas"), sweep_after=0)
    small.directory.create_user("mallory")
    for tenant_id in ("texas", "Texas", "TEXAS"):
        with pytest.raises(ConflictError):
            small.directory.create_tenant(tenant_id, owner_id="mallory")


def test_the_second_sweep_deletes_what_in_flight_work_wrote(small: App) -> None:
    """An item written after the first sweep (a request the caches still let through)."""
    waited: list[float] = []

    def in_flight_write(seconds: float) -> None:
        waited.append(seconds)
        small.table("texas").put_item(park(5000))

    summary = offboarding(small, sleep=in_flight_write).run(
        "texas", run("offboard", "texas"), sweep_after=360
    )
    assert waited == [360]
    assert summary["sweptItems"] == 1
    assert small.table("texas").count_items() == 0


def test_a_run_killed_halfway_is_finished_by_the_next(
    small: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = TenantTable.batch_write
    calls: list[int] = []

    def dies_on_the_tenth(self: TenantTable, *args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise UnprocessedItemsError("throttled for good", [])
        real(self, *args, **kwargs)

    monkeypatch.setattr(TenantTable, "batch_write", dies_on_the_tenth)
    with pytest.raises(UnprocessedItemsError):
        offboarding(small).run("texas", run("offboard", "texas"), sweep_after=0)
    assert small.admin.get("texas").status == "offboarding"  # type: ignore[union-attr]
    assert 0 < small.table("texas").count_items() < 120
    monkeypatch.setattr(TenantTable, "batch_write", real)

    offboarding(small).run("texas", run("offboard", "texas"), sweep_after=0)
    offboarding(small).run("texas", run("offboard", "texas"), sweep_after=0)  # and again

    assert small.table("texas").count_items() == 0
    assert small.admin.get("texas").status == "deleted"  # type: ignore[union-attr]
    assert len(raw_items(small, "utah")) == 40


def test_an_unknown_tenant_is_not_found(app: App) -> None:
    with pytest.raises(NotFoundError):
        offboarding(app).run("nobody", run("offboard", "nobody"), sweep_after=0)


class LaggingIndex:
    """A table whose index still lists deleted keys for ``lag`` passes (a GSI catching up)."""

    def __init__(self, lag: int) -> None:
        self.lag = lag
        self.deleted: list[dict[str, Any]] = []

    def enumerate_keys(self, *, shards: list[int]) -> list[dict[str, Any]]:
        return [{"pk": f"k{shards[0]}", "sk": "meta"}]

    def batch_write(self, *, delete: list[dict[str, Any]]) -> None:
        self.deleted += delete

    def count_items(self) -> int:
        self.lag -= 1
        return 2 if self.lag >= 0 else 0


def test_a_lagging_index_gets_time_to_catch_up() -> None:
    waits: list[float] = []
    index = LaggingIndex(lag=1)
    deleted = delete_items(index, 2, run("offboard", "t"), waits.append)  # type: ignore[arg-type]
    assert (deleted, waits) == (4, [1.0])


def test_items_that_keep_appearing_fail_the_run_to_be_run_again() -> None:
    waits: list[float] = []
    with pytest.raises(TenantKitError):
        delete_items(LaggingIndex(lag=9), 2, run("offboard", "t"), waits.append)  # type: ignore[arg-type]
    assert waits == [1.0, 2.0]


def pre_index_item(app: App, tenant: str) -> dict[str, Any]:
    """An item of ``tenant``'s written before the enumeration index existed."""
    TenantTable(TABLE, client=app.dynamodb, tenant=tenant).put_item({"pk": "old", "sk": "m"})
    return {"pk": {"S": f"{tenant}#old"}, "sk": {"S": "m"}}


def test_a_table_never_backfilled_is_refused_before_anything_changes(app: App) -> None:
    """The index cannot list an untagged item: offboarding would report an erasure that
    left it in place, so it refuses until ``backfill-index`` has tagged such items."""
    app.seed("texas", 5)
    key = pre_index_item(app, "texas")
    assert offboarding(app).plan("texas", run("offboard", "texas"))["indexed"] == "missing"
    with pytest.raises(ConflictError):
        offboarding(app).run("texas", run("offboard", "texas"), sweep_after=0)
    assert app.admin.get("texas").status == "active"  # type: ignore[union-attr]

    backfill_index(app.spec, run("backfill-index", None))
    summary = offboarding(app).run("texas", run("offboard", "texas"), sweep_after=0)

    assert (summary["items"], summary["indexed"]) == (6, "backfilled")
    assert "Item" not in app.dynamodb.get_item(TableName=TABLE, Key=key)


def test_an_operator_may_assume_a_table_always_had_the_index(app: App) -> None:
    app.seed("texas", 5)
    summary = offboarding(app).run(
        "texas", run("offboard", "texas"), sweep_after=0, assume_indexed=True
    )
    assert (summary["items"], summary["indexed"]) == (5, "assumed")
    assert app.table("texas").count_items() == 0


def test_a_backfill_with_other_shards_does_not_count(app: App) -> None:
    """Items tagged over 16 shards are not all listed by a reader of 4."""
    app.seed("texas", 5)
    backfill_index(replace(app.spec, enumeration=Enumeration(shards=16)), run("backfill", None))
    with pytest.raises(ConflictError):
        offboarding(app).run("texas", run("offboard", "texas"), sweep_after=0)
