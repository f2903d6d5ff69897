"""``TenantTable``: one DynamoDB table shared by many tenants, scoped to the current one.

Every partition key, of the table and of each declared GSI, is stored as
``<tenant>#<value>`` (``dynamo.keys``). The tenant comes from ``current_tenant()`` at call
time (or from ``tenant=``), never from arguments, so a handler cannot name another
tenant's items. Items coming back are verified to carry the tenant's prefix, and the
prefix is stripped. This module is the facade; requests are built in ``transactions``
(writes), ``queries`` and ``batch``.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NoReturn

from tenantkit._shared.backoff import Backoff
from tenantkit._shared.clients import ClientOptions
from tenantkit._shared.dynamodb.calls import call
from tenantkit._shared.dynamodb.expressions import UpdatePath, Updates
from tenantkit._shared.dynamodb.transact import Transaction
from tenantkit._shared.keys import Secret
from tenantkit.context import TenantContext, current_tenant, validate_tenant_id
from tenantkit.dynamo.batch import Batches
from tenantkit.dynamo.cursor import CursorSigner
from tenantkit.dynamo.enumeration import EnumeratingCodec, Enumeration, Enumerator
from tenantkit.dynamo.keys import KeyCodec
from tenantkit.dynamo.placement import Placement, refuse_if_read_only
from tenantkit.dynamo.queries import Page, Queries
from tenantkit.dynamo.transactions import TenantWrites
from tenantkit.errors import ConfigurationError, ScanForbiddenError
from tenantkit.metering import emf_metrics_class, metered_call

if TYPE_CHECKING:
    import boto3
    from boto3.dynamodb.conditions import ConditionBase
    from botocore.config import Config
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["DEFAULT_INDEXES", "Page", "TenantTable"]

logger = logging.getLogger("tenantkit.dynamo")

DEFAULT_INDEXES: Mapping[str, str] = MappingProxyType({"GSI1": "GSI1PK"})

_SCAN_MESSAGE = (
    "{what} is refused on a TenantTable: it reads across every tenant's partition and cannot "
    "be limited to one tenant. Use query(partition_value, index=...) on the table or a GSI "
    "instead, with a key design that groups what you need to list under one partition value."
)


class TenantTable:
    """A DynamoDB table whose every read and write is confined to one tenant's partitions.

    Partition keys of the table and of every GSI in ``indexes`` are prefixed with
    ``<tenant>#``; scans and PartiQL are refused; conditions are
    ``boto3.dynamodb.conditions`` objects compiled and checked here. The client is
    ``client``, or one built on first use from ``boto3_session`` and ``boto_config``.
    ``enumeration`` turns on the tenant-enumeration index (``dynamo.enumeration``);
    ``placement`` sends each tenant's requests to its own table (``dynamo.placement``),
    ``table_name`` being the pool.
    ``metering`` adds each request's consumed capacity to the invocation's meter
    (``tenantkit.metering``); it needs the ``powertools`` extra.
    """

    #: Attempts for batch requests that leave items unprocessed, and the backoff between them.
    max_batch_attempts: int = 8
    backoff_base: float = 0.05
    backoff_cap: float = 5.0
    sleep: Callable[[float], None] = staticmethod(time.sleep)

    def __init__(
        self,
        table_name: str,
        *,
        partition_key: str = "pk",
        sort_key: str | None = "sk",
        indexes: Mapping[str, str] = DEFAULT_INDEXES,
        client: DynamoDBClient | None = None,
        boto3_session: boto3.session.Session | None = None,
        boto_config: Config | None = None,
        tenant: str | TenantContext | None = None,
        cursor_key: Secret | None = None,
        enumeration: Enumeration | None = None,
        placement: Placement | None = None,
        metering: bool = False,
    ) -> None:
        shape = (table_name, partition_key, sort_key, indexes)
        self._codec = (
            KeyCodec(*shape, withheld=self._log_withheld)
            if enumeration is None
            else EnumeratingCodec(enumeration, *shape, withheld=self._log_withheld)
        )
        self._placement = placement
        self._indexes = dict(indexes)
        self._name = table_name
        self._client = ClientOptions(
            "dynamodb", client=client, boto3_session=boto3_session, boto_config=boto_config
        )
        if isinstance(tenant, TenantContext):
            tenant = tenant.tenant_id
        self._pinned = None if tenant is None else validate_tenant_id(tenant)
        if metering:
            emf_metrics_class()  # a ConfigurationError now, without the extra
        self._metered = metering
        # Cursors are bound to the pool's name, so they stay valid when a tenant moves.
        self._cursors = CursorSigner(table_name, cursor_key)
        self._placed: dict[str, tuple[Queries, Batches]] = {}

    def __repr__(self) -> str:
        pinned = f", tenant={self._pinned!r}" if self._pinned else ""
        return f"TenantTable({self._name!r}{pinned})"

    @property
    def table_name(self) -> str:
        return self._name

    @property
    def pinned_tenant(self) -> str | None:
        """The tenant this table is pinned to, or ``None`` when it reads ``current_tenant()``."""
        return self._pinned

    @property
    def partition_key(self) -> str:
        """The table's partition-key attribute (stored tenant-prefixed)."""
        return self._codec.partition_key

    @property
    def sort_key(self) -> str | None:
        """The table's sort-key attribute, or ``None`` for a table without one."""
        return self._codec.sort_key

    def _log_withheld(self) -> None:
        logger.error(
            "tenant isolation: table %s returned an item outside the current tenant's "
            "partitions; it was withheld",
            self._name,
        )

    def _tenant(self) -> str:
        return self._pinned if self._pinned is not None else current_tenant().tenant_id

    def _writing_tenant(self) -> str:
        """The tenant about to be written to, refused while it moves (read-only)."""
        tenant = self._tenant()
        refuse_if_read_only(tenant)
        return tenant

    def _send(self, operation: str, request: Mapping[str, Any]) -> dict[str, Any]:
        return call(self._client.get(), operation, request)

    def _sender(self, tenant: str) -> Callable[[str, Mapping[str, Any]], dict[str, Any]]:
        """How ``tenant``'s requests are sent. Metered, they count as ``tenant``'s, bound
        here, never read when one is sent: a generator (``enumerate_keys``) may resume
        in another tenant's scope, or in none."""
        if not self._metered:
            return self._send
        return functools.partial(self._send_metered, tenant)

    def _send_metered(
        self, tenant: str, operation: str, request: Mapping[str, Any]
    ) -> dict[str, Any]:
        return metered_call(call, self._client.get(), operation, request, tenant)

    def _table_for(self, tenant: str) -> str:
        """The table that holds ``tenant``'s items: the pool unless placed elsewhere."""
        placement = self._placement
        return self._name if placement is None else placement.table_for(tenant, self._name)

    def _requests(self, tenant: str) -> tuple[Queries, Batches]:
        """The query and batch builders of ``tenant``'s table, one pair per table."""
        name = self._table_for(tenant)
        built = None if self._metered else self._placed.get(name)
        if built is None:  # metered, the builders send as their tenant; they are cheap
            send = self._sender(tenant)
            queries = Queries(name, self._codec, self._indexes, self._cursors, send)
            built = (queries, Batches(name, self._codec, send))
            if not self._metered:
                self._placed[name] = built
        return built

    def _writes(self, tenant: str) -> TenantWrites:
        return TenantWrites(self._table_for(tenant), self._codec, tenant, self._sender(tenant))

    # -- single items -----------------------------------------------------------------

    def get_item(
        self, key: Mapping[str, Any], *, consistent_read: bool = False
    ) -> dict[str, Any] | None:
        """The item with ``key`` in the current tenant, or ``None``."""
        tenant = self._tenant()
        request: dict[str, Any] = {
            "TableName": self._table_for(tenant),
            "Key": self._codec.key(key, tenant),
        }
        if consistent_read:
            request["ConsistentRead"] = True
        raw = self._sender(tenant)("get_item", request).get("Item")
        return None if raw is None else self._codec.load(raw, tenant)

    def put_item(
        self,
        item: Mapping[str, Any],
        *,
        condition: ConditionBase | None = None,
        if_not_exists: bool = False,
    ) -> None:
        """Write ``item``; ``if_not_exists`` refuses to overwrite (``ConditionFailedError``)."""
        tenant = self._writing_tenant()
        request = self._writes(tenant).put_request(item, condition, if_not_exists)
        self._sender(tenant)("put_item", request)

    def update_item(
        self,
        key: Mapping[str, Any],
        *,
        set: Updates | None = None,
        remove: str | Iterable[UpdatePath] | None = None,
        add: Updates | None = None,
        delete: Updates | None = None,
        condition: ConditionBase | None = None,
    ) -> dict[str, Any]:
        """Apply ``SET``/``REMOVE``/``ADD``/``DELETE``; returns the item as it is now."""
        tenant = self._writing_tenant()
        request = self._writes(tenant).update_request(
            key, set_values=set, remove=remove, add=add, delete=delete, condition=condition
        )
        request["ReturnValues"] = "ALL_NEW"
        return self._codec.load(self._sender(tenant)("update_item", request)["Attributes"], tenant)

    def delete_item(
        self, key: Mapping[str, Any], *, condition: ConditionBase | None = None
    ) -> dict[str, Any] | None:
        """Delete the item with ``key``; returns the deleted item, or ``None`` if there was none."""
        tenant = self._writing_tenant()
        request = self._writes(tenant).keyed_request(key, condition)
        request["ReturnValues"] = "ALL_OLD"
        raw = self._sender(tenant)("delete_item", request).get("Attributes")
        return None if raw is None else self._codec.load(raw, tenant)

    # -- queries ----------------------------------------------------------------------

    def query(
        self,
        partition_value: str,
        *,
        index: str | None = None,
        sort: ConditionBase | None = None,
        filter: ConditionBase | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        forward: bool = True,
        consistent_read: bool = False,
    ) -> Page:
        """One page of the items under ``partition_value`` (of the table or of ``index``)."""
        tenant = self._tenant()
        queries = self._requests(tenant)[0]
        request = queries.request(
            partition_value,
            tenant,
            index=index,
            sort=sort,
            filter=filter,
            forward=forward,
            consistent=consistent_read,
            limit=limit,
        )
        return queries.page(request, tenant, index, cursor)

    def query_all(
        self,
        partition_value: str,
        *,
        index: str | None = None,
        sort: ConditionBase | None = None,
        filter: ConditionBase | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        forward: bool = True,
        consistent_read: bool = False,
    ) -> Iterator[Page]:
        """Every page of a query, following cursors until the last page."""
        while True:
            page = self.query(
                partition_value,
                index=index,
                sort=sort,
                filter=filter,
                limit=limit,
                cursor=cursor,
                forward=forward,
                consistent_read=consistent_read,
            )
            yield page
            if page.cursor is None:
                return
            cursor = page.cursor

    def count(
        self,
        partition_value: str,
        *,
        index: str | None = None,
        sort: ConditionBase | None = None,
        filter: ConditionBase | None = None,
        consistent_read: bool = False,
    ) -> int:
        """How many items a query matches, counted by DynamoDB without returning them."""
        tenant = self._tenant()
        queries = self._requests(tenant)[0]
        request = queries.request(
            partition_value,
            tenant,
            index=index,
            sort=sort,
            filter=filter,
            forward=True,
            consistent=consistent_read,
        )
        return queries.count(request, tenant)

    # -- batches and transactions -----------------------------------------------------

    def _backoff(self) -> Backoff:
        return Backoff(self.backoff_base, self.backoff_cap, self.sleep)

    def batch_get(
        self, keys: Iterable[Mapping[str, Any]], *, consistent_read: bool = False
    ) -> list[dict[str, Any]]:
        """The items that exist for ``keys`` (in the order of ``keys``, duplicates once)."""
        tenant = self._tenant()
        return self._requests(tenant)[1].get(
            keys,
            tenant,
            consistent=consistent_read,
            attempts=self.max_batch_attempts,
            backoff=self._backoff(),
        )

    def batch_write(
        self,
        put: Iterable[Mapping[str, Any]] = (),
        *,
        delete: Iterable[Mapping[str, Any]] = (),
    ) -> None:
        """Put and delete many items, 25 per request, retrying what DynamoDB leaves over.

        ``delete`` is keyword-only, so a list of keys is never written as items."""
        tenant = self._writing_tenant()
        self._requests(tenant)[1].write(
            put,
            delete,
            tenant,
            attempts=self.max_batch_attempts,
            backoff=self._backoff(),
        )

    def transaction(self) -> Transaction:
        """A typed transaction in the current tenant, sent when its ``with`` block ends.

        ``tx.put``, ``tx.update``, ``tx.delete`` and ``tx.condition_check``, up to 100 in
        all, each item once; see ``tenantkit._shared.dynamodb.transact``. The tenant is
        read here, once, for every operation of the transaction.
        """
        return Transaction(self._writes(self._writing_tenant()))

    def transact_get(self, keys: Sequence[Mapping[str, Any]]) -> list[dict[str, Any] | None]:
        """Read up to 100 items in one consistent snapshot; ``None`` where there is none."""
        return self._writes(self._tenant()).snapshot(keys)

    # -- the enumeration index --------------------------------------------------------

    def _enumerator(self, tenant: str) -> Enumerator:
        if not isinstance(self._codec, EnumeratingCodec):
            raise ConfigurationError("this TenantTable has no enumeration= index")
        return Enumerator(self._table_for(tenant), self._codec, self._sender(tenant))

    @property
    def enumeration(self) -> Enumeration | None:
        """The enumeration index this table maintains, or ``None``."""
        codec = self._codec
        return codec.enumeration if isinstance(codec, EnumeratingCodec) else None

    def enumerate_keys(self, *, shards: Iterable[int] | None = None) -> Iterator[dict[str, Any]]:
        """The key of every item of the current tenant: ``Query`` pages of each shard of
        the enumeration index (or of ``shards``), never a ``Scan``."""
        tenant = self._tenant()
        enumerator = self._enumerator(tenant)
        for shard in range(enumerator.shards) if shards is None else shards:
            for page in enumerator.pages(tenant, shard):
                yield from page

    def count_items(self) -> int:
        """How many items of the current tenant the enumeration index lists."""
        tenant = self._tenant()
        enumerator = self._enumerator(tenant)
        return sum(enumerator.count(tenant, shard) for shard in range(enumerator.shards))

    # -- refused ----------------------------------------------------------------------

    def scan(self, *args: object, **kwargs: object) -> NoReturn:
        """Refused: a scan reads every tenant's items."""
        raise ScanForbiddenError(_SCAN_MESSAGE.format(what="scan()"))

    def execute_statement(self, *args: object, **kwargs: object) -> NoReturn:
        """Refused: PartiQL statements are not tenant-scoped."""
        raise ScanForbiddenError(_SCAN_MESSAGE.format(what="PartiQL (execute_statement)"))

    def batch_execute_statement(self, *args: object, **kwargs: object) -> NoReturn:
        """Refused: PartiQL statements are not tenant-scoped."""
        raise ScanForbiddenError(_SCAN_MESSAGE.format(what="PartiQL (batch_execute_statement)"))

    def execute_transaction(self, *args: object, **kwargs: object) -> NoReturn:
        """Refused: PartiQL statements are not tenant-scoped."""
        raise ScanForbiddenError(_SCAN_MESSAGE.format(what="PartiQL (execute_transaction)"))
