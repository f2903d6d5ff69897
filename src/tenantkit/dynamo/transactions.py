"""Write requests in one tenant's partitions: single-item writes and transactions.

(And ``TransactGetItems``, the transaction's read side.)

:class:`TenantWrites` turns items, keys, updates and conditions into DynamoDB requests
with every partition key prefixed (``dynamo.keys``). ``TenantTable``'s ``put_item``,
``update_item`` and ``delete_item`` use it for one request, and
``TenantTable.transaction()`` gives it to the shared typed builder
(``tenantkit._shared.dynamodb.transact.Transaction``), which collects many.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tenantkit._shared.dynamodb.expressions import (
    Placeholders,
    UpdatePath,
    Updates,
    compile_update,
    conditional,
    top_name,
)
from tenantkit._shared.dynamodb.transact import TRANSACTION_LIMIT, Transaction
from tenantkit.dynamo.enumeration import ATTRIBUTE, EnumeratingCodec
from tenantkit.dynamo.keys import KeyCodec
from tenantkit.errors import InvalidExpressionError, InvalidKeyError, InvalidLimitError

if TYPE_CHECKING:
    from boto3.dynamodb.conditions import ConditionBase

__all__ = ["TenantWrites", "Transaction"]

Send = Callable[[str, Mapping[str, Any]], dict[str, Any]]


class TenantWrites:
    """Requests that write one table in ``tenant``'s partitions (a ``Writes`` of the builder)."""

    __slots__ = ("_codec", "_send", "_table", "_tenant")

    def __init__(self, table_name: str, codec: KeyCodec, tenant: str, send: Send) -> None:
        self._table = table_name
        self._codec = codec
        self._tenant = tenant
        self._send = send

    def put_request(
        self, item: Mapping[str, Any], condition: ConditionBase | None, if_not_exists: bool
    ) -> dict[str, Any]:
        """A ``Put`` of ``item``; ``if_not_exists`` refuses to overwrite."""
        codec = self._codec
        request: dict[str, Any] = {"TableName": self._table, "Item": codec.item(item, self._tenant)}
        absent = codec.partition_key if if_not_exists else None
        return conditional(request, Placeholders(), condition, codec.protected, absent=absent)

    def keyed_request(
        self, key: Mapping[str, Any], condition: ConditionBase | None
    ) -> dict[str, Any]:
        """A key with an optional condition: a ``Delete`` or a ``ConditionCheck``."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": self._codec.key(key, self._tenant),
        }
        return conditional(request, Placeholders(), condition, self._codec.protected)

    def update_request(
        self,
        key: Mapping[str, Any],
        *,
        set_values: Updates | None,
        remove: str | Iterable[UpdatePath] | None,
        add: Updates | None,
        delete: Updates | None,
        condition: ConditionBase | None,
    ) -> dict[str, Any]:
        """An ``Update``; a partition key set here is prefixed, key attributes never change."""
        codec = self._codec
        for name, value in (("set", set_values), ("add", add), ("delete", delete)):
            if value is not None and not isinstance(value, Mapping):
                raise InvalidExpressionError(f"{name} must be a dict of attribute names to values")
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": codec.key(key, self._tenant),
        }
        removed = [remove] if isinstance(remove, str) else list(remove or ())
        touched = {top_name(path) for path in (*(set_values or ()), *removed, *(add or ()))}
        touched.update(top_name(path) for path in delete or ())
        if codec.key_attributes.intersection(touched):
            raise InvalidKeyError(
                "update_item cannot change the table's key attributes; delete the item and "
                "put a new one instead"
            )
        protected = codec.protected
        if protected.intersection(top_name(path) for path in (*(add or ()), *(delete or ()))):
            raise InvalidExpressionError("add and delete cannot apply to a partition-key attribute")
        if set_values:
            set_values = {
                path: self._partition(path, value) if top_name(path) in protected else value
                for path, value in set_values.items()
            }
        if isinstance(codec, EnumeratingCodec):  # an update may create the item
            shard = codec.shard_update(request["Key"], self._tenant, touched)
            set_values = {**(set_values or {}), ATTRIBUTE: shard}
        placeholders = Placeholders()
        request["UpdateExpression"] = compile_update(
            placeholders, set_values=set_values, remove=removed, add=add, delete=delete
        )
        return conditional(request, placeholders, condition, protected)

    def _partition(self, path: UpdatePath, value: object) -> str:
        if not isinstance(path, str):
            raise InvalidExpressionError("a partition-key attribute is a string, not a map")
        return self._codec.partition(value, self._tenant, path)

    def snapshot(self, keys: Sequence[Mapping[str, Any]]) -> list[dict[str, Any] | None]:
        """``TransactGetItems``: up to 100 items read together, ``None`` where there is none."""
        codec, tenant = self._codec, self._tenant
        if not 1 <= len(keys) <= TRANSACTION_LIMIT:
            raise InvalidLimitError(f"transact_get reads 1 to {TRANSACTION_LIMIT} keys")
        items = [{"Get": {"TableName": self._table, "Key": codec.key(k, tenant)}} for k in keys]
        response = self._send("transact_get_items", {"TransactItems": items})
        return [
            None if "Item" not in entry else codec.load(entry["Item"], tenant)
            for entry in response.get("Responses", ())
        ]

    def identity(self, key: Mapping[str, Any]) -> Hashable:
        return self._codec.identity(key)

    def send(self, operation: str, request: Mapping[str, Any]) -> dict[str, Any]:
        return self._send(operation, request)
