"""Batch reads and writes in one tenant's partitions, with retries of what DynamoDB leaves.

``BatchGetItem`` takes 100 keys and ``BatchWriteItem`` 25 writes per request, and either
may leave some unprocessed under throttling. Each chunk is retried with the one backoff
(``tenantkit._shared.backoff``) up to ``attempts`` requests in all; what is still left
after every chunk was tried raises ``UnprocessedItemsError`` listing it in logical
(unprefixed) form, with what a read did return in ``processed``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from tenantkit._shared.backoff import Backoff
from tenantkit.dynamo.keys import KeyCodec
from tenantkit.errors import InvalidKeyError, UnprocessedItemsError

__all__ = ["BATCH_GET_LIMIT", "BATCH_WRITE_LIMIT", "Batches"]

BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25

Send = Callable[[str, Mapping[str, Any]], dict[str, Any]]


class Batches:
    """The batch calls of one table; the tenant, attempts and backoff come with each call."""

    __slots__ = ("_codec", "_send", "_table")

    def __init__(self, table_name: str, codec: KeyCodec, send: Send) -> None:
        self._table = table_name
        self._codec = codec
        self._send = send

    def get(
        self,
        keys: Iterable[Mapping[str, Any]],
        tenant: str,
        *,
        consistent: bool,
        attempts: int,
        backoff: Backoff,
    ) -> list[dict[str, Any]]:
        """The items that exist for ``keys`` (in the order of ``keys``, duplicates once)."""
        codec, table = self._codec, self._table
        wanted: dict[tuple[Any, Any], dict[str, Any]] = {}
        for key in keys:
            raw = codec.key(key, tenant)
            wanted.setdefault(codec.identity(key), raw)
        found: dict[tuple[Any, Any], dict[str, Any]] = {}
        unprocessed: list[object] = []
        pending_all = list(wanted.values())
        for start in range(0, len(pending_all), BATCH_GET_LIMIT):
            pending = pending_all[start : start + BATCH_GET_LIMIT]
            for attempt in range(attempts):
                if attempt:
                    backoff.wait(attempt - 1)
                spec: dict[str, Any] = {"Keys": pending}
                if consistent:
                    spec["ConsistentRead"] = True
                response = self._send("batch_get_item", {"RequestItems": {table: spec}})
                for item in codec.load_all(response.get("Responses", {}).get(table, ()), tenant):
                    found[codec.identity(item)] = item
                pending = response.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
                if not pending:
                    break
            unprocessed.extend(codec.load_all(pending, tenant))
        items = [found[k] for k in wanted if k in found]
        if unprocessed:
            raise UnprocessedItemsError(
                f"{len(unprocessed)} key(s) were still unprocessed after {attempts} attempts "
                "(throttling); retry them later",
                unprocessed,
                processed=list(items),
            )
        return items

    def write(
        self,
        put: Iterable[Mapping[str, Any]],
        delete: Iterable[Mapping[str, Any]],
        tenant: str,
        *,
        attempts: int,
        backoff: Backoff,
    ) -> None:
        """Put and delete many items, 25 per request; the same key twice is refused."""
        codec, table = self._codec, self._table
        requests: list[dict[str, Any]] = []
        seen: set[tuple[Any, Any]] = set()
        for verb, values in (("put", put), ("delete", delete)):
            for value in values:
                if verb == "put":
                    requests.append({"PutRequest": {"Item": codec.item(value, tenant)}})
                else:
                    requests.append({"DeleteRequest": {"Key": codec.key(value, tenant)}})
                identity = codec.identity(value)
                if identity in seen:
                    raise InvalidKeyError(
                        "batch_write names the same key twice; DynamoDB refuses that, so merge "
                        "the operations first"
                    )
                seen.add(identity)
        unprocessed: list[object] = []
        for start in range(0, len(requests), BATCH_WRITE_LIMIT):
            pending = requests[start : start + BATCH_WRITE_LIMIT]
            for attempt in range(attempts):
                if attempt:
                    backoff.wait(attempt - 1)
                response = self._send("batch_write_item", {"RequestItems": {table: pending}})
                pending = response.get("UnprocessedItems", {}).get(table, [])
                if not pending:
                    break
            for request in pending:
                if "PutRequest" in request:
                    unprocessed.append({"put": codec.load(request["PutRequest"]["Item"], tenant)})
                else:
                    key = codec.load(request["DeleteRequest"]["Key"], tenant)
                    unprocessed.append({"delete": key})
        if unprocessed:
            raise UnprocessedItemsError(
                f"{len(unprocessed)} write(s) were still unprocessed after {attempts} attempts "
                "(throttling); retry them later",
                unprocessed,
            )
