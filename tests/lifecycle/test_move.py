"""Moving a tenant to a silo: read-only, copy, verify, switch, clean up; resumable."""

from __future__ import annotations

from typing import Any

import pytest

from tenantkit.context import TenantContext, tenant_scope
from tenantkit.dynamo.placement import Placement
from tenantkit.dynamo.table import TenantTable
from tenantkit.errors import ConflictError, NotFoundError
from tenantkit.lifecycle import move as move_module
from tenantkit.lifecycle.backfill import backfill_index
from tenantkit.lifecycle.move import Move
from tenantkit.lifecycle.offboard import Offboarding
from tenantkit.lifecycle.records import Checksum
from tests.tables import create_keyed_table

from .conftest import OPERATOR, SILO, TABLE, App, create_table, run


@pytest.fixture
def pool(app: App) -> App:
    app.seed("texas", 100)
    app.seed("utah", 30)
    create_table(app.dynamodb, SILO)
    backfill_index(app.spec, run("backfill-index", None))
    return app


def mover(app: App, waits: list[tuple[float, Any]] | None = None) -> Move:
    def sleep(seconds: float) -> None:
        if waits is not None:
            waits.append((seconds, app.admin.get("texas")))

    return Move(app.spec, app.admin, OPERATOR, sleep=sleep)


def contents(app: App, tenant: str, table: str) -> list[dict[str, Any]]:
    t = app.table(tenant, table)
    return sorted(t.batch_get(list(t.enumerate_keys())), key=lambda i: i["pk"])


def test_a_move_copies_verifies_switches_and_cleans_up(pool: App) -> None:
    before = contents(pool, "texas", TABLE)
    utah = contents(pool, "utah", TABLE)
    waits: list[tuple[float, Any]] = []

    summary = mover(pool, waits).run("texas", SILO, run("move", "texas"))

    assert contents(pool, "texas", SILO) == before
    assert contents(pool, "texas", TABLE) == []
    assert contents(pool, "utah", TABLE) == utah
    assert contents(pool, "utah", SILO) == []
    status = pool.admin.get("texas")
    assert status is not None
    assert (status.table, status.read_only, status.status) == (SILO, False, "active")
    assert summary["copied"] == summary["sourceItems"] == summary["deletedFromSource"] == 100
    # Read-only through both waits; the second after the switch.
    assert [(seconds, s.read_only, s.table) for seconds, s in waits] == [
        (360, True, TABLE),
        (360, True, SILO),
    ]


def test_handler_code_follows_the_tenant_to_its_silo(pool: App) -> None:
    """The same TenantTable, placed by the tenant's record (as the authorizer would)."""

    def table_of(tenant: str) -> str | None:
        status = pool.admin.get(tenant)
        return None if status is None else status.table

    handler_table = TenantTable(
        TABLE, client=pool.dynamodb, placement=Placement(silos=[SILO], table_of=table_of)
    )
    key = {"pk": "park#00007", "sk": "meta"}
    with tenant_scope(TenantContext("texas", "owner-texas")):
        before = handler_table.get_item(key)
        mover(pool).run("texas", SILO, run("move", "texas"))
        assert handler_table.get_item(key) == before
        handler_table.put_item({"pk": "new", "sk": "meta"})
    assert pool.table("texas", SILO).get_item({"pk": "new", "sk": "meta"}) is not None


