"""``TenantTable``: one DynamoDB table shared by many tenants, scoped to the current one.

Every partition key, of the table and of each declared GSI, is stored as
``<tenant>#<value>``. The tenant comes from ``current_tenant()`` at call time (or from
``tenant=``), never from arguments, so a handler cannot name another tenant's items.
Items coming back are verified to carry the tenant's prefix, and the prefix is stripped.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from tenantkit._shared.keys import Secret
from tenantkit.context import TenantContext, current_tenant, validate_tenant_id
from tenantkit.dynamo.cursor import CursorSigner, query_fingerprint
from tenantkit.dynamo.expressions import (
    Placeholders,
    compile_condition,
    compile_key_condition,
    compile_update,
)
from tenantkit.dynamo.marshal import deserialize_item, serialize, serialize_item, utf8_size
from tenantkit.errors import (
    ConditionFailedError,
    ConfigurationError,
    ConflictError,
    InvalidExpressionError,
    InvalidKeyError,
    InvalidValueError,
    ScanForbiddenError,
    TenantIsolationError,
    UnprocessedItemsError,
    aws_error_code,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["DEFAULT_INDEXES", "Page", "TenantTable"]

logger = logging.getLogger("tenantkit.dynamo")

DEFAULT_INDEXES: Mapping[str, str] = MappingProxyType({"GSI1": "GSI1PK"})
MAX_PARTITION_KEY_BYTES = 2048
MAX_SORT_KEY_BYTES = 1024
BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25
TRANSACTION_LIMIT = 100

_SCAN_MESSAGE = (
    "{what} is refused on a TenantTable: it reads across every tenant's partition and cannot "
    "be limited to one tenant. Use query(partition_value, index=...) on the table or a GSI "
    "instead, with a key design that groups what you need to list under one partition value."
)
_TRANSACTION_VERBS = frozenset({"put", "update", "delete", "check"})


@dataclass(frozen=True, slots=True)
class Page:
    """One page of query results; ``cursor`` is ``None`` on the last page."""

    items: list[dict[str, Any]]
    cursor: str | None = None


def _transaction_error(exc: BaseException) -> Exception | None:
    response: dict[str, Any] = getattr(exc, "response", {})
    codes = [reason.get("Code") for reason in response.get("CancellationReasons") or ()]
    failed = [i for i, code in enumerate(codes) if code == "ConditionalCheckFailed"]
    if failed:
        return ConditionFailedError(
            f"the transaction was cancelled because the condition of operation(s) {failed} "
            "did not hold; nothing was written"
        )
    if "TransactionConflict" in codes:
        return ConflictError(
            "the transaction was cancelled by a concurrent change to the same items; retry it"
        )
    return None


# ValidationException messages about the caller's values, which only DynamoDB can check:
# item sizes (its own accounting) and key types (the table's schema is not known here).
_SIZE_MESSAGES = ("exceeded the maximum allowed size", "Nesting Levels have exceeded")
_KEY_TYPE_MESSAGES = (
    "Type mismatch",
    "Condition parameter type does not match schema type",
    "The provided key element does not match the schema",
)


def _validation_error(operation: str, exc: BaseException) -> Exception | None:
    """A typed 400 for a ValidationException the caller's input caused, else ``None``."""
    response: dict[str, Any] = getattr(exc, "response", {})
    message = str(response.get("Error", {}).get("Message", ""))
    if any(text in message for text in _SIZE_MESSAGES):
        return InvalidValueError(
            f"DynamoDB refused {operation}: an item is over its 400 KB limit or nests lists "
            "and maps too deeply; store less in one item"
        )
    if any(text in message for text in _KEY_TYPE_MESSAGES):
        return InvalidKeyError(
            f"DynamoDB refused {operation}: a key value has the wrong type for the table's "
            "or an index's key schema (string, number or bytes); also check TenantTable's "
            "partition_key and sort_key"
        )
    return None


