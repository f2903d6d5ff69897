"""The lifecycle's own control-plane records: a move's source, and the backfill marker.

Both live in the pool table's reserved ``_`` namespace, out of every tenant's reach.

* ``movingFrom`` on the tenant record names the table a move is leaving, from before the
  copy until that table is cleaned up. A run killed after the switch learns from it
  where to go on deleting (the placement already names the new table), and offboarding
  erases that table too.
* ``_meta#backfill#<index>`` is written by ``backfill-index`` once a whole pass has
  completed. Offboarding and moves see only what the enumeration index lists, so an
  item written before the index existed would be silently left behind: they refuse
  without this marker, unless the operator asserts that the table had the index from
  its first write (``assume_indexed``). It names the number of shards, since a reader
  of fewer shards than the backfill tagged would miss items too.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Literal

from tenantkit._shared.clients import ClientOptions
from tenantkit._shared.dynamodb.control_plane import ControlPlaneStore
from tenantkit.auth.records import ControlKeys
from tenantkit.errors import ConflictError

if TYPE_CHECKING:
    from tenantkit.lifecycle.runs import TableSpec

__all__ = [
    "MOVING_FROM",
    "Coverage",
    "clear_moving_from",
    "directory_store",
    "index_coverage",
    "mark_backfilled",
    "moving_from",
    "record_moving_from",
    "require_index_coverage",
]

#: The tenant record's attribute naming the table a move is leaving.
MOVING_FROM = "movingFrom"
_META = "meta"
#: How a run knows every item is listed: a completed backfill, or the operator's word.
Coverage = Literal["backfilled", "assumed"]


def directory_store(spec: TableSpec) -> tuple[ControlPlaneStore, ControlKeys]:
    """The store of the directory's records (users, tenants) in ``spec``'s table."""
    keys = ControlKeys(spec.partition_key, spec.sort_key or "sk")
    return keys.store(spec.name, ClientOptions("dynamodb", client=spec.client)), keys


def moving_from(spec: TableSpec, tenant: str) -> str | None:
    """The table a move of ``tenant`` is leaving, or ``None`` if none is under way."""
    store, keys = directory_store(spec)
    value = (store.get(keys.tenant(tenant), consistent=True) or {}).get(MOVING_FROM)
    return value if isinstance(value, str) and value else None


def record_moving_from(spec: TableSpec, tenant: str, table: str) -> None:
    """Note on the (existing) tenant record that a move is leaving ``table``."""
    from boto3.dynamodb.conditions import Attr

    store, keys = directory_store(spec)
    exists = Attr(keys.partition_key).exists()
    store.update(keys.tenant(tenant), set={MOVING_FROM: table}, condition=exists)


def clear_moving_from(spec: TableSpec, tenant: str) -> None:
    """The move is over: nothing is left in the table it was leaving."""
    store, keys = directory_store(spec)
    store.update(keys.tenant(tenant), remove=(MOVING_FROM,))


def _marker(spec: TableSpec) -> tuple[ControlPlaneStore, dict[str, str]]:
    store = ControlPlaneStore(
        spec.name,
        namespaces=(_META,),
        partition_key=spec.partition_key,
        sort_key=spec.sort_key,
        client=ClientOptions("dynamodb", client=spec.client),
    )
    partition = f"_{_META}#backfill#{spec.enumeration.index}"
    return store, store.key(partition, None if spec.sort_key is None else _META)


def mark_backfilled(spec: TableSpec, tagged: int) -> None:
    """Record that a whole ``backfill-index`` pass over ``spec``'s table has completed."""
    store, key = _marker(spec)
    store.put({**key, "shards": spec.enumeration.shards, "tagged": tagged, "at": int(time.time())})


def index_coverage(spec: TableSpec, *, assume_indexed: bool) -> Coverage | None:
    """``backfilled`` if a backfill of this index and shard count completed, else
    ``assumed`` if the operator says so, else ``None``."""
    store, key = _marker(spec)
    marker = store.get(key, consistent=True)
    if marker is not None and marker.get("shards") == spec.enumeration.shards:
        return "backfilled"
    return "assumed" if assume_indexed else None


def require_index_coverage(spec: TableSpec, *, assume_indexed: bool) -> Coverage:
    """:func:`index_coverage`, refusing (409) when neither holds."""
    coverage = index_coverage(spec, assume_indexed=assume_indexed)
    if coverage is None:
        raise ConflictError(
            f"no completed backfill-index of {spec.name!r} over {spec.enumeration.shards} "
            f"shards: items written before the {spec.enumeration.index} index would be "
            "left behind. Run `tenantkit tenant backfill-index` first, or pass "
            "--assume-indexed if the table had the index from its first write"
        )
    return coverage