def test_a_move_killed_after_the_switch_is_finished_by_the_next(
    pool: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    def killed(*args: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(move_module, "delete_items", killed)
    with pytest.raises(KeyboardInterrupt):
        mover(pool).run("texas", SILO, run("move", "texas"))
    status = pool.admin.get("texas")
    assert status is not None
    assert (status.table, status.read_only) == (SILO, True)
    monkeypatch.undo()

    summary = mover(pool).run("texas", SILO, run("move", "texas"))

    assert summary["deletedFromSource"] == 100
    assert len(contents(pool, "texas", SILO)) == 100
    assert contents(pool, "texas", TABLE) == []
    assert pool.admin.get("texas").read_only is False  # type: ignore[union-attr]


def test_a_copy_that_does_not_verify_switches_nothing(
    pool: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    sums = iter([Checksum(100, 1), Checksum(99, 1)])
    monkeypatch.setattr(move_module, "checksum_of", lambda table, shards: next(sums))
    with pytest.raises(ConflictError):
        mover(pool).run("texas", SILO, run("move", "texas"))
    status = pool.admin.get("texas")
    assert status is not None
    assert (status.table, status.read_only) == (TABLE, True)
    assert len(contents(pool, "texas", TABLE)) == 100


def test_an_abandoned_copy_leaves_no_stale_items_behind(pool: App) -> None:
    pool.table("texas", SILO).put_item({"pk": "deleted-since", "sk": "meta"})
    summary = mover(pool).run("texas", SILO, run("move", "texas"))
    assert summary["staleDeleted"] == 1
    assert len(contents(pool, "texas", SILO)) == 100


def test_an_offboarded_tenant_does_not_move(pool: App) -> None:
    pool.admin.mark_offboarding("texas", actor=OPERATOR)
    with pytest.raises(ConflictError):
        mover(pool).run("texas", SILO, run("move", "texas"))


def test_offboarding_a_silo_tenant_erases_its_silo_and_what_a_cut_move_left(
    pool: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(move_module, "delete_items", lambda *args: 0)  # the pool kept
    mover(pool).run("texas", SILO, run("move", "texas"))
    assert len(contents(pool, "texas", TABLE)) == 100
    summary = Offboarding(pool.spec, pool.admin, OPERATOR, pool.registry).run(
        "texas", run("offboard", "texas"), sweep_after=0
    )
    assert summary["items"] == 200
    assert contents(pool, "texas", SILO) == []
    assert contents(pool, "texas", TABLE) == []
    assert len(contents(pool, "utah", TABLE)) == 30


def test_a_target_without_the_index_is_refused_before_anything_changes(pool: App) -> None:
    create_keyed_table(pool.dynamodb, "bare")
    for target in ("bare", "no-such-table"):
        with pytest.raises(NotFoundError):
            mover(pool).run("texas", target, run("move", "texas"))
    status = pool.admin.get("texas")
    assert status is not None
    assert (status.table, status.read_only) == (TABLE, False)


def test_the_library_waits_for_the_caches_by_default(pool: App) -> None:
    """Without ``settle``, a move waits the CLI's 360 seconds, never zero."""
    waits: list[tuple[float, Any]] = []
    mover(pool, waits).run("texas", SILO, run("move", "texas"))
    assert [seconds for seconds, _ in waits] == [360, 360]


def test_a_from_table_that_is_not_the_placement_is_refused_before_anything_changes(
    pool: App,
) -> None:
    """Copying from a table the tenant is not in would switch it to an empty copy."""
    create_table(pool.dynamodb, "elsewhere")
    with pytest.raises(ConflictError):
        mover(pool).run("texas", SILO, run("move", "texas"), from_table="elsewhere")
    status = pool.admin.get("texas")
    assert status is not None
    assert (status.table, status.read_only) == (TABLE, False)
    assert contents(pool, "texas", SILO) == []
    assert len(contents(pool, "texas", TABLE)) == 100


def back_to_the_pool_killed_after_the_switch(pool: App, monkeypatch: pytest.MonkeyPatch) -> None:
    """texas in its silo, then moved back and killed before the silo is cleaned up."""
    mover(pool).run("texas", SILO, run("move", "texas"))

    def killed(*args: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(move_module, "delete_items", killed)
    with pytest.raises(KeyboardInterrupt):
        mover(pool).run("texas", TABLE, run("move", "texas"))
    monkeypatch.undo()
    status = pool.admin.get("texas")
    assert status is not None
    assert (status.table, status.read_only) == (TABLE, True)
    assert len(contents(pool, "texas", SILO)) == 100


def test_a_move_to_the_pool_killed_after_the_switch_cleans_the_silo_on_the_next_run(
    pool: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    back_to_the_pool_killed_after_the_switch(pool, monkeypatch)

    summary = mover(pool).run("texas", TABLE, run("move", "texas"))

    assert (summary["fromTable"], summary["deletedFromSource"]) == (SILO, 100)
    assert contents(pool, "texas", SILO) == []
    assert len(contents(pool, "texas", TABLE)) == 100
    assert pool.admin.get("texas").read_only is False  # type: ignore[union-attr]


def test_a_cut_move_is_finished_before_the_tenant_moves_elsewhere(
    pool: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Moving on would overwrite ``movingFrom`` and forget the silo's leftovers."""
    back_to_the_pool_killed_after_the_switch(pool, monkeypatch)
    create_table(pool.dynamodb, "elsewhere")
    with pytest.raises(ConflictError):
        mover(pool).run("texas", "elsewhere", run("move", "texas"))
    with pytest.raises(ConflictError):
        mover(pool).run("texas", TABLE, run("move", "texas"), from_table="elsewhere")
    assert len(contents(pool, "texas", SILO)) == 100
    assert contents(pool, "texas", "elsewhere") == []


def test_offboarding_erases_the_table_a_cut_move_was_leaving(
    pool: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    back_to_the_pool_killed_after_the_switch(pool, monkeypatch)

    summary = Offboarding(pool.spec, pool.admin, OPERATOR, pool.registry).run(
        "texas", run("offboard", "texas"), sweep_after=0
    )

    assert summary["items"] == 200
    assert contents(pool, "texas", SILO) == []
    assert contents(pool, "texas", TABLE) == []


def test_a_table_never_backfilled_is_refused_unless_assumed_indexed(app: App) -> None:
    """An item written before the index is invisible to it: moving without a backfill
    would leave it behind, so the move refuses until ``backfill-index`` has run."""
    app.seed("texas", 10)
    create_table(app.dynamodb, SILO)
    before_index = TenantTable(TABLE, client=app.dynamodb, tenant="texas")
    before_index.put_item({"pk": "old", "sk": "meta"})
    with pytest.raises(ConflictError):
        mover(app).run("texas", SILO, run("move", "texas"))
    status = app.admin.get("texas")
    assert status is not None
    assert (status.table, status.read_only) == (TABLE, False)

    backfill_index(app.spec, run("backfill-index", None))
    summary = mover(app).run("texas", SILO, run("move", "texas"))

    assert (summary["copied"], summary["indexed"]) == (11, "backfilled")
    assert app.table("texas", SILO).get_item({"pk": "old", "sk": "meta"}) is not None


def test_an_operator_may_assume_a_table_always_had_the_index(app: App) -> None:
    app.seed("texas", 10)
    create_table(app.dynamodb, SILO)
    summary = mover(app).run("texas", SILO, run("move", "texas"), assume_indexed=True)
    assert (summary["copied"], summary["indexed"]) == (10, "assumed")