class TenantTable:
    """A DynamoDB table whose every read and write is confined to one tenant's partitions.

    Partition keys of the table and of every GSI in ``indexes`` are prefixed with
    ``<tenant>#``; scans and PartiQL are refused; conditions are
    ``boto3.dynamodb.conditions`` objects compiled and checked here.
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
        tenant: str | TenantContext | None = None,
        cursor_secret: Secret | None = None,
    ) -> None:
        names = [table_name, partition_key, *indexes, *indexes.values()]
        if sort_key is not None:
            names.append(sort_key)
        if not all(isinstance(name, str) and name for name in names):
            raise ConfigurationError(
                "table_name, partition_key, sort_key and every index name and partition-key "
                "attribute must be non-empty strings"
            )
        if sort_key is not None and (sort_key == partition_key or sort_key in indexes.values()):
            raise ConfigurationError(
                f"the sort key {sort_key!r} cannot also be a partition key: partition keys are "
                "tenant-prefixed and sort keys are not"
            )
        self._name = table_name
        self._pk = partition_key
        self._sk = sort_key
        self._indexes = dict(indexes)
        self._index_pks = tuple(
            dict.fromkeys(a for a in self._indexes.values() if a != partition_key)
        )
        self._protected = frozenset((partition_key, *self._indexes.values()))
        self._pk_attributes = (partition_key, *self._index_pks)
        self._client: Any = client
        if isinstance(tenant, TenantContext):
            tenant = tenant.tenant_id
        self._pinned = None if tenant is None else validate_tenant_id(tenant)
        self._cursors = CursorSigner(table_name, cursor_secret)

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
        return self._pk

    @property
    def sort_key(self) -> str | None:
        """The table's sort-key attribute, or ``None`` for a table without one."""
        return self._sk

    # -- plumbing ---------------------------------------------------------------------

    def _tenant(self) -> str:
        return self._pinned if self._pinned is not None else current_tenant().tenant_id

    def _send(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        client = self._client
        if client is None:
            import boto3

            client = self._client = boto3.client("dynamodb")
        failure: Exception | None = None
        try:
            response: dict[str, Any] = getattr(client, operation)(**request)
            return response
        except Exception as exc:
            code = aws_error_code(exc)
            if code == "ConditionalCheckFailedException":
                failure = ConditionFailedError(
                    f"the condition of {operation} did not hold, so nothing was changed; "
                    "re-read the item and retry if appropriate"
                )
            elif code == "TransactionCanceledException":
                failure = _transaction_error(exc)
            elif code == "ValidationException":
                failure = _validation_error(operation, exc)
            if failure is None:
                raise
        # Raised outside the except block so the AWS error (and any item in it) is not chained.
        raise failure

    def _partition(self, value: object, prefix: str, attribute: str) -> str:
        if not isinstance(value, str) or not value:
            raise InvalidKeyError(f"the partition key {attribute!r} must be a non-empty string")
        stored = prefix + value
        if not (stored.isascii() and len(stored) <= MAX_PARTITION_KEY_BYTES) and (
            utf8_size(stored) > MAX_PARTITION_KEY_BYTES
        ):
            raise InvalidKeyError(
                f"the partition key {attribute!r} is over {MAX_PARTITION_KEY_BYTES} UTF-8 bytes "
                "with the tenant prefix; use a shorter value"
            )
        return stored

    def _sort(self, value: object, attribute: str) -> dict[str, Any]:
        if isinstance(value, str | bytes | bytearray):
            size = utf8_size(value) if isinstance(value, str) else len(value)
            if size == 0:
                raise InvalidKeyError(f"the sort key {attribute!r} must not be empty")
            if size > MAX_SORT_KEY_BYTES:
                raise InvalidKeyError(
                    f"the sort key {attribute!r} is over {MAX_SORT_KEY_BYTES} bytes; "
                    "use a shorter value"
                )
        elif isinstance(value, float):
            serialize(value)  # raises the float message
        elif isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise InvalidKeyError(
                f"the sort key {attribute!r} must be a non-empty string, bytes or a number"
            )
        return serialize(value)

    def _key(self, key: object, prefix: str) -> dict[str, Any]:
        pk, sk = self._pk, self._sk
        if not isinstance(key, Mapping) or pk not in key or len(key) != (1 if sk is None else 2):
            raise InvalidKeyError(self._key_shape())
        raw: dict[str, Any] = {pk: {"S": self._partition(key[pk], prefix, pk)}}
        if sk is not None:
            if sk not in key:
                raise InvalidKeyError(self._key_shape())
            raw[sk] = self._sort(key[sk], sk)
        return raw

    def _key_shape(self) -> str:
        names = [self._pk] if self._sk is None else [self._pk, self._sk]
        return f"a key of table {self._name!r} is a dict with exactly the attributes {names}"

    def _item(self, item: object, prefix: str) -> dict[str, Any]:
        if not isinstance(item, Mapping):
            raise InvalidKeyError("an item must be a dict of attribute names to values")
        raw = serialize_item(item)
        pk, sk = self._pk, self._sk
        raw[pk] = {"S": self._partition(item.get(pk), prefix, pk)}
        if sk is not None:
            if sk not in item:
                raise InvalidKeyError(f"the item has no sort key {sk!r}")
            raw[sk] = self._sort(item[sk], sk)
        for attribute in self._index_pks:
            if attribute in item:
                raw[attribute] = {"S": self._partition(item[attribute], prefix, attribute)}
        return raw

    def _load(self, raw: Mapping[str, Any], prefix: str) -> dict[str, Any]:
        """Unmarshal an item, verifying and stripping the tenant prefix of every partition key."""
        return self._load_all((raw,), prefix)[0]

    def _load_all(self, raws: Iterable[Mapping[str, Any]], prefix: str) -> list[dict[str, Any]]:
        """``_load`` for many items, in one loop (a query page is the hot path)."""
        cut = len(prefix)
        pk = self._pk
        attributes = self._pk_attributes
        items = []
        for raw in raws:
            item = deserialize_item(raw)
            for attribute in attributes:
                value = item.get(attribute)
                if type(value) is str and value.startswith(prefix):
                    item[attribute] = value[cut:]
                elif value is not None or attribute == pk:
                    raise self._isolation_error()
            items.append(item)
        return items

    def _isolation_error(self) -> TenantIsolationError:
        logger.error(
            "tenant isolation: table %s returned an item outside the current tenant's "
            "partitions; it was withheld",
            self._name,
        )
        return TenantIsolationError(
            f"table {self._name!r} returned an item outside the current tenant's partitions; "
            "it was withheld. Look for items written without TenantTable."
        )

    def _logical_key(self, item: Mapping[str, Any]) -> tuple[Any, Any]:
        """A hashable identity of the item's key (a ``bytearray`` sort key becomes bytes)."""
        sort = None if self._sk is None else item[self._sk]
        return item[self._pk], bytes(sort) if isinstance(sort, bytearray) else sort

    def _condition(
        self,
        request: dict[str, Any],
        placeholders: Placeholders,
        condition: object,
        if_not_exists: bool = False,
    ) -> None:
        parts = []
        if if_not_exists:
            parts.append(f"attribute_not_exists({placeholders.name(self._pk)})")
        if condition is not None:
            parts.append(compile_condition(condition, placeholders, self._protected))
        if parts:
            request["ConditionExpression"] = (
                parts[0] if len(parts) == 1 else " AND ".join(f"({p})" for p in parts)
            )
            # Never let a failed condition carry the stored item back.
            request["ReturnValuesOnConditionCheckFailure"] = "NONE"
        placeholders.apply(request)

    # -- request builders shared by single-item calls and transactions ------------------

    def _put_request(
        self, item: object, prefix: str, condition: object, if_not_exists: bool = False
    ) -> dict[str, Any]:
        request: dict[str, Any] = {"TableName": self._name, "Item": self._item(item, prefix)}
        self._condition(request, Placeholders(), condition, if_not_exists)
        return request

    def _keyed_request(self, key: object, prefix: str, condition: object) -> dict[str, Any]:
        """A key with an optional condition: a delete, or a transaction's condition check."""
        request: dict[str, Any] = {"TableName": self._name, "Key": self._key(key, prefix)}
        self._condition(request, Placeholders(), condition)
        return request

    def _update_request(
        self,
        key: object,
        prefix: str,
        set_values: Mapping[str, object] | None,
        remove: Iterable[str] | None,
        add: Mapping[str, object] | None,
        condition: object,
    ) -> dict[str, Any]:
        if set_values is not None and not isinstance(set_values, Mapping):
            raise InvalidExpressionError("set must be a dict of attribute names to values")
        if add is not None and not isinstance(add, Mapping):
            raise InvalidExpressionError("add must be a dict of attribute names to values")
        request: dict[str, Any] = {"TableName": self._name, "Key": self._key(key, prefix)}
        table_keys = {self._pk} if self._sk is None else {self._pk, self._sk}
        removed = [remove] if isinstance(remove, str) else list(remove or ())
        touched = [*(set_values or ()), *removed, *(add or ())]
        if table_keys.intersection(touched):
            raise InvalidKeyError(
                "update_item cannot change the table's key attributes; delete the item and "
                "put a new one instead"
            )
        if add and self._protected.intersection(add):
            raise InvalidExpressionError("add cannot be applied to a partition-key attribute")
        if set_values:
            set_values = {
                name: self._partition(value, prefix, name) if name in self._protected else value
                for name, value in set_values.items()
            }
        placeholders = Placeholders()
        request["UpdateExpression"] = compile_update(
            placeholders, set_values=set_values, remove=removed, add=add
        )
        self._condition(request, placeholders, condition)
        return request

    # -- single items -----------------------------------------------------------------

    def get_item(
        self, key: Mapping[str, Any], *, consistent: bool = False
    ) -> dict[str, Any] | None:
        """The item with ``key`` in the current tenant, or ``None``."""
        prefix = self._tenant() + "#"
        request: dict[str, Any] = {"TableName": self._name, "Key": self._key(key, prefix)}
        if consistent:
            request["ConsistentRead"] = True
        raw = self._send("get_item", request).get("Item")
        return None if raw is None else self._load(raw, prefix)

    def put_item(
        self, item: Mapping[str, Any], *, condition: object = None, if_not_exists: bool = False
    ) -> None:
        """Write ``item``; ``if_not_exists`` refuses to overwrite (``ConditionFailedError``)."""
        prefix = self._tenant() + "#"
        self._send("put_item", self._put_request(item, prefix, condition, if_not_exists))

    def update_item(
        self,
        key: Mapping[str, Any],
        *,
        set: Mapping[str, Any] | None = None,
        remove: Iterable[str] | None = None,
        add: Mapping[str, Any] | None = None,
        condition: object = None,
    ) -> dict[str, Any]:
        """Apply ``SET``/``REMOVE``/``ADD`` to top-level attributes; returns the new item."""
        prefix = self._tenant() + "#"
        request = self._update_request(key, prefix, set, remove, add, condition)
        request["ReturnValues"] = "ALL_NEW"
        return self._load(self._send("update_item", request)["Attributes"], prefix)

    def delete_item(
        self, key: Mapping[str, Any], *, condition: object = None
    ) -> dict[str, Any] | None:
        """Delete the item with ``key``; returns the deleted item, or ``None`` if there was none."""
        prefix = self._tenant() + "#"
        request = self._keyed_request(key, prefix, condition)
        request["ReturnValues"] = "ALL_OLD"
        raw = self._send("delete_item", request).get("Attributes")
        return None if raw is None else self._load(raw, prefix)

    # -- queries ----------------------------------------------------------------------

    def _query_request(
        self,
        partition_value: object,
        prefix: str,
        index: str | None,
        sort: object,
        filter: object,
        forward: bool,
        consistent: bool,
    ) -> dict[str, Any]:
        if index is None:
            attribute = self._pk
        else:
            found = self._indexes.get(index) if isinstance(index, str) else None
            if found is None:
                raise InvalidKeyError(
                    f"index {index!r} is not declared in TenantTable(indexes=...), so it cannot "
                    "be queried: its partition key would not be tenant-scoped"
                )
            attribute = found
        placeholders = Placeholders()
        stored = self._partition(partition_value, prefix, attribute)
        expression = f"{placeholders.name(attribute)} = {placeholders.value(stored)}"
        if sort is not None:
            expression += " AND " + compile_key_condition(sort, placeholders, self._protected)
        request: dict[str, Any] = {"TableName": self._name, "KeyConditionExpression": expression}
        if index is not None:
            request["IndexName"] = index
        if filter is not None:
            request["FilterExpression"] = compile_condition(
                filter, placeholders, self._protected, what="filter"
            )
        if not forward:
            request["ScanIndexForward"] = False
        if consistent:
            request["ConsistentRead"] = True
        return placeholders.apply(request)

    @staticmethod
    def _fingerprint(request: Mapping[str, Any]) -> str:
        return query_fingerprint(
            request.get("IndexName"),
            request["KeyConditionExpression"],
            request.get("FilterExpression"),
            request.get("ExpressionAttributeNames"),
            request.get("ExpressionAttributeValues"),
            request.get("ScanIndexForward", True),
        )

    def _strip_key(self, raw: Mapping[str, Any], prefix: str) -> dict[str, Any]:
        key = dict(raw)
        for attribute in self._protected.intersection(key):
            value = key[attribute].get("S")
            if not isinstance(value, str) or not value.startswith(prefix):
                raise self._isolation_error()
            key[attribute] = {"S": value[len(prefix) :]}
        return key

    def _prefix_key(self, key: dict[str, Any], prefix: str) -> dict[str, Any]:
        for attribute in self._protected.intersection(key):
            value = key[attribute].get("S")
            if value is None:
                raise InvalidKeyError("the cursor's key is malformed")
            key[attribute] = {"S": prefix + value}
        return key

    def query(
        self,
        partition_value: str,
        *,
        index: str | None = None,
        sort: object = None,
        filter: object = None,
        limit: int | None = None,
        cursor: str | None = None,
        forward: bool = True,
        consistent: bool = False,
    ) -> Page:
        """One page of the items under ``partition_value`` (of the table or of ``index``)."""
        tenant = self._tenant()
        prefix = tenant + "#"
        request = self._query_request(
            partition_value, prefix, index, sort, filter, forward, consistent
        )
        if limit is not None:
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                raise InvalidKeyError("limit must be a positive integer")
            request["Limit"] = limit
        fingerprint = None
        if cursor is not None:
            fingerprint = self._fingerprint(request)
            start = self._cursors.decode(cursor, tenant, index, fingerprint)
            request["ExclusiveStartKey"] = self._prefix_key(start, prefix)
        response = self._send("query", request)
        items = self._load_all(response.get("Items", ()), prefix)
        last = response.get("LastEvaluatedKey")
        if not last:
            return Page(items, None)
        if fingerprint is None:
            fingerprint = self._fingerprint(request)
        next_cursor = self._cursors.encode(
            self._strip_key(last, prefix), tenant, index, fingerprint
        )
        return Page(items, next_cursor)

    def query_all(
        self,
        partition_value: str,
        *,
        index: str | None = None,
        sort: object = None,
        filter: object = None,
        limit: int | None = None,
        cursor: str | None = None,
        forward: bool = True,
        consistent: bool = False,
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
                consistent=consistent,
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
        sort: object = None,
        filter: object = None,
        consistent: bool = False,
    ) -> int:
        """How many items a query matches, counted by DynamoDB without returning them."""
        prefix = self._tenant() + "#"
        request = self._query_request(
            partition_value, prefix, index, sort, filter, True, consistent
        )
        request["Select"] = "COUNT"
        total = 0
        while True:
            response = self._send("query", request)
            total += int(response.get("Count", 0))
            last = response.get("LastEvaluatedKey")
            if not last:
                return total
            # The key comes straight from DynamoDB; check it stays in the tenant's partition.
            self._strip_key(last, prefix)
            request["ExclusiveStartKey"] = last

    # -- batches ----------------------------------------------------------------------

    def _backoff(self, attempt: int) -> None:
        ceiling = min(self.backoff_cap, self.backoff_base * (2**attempt))
        self.sleep(random.uniform(0, ceiling))  # noqa: S311 - jitter, not a secret

    def batch_get(
        self, keys: Iterable[Mapping[str, Any]], *, consistent: bool = False
    ) -> list[dict[str, Any]]:
        """The items that exist for ``keys`` (in the order of ``keys``, duplicates once)."""
        prefix = self._tenant() + "#"
        wanted: dict[tuple[Any, Any], dict[str, Any]] = {}
        for key in keys:
            raw = self._key(key, prefix)
            wanted.setdefault(self._logical_key(key), raw)
        found: dict[tuple[Any, Any], dict[str, Any]] = {}
        unprocessed: list[object] = []
        pending_all = list(wanted.values())
        for start in range(0, len(pending_all), BATCH_GET_LIMIT):
            pending = pending_all[start : start + BATCH_GET_LIMIT]
            for attempt in range(self.max_batch_attempts):
                if attempt:
                    self._backoff(attempt - 1)
                spec: dict[str, Any] = {"Keys": pending}
                if consistent:
                    spec["ConsistentRead"] = True
                response = self._send("batch_get_item", {"RequestItems": {self._name: spec}})
                for raw_item in response.get("Responses", {}).get(self._name, ()):
                    item = self._load(raw_item, prefix)
                    found[self._logical_key(item)] = item
                pending = response.get("UnprocessedKeys", {}).get(self._name, {}).get("Keys", [])
                if not pending:
                    break
            unprocessed.extend(self._load(raw, prefix) for raw in pending)
        if unprocessed:
            raise UnprocessedItemsError(
                f"{len(unprocessed)} key(s) were still unprocessed after "
                f"{self.max_batch_attempts} attempts (throttling); retry them later",
                unprocessed,
                processed=[found[k] for k in wanted if k in found],
            )
        return [found[k] for k in wanted if k in found]

    def batch_write(
        self,
        put: Iterable[Mapping[str, Any]] = (),
        delete: Iterable[Mapping[str, Any]] = (),
    ) -> None:
        """Put and delete many items, 25 per request, retrying what DynamoDB leaves over."""
        prefix = self._tenant() + "#"
        requests: list[dict[str, Any]] = []
        seen: set[tuple[Any, Any]] = set()
        for verb, values in (("put", put), ("delete", delete)):
            for value in values:
                if verb == "put":
                    requests.append({"PutRequest": {"Item": self._item(value, prefix)}})
                else:
                    requests.append({"DeleteRequest": {"Key": self._key(value, prefix)}})
                identity = self._logical_key(value)
                if identity in seen:
                    raise InvalidKeyError(
                        "batch_write names the same key twice; DynamoDB refuses that, so merge "
                        "the operations first"
                    )
                seen.add(identity)
        unprocessed: list[object] = []
        for start in range(0, len(requests), BATCH_WRITE_LIMIT):
            pending = requests[start : start + BATCH_WRITE_LIMIT]
            for attempt in range(self.max_batch_attempts):
                if attempt:
                    self._backoff(attempt - 1)
                response = self._send("batch_write_item", {"RequestItems": {self._name: pending}})
                pending = response.get("UnprocessedItems", {}).get(self._name, [])
                if not pending:
                    break
            for request in pending:
                if "PutRequest" in request:
                    unprocessed.append({"put": self._load(request["PutRequest"]["Item"], prefix)})
                else:
                    key = self._load(request["DeleteRequest"]["Key"], prefix)
                    unprocessed.append({"delete": key})
        if unprocessed:
            raise UnprocessedItemsError(
                f"{len(unprocessed)} write(s) were still unprocessed after "
                f"{self.max_batch_attempts} attempts (throttling); retry them later",
                unprocessed,
            )

    # -- transactions -----------------------------------------------------------------

    def _transact_item(self, op: object, prefix: str) -> tuple[dict[str, Any], tuple[Any, Any]]:
        if not isinstance(op, Mapping):
            raise InvalidExpressionError(
                "each transaction operation is a dict such as {'put': item}"
            )
        verbs = _TRANSACTION_VERBS.intersection(op)
        extra = set(op) - _TRANSACTION_VERBS - {"condition"}
        if len(verbs) != 1 or extra:
            raise InvalidExpressionError(
                "each transaction operation has exactly one of 'put', 'update', 'delete' or "
                "'check' (and an optional 'condition' beside 'put' or 'delete')"
            )
        (verb,) = verbs
        body = op[verb]
        condition = op.get("condition")
        if condition is not None and verb not in ("put", "delete"):
            raise InvalidExpressionError(
                f"put the condition of a {verb!r} operation inside it: "
                f"{{{verb!r}: {{'key': ..., 'condition': ...}}}}"
            )
        if verb == "put":
            request = self._put_request(body, prefix, condition)
            return {"Put": request}, self._logical_key(body)
        if verb == "delete":
            return {"Delete": self._keyed_request(body, prefix, condition)}, self._logical_key(body)
        if not isinstance(body, Mapping) or "key" not in body:
            raise InvalidExpressionError(f"a {verb!r} operation is a dict with a 'key'")
        key = body["key"]
        if verb == "update":
            unknown = set(body) - {"key", "set", "remove", "add", "condition"}
            if unknown:
                raise InvalidExpressionError(f"unknown update fields {sorted(unknown)}")
            request = self._update_request(
                key,
                prefix,
                body.get("set"),
                body.get("remove"),
                body.get("add"),
                body.get("condition"),
            )
            return {"Update": request}, self._logical_key(key)
        if body.get("condition") is None or set(body) - {"key", "condition"}:
            raise InvalidExpressionError("a 'check' operation is {'key': ..., 'condition': ...}")
        request = self._keyed_request(key, prefix, body["condition"])
        return {"ConditionCheck": request}, self._logical_key(key)

    def transact_write(self, ops: Sequence[Mapping[str, Any]]) -> None:
        """Apply up to 100 operations atomically in the current tenant.

        Each op is ``{"put": item}``, ``{"update": {"key": ..., "set": ...}}``,
        ``{"delete": key}`` or ``{"check": {"key": ..., "condition": ...}}``.
        """
        prefix = self._tenant() + "#"
        if not 1 <= len(ops) <= TRANSACTION_LIMIT:
            raise InvalidKeyError(f"a transaction has 1 to {TRANSACTION_LIMIT} operations")
        items = []
        seen: set[tuple[Any, Any]] = set()
        for op in ops:
            item, identity = self._transact_item(op, prefix)
            if identity in seen:
                raise InvalidKeyError("a transaction cannot name the same item twice")
            seen.add(identity)
            items.append(item)
        self._send("transact_write_items", {"TransactItems": items})

    def transact_get(self, keys: Sequence[Mapping[str, Any]]) -> list[dict[str, Any] | None]:
        """Read up to 100 items in one consistent snapshot; ``None`` where there is none."""
        prefix = self._tenant() + "#"
        if not 1 <= len(keys) <= TRANSACTION_LIMIT:
            raise InvalidKeyError(f"transact_get reads 1 to {TRANSACTION_LIMIT} keys")
        items = [{"Get": {"TableName": self._name, "Key": self._key(k, prefix)}} for k in keys]
        response = self._send("transact_get_items", {"TransactItems": items})
        return [
            None if "Item" not in entry else self._load(entry["Item"], prefix)
            for entry in response.get("Responses", ())
        ]

    # -- refused ----------------------------------------------------------------------

    def scan(self, *args: object, **kwargs: object) -> None:
        """Refused: a scan reads every tenant's items."""
        raise ScanForbiddenError(_SCAN_MESSAGE.format(what="scan()"))

    def execute_statement(self, *args: object, **kwargs: object) -> None:
        """Refused: PartiQL statements are not tenant-scoped."""
        raise ScanForbiddenError(_SCAN_MESSAGE.format(what="PartiQL (execute_statement)"))

    def batch_execute_statement(self, *args: object, **kwargs: object) -> None:
        """Refused: PartiQL statements are not tenant-scoped."""
        raise ScanForbiddenError(_SCAN_MESSAGE.format(what="PartiQL (batch_execute_statement)"))

    def execute_transaction(self, *args: object, **kwargs: object) -> None:
        """Refused: PartiQL statements are not tenant-scoped."""
        raise ScanForbiddenError(_SCAN_MESSAGE.format(what="PartiQL (execute_transaction)"))
