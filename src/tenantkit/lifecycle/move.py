"""Moving a tenant between tables: pool to silo, or back (decision 24).

1. The tenant becomes read-only: the authorizer keeps its read routes, consumers that
   write refuse with ``TenantReadOnlyError`` (423). After ``settle`` seconds (the
   authorizer's and the status caches' TTLs) nothing writes to it any more.
2. Its items are copied to the new table (through the enumeration index), and keys the
   new table holds for it that the old one does not (an earlier, abandoned move) are
   deleted there.
3. Both sides are verified: the same count and the same order-independent checksum.
4. The placement switches: the authorizer puts the new table in its context, and every
   ``TenantTable`` with a ``Placement`` follows, with no change to handler code.
5. After ``settle`` seconds more (readers with the old placement cached are gone), the
   items are deleted from the old table, and the tenant is writable again.

The table being left is recorded on the tenant record (``movingFrom``) before the copy
and cleared at the end, so a run killed anywhere can be started again: before the
switch it copies and verifies again (puts of the same items), after it (the placement
is the new table) it goes on deleting from the recorded table, and offboarding erases
that table too. A move refuses to start without a completed ``backfill-index`` of the
pool (or ``assume_indexed``): items the index does not list would be left behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tenantkit._shared.clients import ClientOptions
from tenantkit._shared.dynamodb.tenant_status import ACTIVE, SUSPENDED
from tenantkit.auth.tenant_admin import Operator, TenantAdmin
from tenantkit.context import validate_tenant_id
from tenantkit.dynamo.table import TenantTable
from tenantkit.errors import ConflictError, NotFoundError, aws_error_code
from tenantkit.lifecycle.control_records import (
    clear_moving_from,
    moving_from,
    record_moving_from,
    require_index_coverage,
)
from tenantkit.lifecycle.offboard import delete_items
from tenantkit.lifecycle.runs import BATCH_WRITE, Run, TableSpec
from tenantkit.lifecycle.transfer import checksum_of, tenant_items

__all__ = ["Move"]

#: Seconds for every container to see a change of the tenant record: API Gateway's
#: 300-second authorizer result cache plus the 60-second status cache.
SETTLE = 360.0


@dataclass
class Move:
    """Move tenants of one app; ``spec`` is its pool table, where the control plane lives.

    ``settle`` is how long to wait after each change of the record before relying on it;
    shorten it only where the authorizer and status caches are known to be shorter.
    """

    spec: TableSpec
    admin: TenantAdmin
    operator: Operator
    settle: float = SETTLE
    sleep: Callable[[float], None] = field(default=time.sleep)

    def _copy(self, source: TenantTable, target: TenantTable, run: Run) -> int:
        shards = self.spec.enumeration.shards
        run.stage(f"copy to {target.table_name}")
        copied = 0
        wanted: set[tuple[Any, ...]] = set()
        for shard in range(shards):
            for items in tenant_items(source, shard):
                target.batch_write(put=items)
                wanted.update(self._identity(item) for item in items)
                copied += len(items)
                run.advance(len(items))
        stale = [key for key in target.enumerate_keys() if self._identity(key) not in wanted]
        for begin in range(0, len(stale), BATCH_WRITE):
            target.batch_write(delete=stale[begin : begin + BATCH_WRITE])
        run.summary["staleDeleted"] = len(stale)
        return copied

    def _check_target(self, name: str) -> None:
        """Refuse a target table that does not exist or lacks the enumeration index,
        before the tenant is made read-only for a move that could not happen."""
        client = ClientOptions("dynamodb", client=self.spec.client).get()
        try:
            table = client.describe_table(TableName=name)["Table"]
        except Exception as error:
            if aws_error_code(error) != "ResourceNotFoundException":
                raise
            raise NotFoundError(f"there is no table {name!r} to move to") from None
        indexes = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", ())}
        if self.spec.enumeration.index not in indexes:
            raise NotFoundError(
                f"table {name!r} has no {self.spec.enumeration.index} index; create it first"
            )

    def _identity(self, item: dict[str, Any]) -> tuple[Any, ...]:
        spec = self.spec
        sort = None if spec.sort_key is None else item[spec.sort_key]
        return item[spec.partition_key], bytes(sort) if isinstance(sort, bytearray) else sort

    def run(
        self,
        tenant: str,
        to_table: str,
        run: Run,
        *,
        from_table: str | None = None,
        assume_indexed: bool = False,
    ) -> dict[str, Any]:
        """Move ``tenant``'s items to ``to_table`` (steps 1-5 above); returns the summary.

        ``from_table`` must be the tenant's placement before the switch; after it (a
        run cut short by a version that did not record ``movingFrom``), it names the
        table to clean up. ``assume_indexed`` vouches that the pool had the enumeration
        index from its first write, in place of a completed ``backfill-index``.
        """
        validate_tenant_id(tenant)
        status = self.admin.get(tenant)
        if status is None:
            raise NotFoundError(f"no tenant {tenant!r}")
        if status.status not in (ACTIVE, SUSPENDED):
            raise ConflictError(f"the tenant is {status.status}; only a live tenant moves")
        coverage = require_index_coverage(self.spec, assume_indexed=assume_indexed)
        recorded = moving_from(self.spec, tenant)
        if status.table != to_table:
            if recorded not in (None, status.table):
                raise ConflictError(
                    f"a move from {recorded} to {status.table} was cut short; run it again "
                    "to finish it before moving the tenant elsewhere"
                )
            if from_table is not None and from_table != status.table:
                raise ConflictError(
                    f"the tenant's items are in {status.table}, not {from_table}; "
                    "leave out --from-table"
                )
            source_name = status.table
            source = self.spec.tenant_table(tenant, source_name)
            target = self.spec.tenant_table(tenant, to_table)
            self._check_target(to_table)
            self.admin.set_read_only(tenant, True, actor=self.operator)
            record_moving_from(self.spec, tenant, source_name)
            self.sleep(self.settle)
            copied = self._copy(source, target, run)
            run.stage("verify")
            shards = self.spec.enumeration.shards
            before, after = checksum_of(source, shards), checksum_of(target, shards)
            run.summary.update(copied=copied, sourceItems=before.count, checksum=before.hexdigest)
            if before != after:
                raise ConflictError(
                    f"the copy does not match ({after.count} items in {to_table}, "
                    f"{before.count} in {source_name}); the tenant stays read-only and in "
                    "its old table: run the move again"
                )
            self.admin.set_placement(tenant, to_table, actor=self.operator)
            self.sleep(self.settle)
        else:
            if recorded is not None and from_table not in (None, recorded):
                raise ConflictError(
                    f"this move is leaving {recorded}, not {from_table}; leave out --from-table"
                )
            source_name = recorded or from_table or self.spec.name
        deleted = 0
        if source_name != to_table:
            run.stage(f"clean up {source_name}")
            old = self.spec.tenant_table(tenant, source_name)
            deleted = delete_items(old, self.spec.enumeration.shards, run, self.sleep)
        clear_moving_from(self.spec, tenant)
        self.admin.set_read_only(tenant, False, actor=self.operator)
        run.summary.update(
            fromTable=source_name, toTable=to_table, deletedFromSource=deleted, indexed=coverage
        )
        return run.summary
