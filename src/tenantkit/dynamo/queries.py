"""Query requests in one tenant's partitions, and the fingerprint their cursors are bound to.

The partition value is prefixed (``dynamo.keys``); the sort condition and the filter are
``boto3.dynamodb.conditions`` objects compiled with generated placeholders, and neither
may compare a partition key. Only an index declared in ``TenantTable(indexes=...)`` can
be queried: any other index's partition key would not be tenant-scoped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tenantkit._shared.dynamodb.expressions import (
    Placeholders,
    compile_condition,
    compile_key_condition,
)
from tenantkit.dynamo.cursor import CursorSigner, query_fingerprint
from tenantkit.dynamo.keys import KeyCodec
from tenantkit.errors import InvalidKeyError, InvalidLimitError

if TYPE_CHECKING:
    from boto3.dynamodb.conditions import ConditionBase

__all__ = ["Page", "Queries", "count_pages", "fingerprint"]

Send = Callable[[str, Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Page:
    """One page of query results; ``cursor`` is ``None`` on the last page."""

    items: list[dict[str, Any]]
    cursor: str | None = None


class Queries:
    """Builds and sends the ``Query`` requests of one table; signs and checks its cursors."""

    __slots__ = ("_codec", "_cursors", "_indexes", "_send", "_table")

    def __init__(
        self,
        table_name: str,
        codec: KeyCodec,
        indexes: Mapping[str, str],
        cursors: CursorSigner,
        send: Send,
    ) -> None:
        self._table = table_name
        self._codec = codec
        self._indexes = dict(indexes)
        self._cursors = cursors
        self._send = send

    def request(
        self,
        partition_value: str,
        tenant: str,
        *,
        index: str | None,
        sort: ConditionBase | None,
        filter: ConditionBase | None,
        forward: bool,
        consistent: bool,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """The request for one page of ``partition_value`` (of the table or of ``index``)."""
        codec = self._codec
        if index is None:
            attribute = codec.partition_key
        else:
            found = self._indexes.get(index) if isinstance(index, str) else None
            if found is None:
                raise InvalidKeyError(
                    f"index {index!r} is not declared in TenantTable(indexes=...), so it cannot "
                    "be queried: its partition key would not be tenant-scoped"
                )
            attribute = found
        placeholders = Placeholders()
        stored = codec.partition(partition_value, tenant, attribute)
        expression = f"{placeholders.name(attribute)} = {placeholders.value(stored)}"
        if sort is not None:
            expression += " AND " + compile_key_condition(sort, placeholders, codec.protected)
        request: dict[str, Any] = {"TableName": self._table, "KeyConditionExpression": expression}
        if index is not None:
            request["IndexName"] = index
        if filter is not None:
            request["FilterExpression"] = compile_condition(
                filter, placeholders, codec.protected, what="filter"
            )
        if not forward:
            request["ScanIndexForward"] = False
        if consistent:
            request["ConsistentRead"] = True
        if limit is not None:
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                raise InvalidLimitError("limit must be a positive integer")
            request["Limit"] = limit
        return placeholders.apply(request)

    def page(
        self, request: dict[str, Any], tenant: str, index: str | None, cursor: str | None
    ) -> Page:
        """Send ``request`` from ``cursor`` (checked against the query) and sign the next."""
        codec = self._codec
        bound = None
        if cursor is not None:
            bound = fingerprint(request)
            start = self._cursors.decode(cursor, tenant, index, bound)
            request["ExclusiveStartKey"] = codec.prefix_key(start, tenant)
        response = self._send("query", request)
        items = codec.load_all(response.get("Items", ()), tenant)
        last = response.get("LastEvaluatedKey")
        if not last:
            return Page(items, None)
        key = codec.strip_key(last, tenant)
        return Page(items, self._cursors.encode(key, tenant, index, bound or fingerprint(request)))

    def count(self, request: dict[str, Any], tenant: str) -> int:
        """How many items ``request`` matches, over every page, with ``Select=COUNT``."""
        # The key comes straight from DynamoDB; check it stays in the tenant's partition.
        return count_pages(self._send, request, lambda last: self._codec.strip_key(last, tenant))


def count_pages(
    send: Send,
    request: dict[str, Any],
    check_key: Callable[[dict[str, Any]], object] | None = None,
) -> int:
    """The sum of ``Count`` over every page of ``request`` sent with ``Select=COUNT``;
    ``check_key`` sees each ``LastEvaluatedKey`` before it starts the next page."""
    request["Select"] = "COUNT"
    total = 0
    while True:
        response = send("query", request)
        total += int(response.get("Count", 0))
        last = response.get("LastEvaluatedKey")
        if not last:
            return total
        if check_key is not None:
            check_key(last)
        request["ExclusiveStartKey"] = last


def fingerprint(request: Mapping[str, Any]) -> str:
    """What a cursor is bound to: the index, conditions, values and direction, not ``Limit``."""
    return query_fingerprint(
        request.get("IndexName"),
        request["KeyConditionExpression"],
        request.get("FilterExpression"),
        request.get("ExpressionAttributeNames"),
        request.get("ExpressionAttributeValues"),
        request.get("ScanIndexForward", True),
    )
