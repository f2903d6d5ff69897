"""Offboarding: erase a tenant's data and access, and leave a tombstone (issue 15).

In order, each step safe to run again, so a run killed anywhere and started again
finishes the job:

1. the tenant's status becomes ``offboarding``: the authorizer gives its members only
   the ``authenticated`` routes, and consumers refuse its messages (decision 26);
2. every item is deleted through the enumeration index, 25 keys per
   ``BatchWriteItem``, what DynamoDB leaves unprocessed retried with backoff, in the
   tenant's table, in the table a move was leaving (``movingFrom``) and in the pool
   (what a cut-short move left);
3. every webhook subscription is removed through ``TopicRegistry`` (which deletes each
   topic with its last subscription);
4. every membership ends, and users who had the tenant active have none;
5. the status becomes ``deleted``, for good: the record and the id's claim stay, so the
   id cannot be founded again and nothing an in-flight request wrote is inherited;
6. after ``sweep_after`` seconds (the authorizer's and the status caches' TTLs), the
   items are enumerated once more and whatever in-flight work wrote meanwhile is deleted.

Only items the index lists are found, so a run refuses to start without a completed
``backfill-index`` of the pool (or ``assume_indexed``): otherwise items written before
the index would survive an erasure reported as done. A dry run reads and counts, says
whether that check holds, and changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tenantkit._shared.backoff import Backoff
from tenantkit._shared.dynamodb.tenant_status import DELETED, TenantStatus
from tenantkit.auth.tenant_admin import Operator, TenantAdmin
from tenantkit.context import TenantContext, tenant_scope, validate_tenant_id
from tenantkit.dynamo.table import TenantTable
from tenantkit.errors import NotFoundError, TenantKitError
from tenantkit.events.topics import TopicRegistry
from tenantkit.lifecycle.control_records import (
    directory_store,
    index_coverage,
    moving_from,
    require_index_coverage,
)
from tenantkit.lifecycle.members import members_of, remove_member
from tenantkit.lifecycle.runs import BATCH_WRITE, Run, TableSpec

__all__ = ["Offboarding", "delete_items"]

#: Passes over the index before giving up on items that keep appearing (a GSI is
#: eventually consistent, so a key deleted a moment ago may be listed once more), and
#: the seconds to let the index catch up before each pass after the first.
_PASSES = 3
_CATCH_UP = 1.0


def delete_items(
    table: TenantTable, shards: int, run: Run, sleep: Callable[[float], None] = time.sleep
) -> int:
    """Delete every item the enumeration index lists for ``table``'s tenant."""
    deleted = 0
    for attempt in range(_PASSES):
        if attempt:
            sleep(_CATCH_UP * attempt)
        for shard in range(shards):
            keys: list[dict[str, Any]] = []
            for key in table.enumerate_keys(shards=[shard]):
                keys.append(key)
                if len(keys) == BATCH_WRITE:
                    table.batch_write(delete=keys)
                    run.advance(len(keys))
                    deleted += len(keys)
                    keys = []
            if keys:
                table.batch_write(delete=keys)
                run.advance(len(keys))
                deleted += len(keys)
        if table.count_items() == 0:
            return deleted
    raise TenantKitError("items kept appearing while the tenant was offboarded; run it again")


@dataclass
class Offboarding:
    """Offboard tenants of one app: its table, status records and webhook registry.

    ``registry`` is the app's ``TopicRegistry`` (``None`` for an app without webhooks);
    ``admin_role`` is a role the registry lets remove anyone's subscription.
    """

    spec: TableSpec
    admin: TenantAdmin
    operator: Operator
    registry: TopicRegistry | None = None
    admin_role: str = "admin"
    sleep: Callable[[float], None] = field(default=time.sleep)

    def _scope(self, tenant: str) -> TenantContext:
        """The registry acts on the current tenant, as one of its admins."""
        user = f"operator:{self.operator.name}"
        return TenantContext(tenant, user, roles=frozenset({self.admin_role}))

    def _subscriptions(self, tenant: str) -> list[str]:
        if self.registry is None:
            return []
        with tenant_scope(self._scope(tenant)):
            return [subscription.id for subscription in self.registry.subscriptions()]

    def _placed(self, tenant: str) -> tuple[list[TenantTable], TenantStatus]:
        """The tenant's status now, and the tables that may hold its items: its placement,
        the table a move cut short was leaving, and the pool (what such a move left)."""
        found = self.admin.get(validate_tenant_id(tenant))
        if found is None:
            raise NotFoundError(f"no tenant {tenant!r}")
        leaving = moving_from(self.spec, tenant)
        names = dict.fromkeys(n for n in (found.table, leaving, self.spec.name) if n)
        return [self.spec.tenant_table(tenant, name) for name in names], found

    def _delete(self, tables: list[TenantTable], run: Run) -> int:
        shards = self.spec.enumeration.shards
        return sum(delete_items(table, shards, run, self.sleep) for table in tables)

    def plan(self, tenant: str, run: Run) -> dict[str, Any]:
        """What offboarding ``tenant`` would delete, read and counted; nothing changes."""
        tables, status = self._placed(tenant)
        store, keys = directory_store(self.spec)
        plan = {
            "dryRun": True,
            "status": status.status,
            "table": tables[0].table_name,
            "items": sum(table.count_items() for table in tables),
            "subscriptions": len(self._subscriptions(tenant)),
            "members": len(members_of(store, keys, tenant)),
            "indexed": index_coverage(self.spec, assume_indexed=False) or "missing",
        }
        run.summary.update(plan)
        return plan

    def run(
        self, tenant: str, run: Run, *, sweep_after: float, assume_indexed: bool = False
    ) -> dict[str, Any]:
        """Offboard ``tenant`` (steps 1-6 of the module docstring); returns the summary.

        ``assume_indexed`` vouches that the pool had the enumeration index from its first
        write, in place of a completed ``backfill-index``.
        """
        tables, status = self._placed(tenant)
        coverage = require_index_coverage(self.spec, assume_indexed=assume_indexed)
        if status.status != DELETED:
            self.admin.mark_offboarding(tenant, actor=self.operator)
        run.stage("items")
        items = self._delete(tables, run)
        removed = 0
        if self.registry is not None:
            with tenant_scope(self._scope(tenant)):
                for subscription in self.registry.subscriptions():
                    try:
                        self.registry.unsubscribe(subscription.id)
                    except NotFoundError:
                        continue  # removed meanwhile
                    removed += 1
        store, keys = directory_store(self.spec)
        backoff = Backoff(0.01, 0.5, sleep=self.sleep)
        members = members_of(store, keys, tenant)
        for user in members:
            remove_member(store, keys, tenant, user, backoff)
        if status.status != DELETED:
            self.admin.tombstone(tenant, actor=self.operator)
        if sweep_after > 0:
            self.sleep(sweep_after)
        run.stage("second sweep")
        swept = self._delete(tables, run)
        run.summary.update(
            dryRun=False,
            status=DELETED,
            table=tables[0].table_name,
            items=items,
            sweptItems=swept,
            subscriptions=removed,
            members=len(members),
            indexed=coverage,
        )
        return run.summary
