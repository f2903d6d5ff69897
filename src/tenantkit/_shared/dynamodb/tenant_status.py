"""A tenant's status, tier and placement, read from its control-plane record and cached.

The tenant record (``_tenant#<tenantId>``, sort key ``_tenant``; written by
``tenantkit.auth``) carries, beside its roster:

* ``status``: ``active``, ``suspended``, ``offboarding`` or ``deleted`` (absent: active,
  for tenants founded before statuses existed);
* ``tier``: a plan name such as ``basic`` or ``premium`` (absent: the default tier);
* ``table``: the tenant's own (silo) table, absent while it lives in the pool table;
* ``readOnly``: true while the tenant is being moved between tables;
* ``apiKey``: the value of the tenant's API Gateway key, when usage plans are configured.

Both the authorizer (``auth``) and the queue, EventBridge and Step Functions consumers
(``events``) need this on every request or message, so it lives here, below both, and
is read through a cache: one ``GetItem`` per tenant per ``ttl`` seconds per container.
A change of status therefore reaches a container within ``ttl``; the authorizer adds API
Gateway's own result cache on top (see docs/lifecycle.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from tenantkit._shared.cache import LruCache
from tenantkit._shared.clients import ClientOptions
from tenantkit.errors import ConfigurationError, TenantNotActiveError, TenantReadOnlyError

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config

    from tenantkit._shared.dynamodb.control_plane import ControlPlaneStore

__all__ = [
    "ACTIVE",
    "DEFAULT_TIER",
    "DELETED",
    "OFFBOARDING",
    "STATUSES",
    "SUSPENDED",
    "TENANT_NAMESPACE",
    "TENANT_SORT",
    "TenantStatus",
    "TenantStatusCache",
    "tenant_partition",
    "tenant_status",
]

ACTIVE: Final = "active"
SUSPENDED: Final = "suspended"
OFFBOARDING: Final = "offboarding"
DELETED: Final = "deleted"
#: Every status a tenant record may hold, in the order a tenant's life goes through them.
STATUSES: Final = (ACTIVE, SUSPENDED, OFFBOARDING, DELETED)
DEFAULT_TIER: Final = "basic"
#: The tenant record's control-plane namespace and sort key.
TENANT_NAMESPACE: Final = "tenant"
TENANT_SORT: Final = "_tenant"
DEFAULT_TTL = 60.0
DEFAULT_MAXSIZE = 10_000


def tenant_partition(tenant_id: str) -> str:
    """Partition key of a tenant's record."""
    return f"_{TENANT_NAMESPACE}#{tenant_id}"


@dataclass(frozen=True, slots=True)
class TenantStatus:
    """What a request or a message needs to know about its tenant."""

    tenant_id: str
    status: str
    tier: str
    #: The table holding the tenant's items: the pool table unless it has a silo.
    table: str
    #: True while the tenant is being moved: reads go on, writes wait.
    read_only: bool = False
    #: The value of the tenant's API Gateway key (``usageIdentifierKey``), if it has one.
    usage_key: str | None = None

    @property
    def active(self) -> bool:
        return self.status == ACTIVE


# Its public home; set after the class is built, since dataclasses read the module's
# namespace while building it.
TenantStatus.__module__ = "tenantkit.auth"


def _text(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value if type(value) is str and value else None


def tenant_status(
    tenant_id: str, item: Mapping[str, Any], *, pool_table: str, default_tier: str = DEFAULT_TIER
) -> TenantStatus:
    """A tenant record, as the control-plane store reads it back, as a :class:`TenantStatus`.

    An unknown status string reads as ``suspended``: a record this version cannot
    understand never opens a tenant's routes.
    """
    status = _text(item, "status") or ACTIVE
    return TenantStatus(
        tenant_id=tenant_id,
        status=status if status in STATUSES else SUSPENDED,
        tier=_text(item, "tier") or default_tier,
        table=_text(item, "table") or pool_table,
        read_only=item.get("readOnly") is True,
        usage_key=_text(item, "apiKey"),
    )


class TenantStatusCache:
    """Tenant statuses, read through the control-plane store and kept ``ttl`` seconds.

    Construct one per container (module scope) and share it: it is bounded (``maxsize``
    tenants, least recently used dropped first) and thread-safe. A tenant with no record
    is remembered as ``None`` for the same ``ttl``, so requests naming missing tenants
    cost no more reads than real ones. ``pool_table`` is the table tenants live in until
    they get their own (default: ``table_name``, where the control plane lives).
    A failed read raises (the caller fails closed) and is not cached.
    """

    __module__ = "tenantkit.auth"  # its public home
    __slots__ = ("_cache", "_default_tier", "_pool", "_store")
    _store: ControlPlaneStore

    def __init__(
        self,
        table_name: str,
        *,
        pool_table: str | None = None,
        client: Any = None,
        boto3_session: boto3.session.Session | None = None,
        boto_config: Config | None = None,
        partition_key: str = "pk",
        sort_key: str = "sk",
        ttl: float = DEFAULT_TTL,
        maxsize: int = DEFAULT_MAXSIZE,
        default_tier: str = DEFAULT_TIER,
        clock: Callable[[], float] | None = None,
    ) -> None:
        # Imported here: the records' readers (the authorizer) import this module for the
        # status names, and need not load the store and its transaction builder.
        from tenantkit._shared.dynamodb.control_plane import ControlPlaneStore

        if not (ttl > 0 and maxsize > 0):
            raise ConfigurationError("the tenant status cache needs ttl > 0 and maxsize > 0")
        self._store = ControlPlaneStore(
            table_name,
            namespaces=(TENANT_NAMESPACE,),
            partition_key=partition_key,
            sort_key=sort_key,
            client=ClientOptions(
                "dynamodb", client=client, boto3_session=boto3_session, boto_config=boto_config
            ),
        )
        self._pool = pool_table or table_name
        self._default_tier = default_tier
        self._cache: LruCache[str, tuple[TenantStatus | None]] = LruCache(
            maxsize, ttl=ttl, clock=clock
        )

    def status(self, tenant_id: str) -> TenantStatus | None:
        """The tenant's status, tier and placement, or ``None`` if it has no record."""
        cached = self._cache.get(tenant_id)
        if cached is not None:
            return cached[0]
        item = self._store.get(self._store.key(tenant_partition(tenant_id), TENANT_SORT))
        found = (
            None
            if item is None
            else tenant_status(
                tenant_id, item, pool_table=self._pool, default_tier=self._default_tier
            )
        )
        self._cache.put(tenant_id, (found,))
        return found

    def require_active(self, tenant_id: str) -> None:
        """Refuse work for a tenant that is not active (or has no record): 403."""
        self._active(tenant_id)

    def require_writable(self, tenant_id: str) -> None:
        """:meth:`require_active`, and refuse while the tenant is being moved: 423.

        For consumers that write: the message is retried after the move instead of
        writing into the table the tenant is leaving.
        """
        if self._active(tenant_id).read_only:
            raise TenantReadOnlyError("the tenant is being moved; retry after the move")

    def _active(self, tenant_id: str) -> TenantStatus:
        found = self.status(tenant_id)
        if found is None or not found.active:
            state = "unknown" if found is None else found.status
            raise TenantNotActiveError(f"the tenant is {state}; its work is refused")
        return found

    def forget(self, tenant_id: str) -> None:
        """Drop the cached status (this container changed it and wants it read again)."""
        self._cache.discard(tenant_id)
