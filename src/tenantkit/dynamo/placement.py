"""Table placement: which table holds a tenant's items, pool or silo (decision 24).

Most tenants share the pool table; a big one may be moved to a table of its own (a
silo, ``tenantkit tenant move``). The authorizer puts the tenant's table in its context
(``table``, decision 24), so handlers learn it with no extra read, and a ``TenantTable``
built with ``placement=Placement(...)`` sends each request to the current tenant's
table: handler code does not change when a tenant moves.

The table name is read through ``table_of``: by default from the current
``TenantContext``'s ``table``, for the tenant it belongs to only. Where that says
nothing (no context of this tenant, or one restored from a tenant id alone, as queue
consumers do) the default refuses rather than guess the pool: a silo tenant's writes
landing in the pool would vanish from its reads. A name outside ``silos``, when given,
is refused too: a context that names some other table is a misconfigured authorizer,
never a place to write.

While a tenant moves, its context is ``read_only`` and ``refuse_if_read_only`` stops its
writes: one landing in the old table after the copy would be lost with it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from tenantkit._shared.dynamodb.names import is_dynamodb_name
from tenantkit.context import current_tenant_or_none
from tenantkit.errors import ConfigurationError, TenantReadOnlyError

__all__ = ["Placement", "context_table", "refuse_if_read_only"]


def context_table(tenant: str) -> str:
    """The table the current request's context places ``tenant`` in.

    Only the context of ``tenant`` itself counts: a table pinned to another tenant
    never takes the current caller's placement. ``ConfigurationError`` when the context
    does not say (the authorizer always does when it reads tenant records).
    """
    ctx = current_tenant_or_none()
    table = None if ctx is None or ctx.tenant_id != tenant else ctx.table
    if not table:
        raise ConfigurationError(
            "the tenant's table is not in the current context (no authorizer context of "
            "this tenant); give Placement(table_of=...) a lookup, such as the tenant status "
            "cache's table"
        )
    return table


def refuse_if_read_only(tenant: str) -> None:
    """Raise ``TenantReadOnlyError`` (423) if the current context is ``tenant``'s and
    read-only: it is being moved, and a write now could be lost (decision 24).

    Like the placement, only the context of ``tenant`` itself counts. Work with none
    (queue consumers, operators) checks ``TenantStatusCache.require_writable`` itself.
    """
    ctx = current_tenant_or_none()
    if ctx is not None and ctx.read_only and ctx.tenant_id == tenant:
        raise TenantReadOnlyError(
            "the tenant is being moved to another table: it is read-only until the move "
            "ends; retry the write then"
        )


class Placement:
    """Maps a tenant to its table: the pool unless ``table_of(tenant)`` names a silo.

    ``silos`` lists the silo tables this code may use (``None``: any table the
    authorizer names). ``table_of`` returns the placement of a tenant, or ``None`` for
    the pool; it defaults to :func:`context_table`.
    """

    __slots__ = ("_silos", "_table_of")

    def __init__(
        self,
        *,
        silos: Collection[str] | None = None,
        table_of: Callable[[str], str | None] = context_table,
    ) -> None:
        if isinstance(silos, str):
            raise ConfigurationError("silos is a collection of table names, not one name")
        if silos is not None and not all(is_dynamodb_name(name) for name in silos):
            raise ConfigurationError("every silo must be a DynamoDB table name")
        self._silos = None if silos is None else frozenset(silos)
        self._table_of = table_of

    def table_for(self, tenant: str, pool: str) -> str:
        """The name of the table that holds ``tenant``'s items; ``pool`` unless placed."""
        table = self._table_of(tenant)
        if table is None or table == pool:
            return pool
        if not is_dynamodb_name(table):
            raise ConfigurationError("the tenant's placement is not a DynamoDB table name")
        if self._silos is not None and table not in self._silos:
            raise ConfigurationError(
                f"the tenant is placed in table {table!r}, which is not among this "
                "TenantTable's silos; add it to Placement(silos=...) or fix the placement"
            )
        return table
