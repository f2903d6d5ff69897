"""The control-plane store: tenantkit's own records, in the reserved ``_`` key namespace.

Users, tenants and their id claims (``tenantkit.auth``), the webhook registry's records
and counters, and once-markers (``tenantkit.events``) live in the app's single table,
beside tenant data but out of its reach: their partition keys start with ``_``, which no
tenant id may (``validate_tenant_id``), so ``TenantTable``, which only ever writes
``<tenant>#<value>``, cannot name one. Records that decide who is a member of what, or
which SNS topic a tenant's events reach, must never be writable by a route that lets a
caller choose the start of a key.

A store is bound to the namespaces of its owner (``_user#``, ``_tenant#`` and
``_tenantid#`` for the directory, ``_events#`` for the registry, ``_once#`` for the
ledger) and refuses every key outside them, so one component cannot write another's
records either. Items are plain dicts, marshalled with tenantkit's one marshaller;
conditions are ``boto3.dynamodb.conditions`` objects, and the partition key may only be
tested for existence; transactions use the typed builder.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from tenantkit._shared.clients import ClientOptions
from tenantkit._shared.dynamodb.calls import call
from tenantkit._shared.dynamodb.expressions import (
    Placeholders,
    UpdatePath,
    Updates,
    compile_update,
    conditional,
)
from tenantkit._shared.dynamodb.marshal import deserialize_item, serialize_item
from tenantkit._shared.dynamodb.transact import Transaction
from tenantkit.errors import ConfigurationError, aws_error_code

if TYPE_CHECKING:
    from boto3.dynamodb.conditions import ConditionBase

__all__ = ["ControlPlaneStore"]

_NAMESPACE = re.compile(r"[a-z][a-z0-9]{0,31}\Z", re.ASCII)


class ControlPlaneStore:
    """Reads and writes of one component's control-plane records; see the module docstring.

    Keys are ``{partition_key: "_<namespace>#...", sort_key: "..."}`` (no sort key when
    ``sort_key`` is ``None``). The client comes from ``client`` (``ClientOptions``), built
    on first use.
    """

    __slots__ = ("_client", "_pk", "_prefixes", "_protected", "_sk", "table_name")

    def __init__(
        self,
        table_name: str,
        *,
        namespaces: Iterable[str],
        partition_key: str = "pk",
        sort_key: str | None = "sk",
        client: ClientOptions,
    ) -> None:
        names = [table_name, partition_key] + ([] if sort_key is None else [sort_key])
        if not all(isinstance(name, str) and name for name in names) or partition_key == sort_key:
            raise ConfigurationError(
                "the control plane needs the table name and two different key attribute names"
            )
        prefixes = tuple(f"_{namespace}#" for namespace in namespaces)
        if not prefixes or not all(_NAMESPACE.match(p[1:-1]) for p in prefixes):
            raise ConfigurationError("control-plane namespaces are 1-32 of [a-z0-9], e.g. 'events'")
        self.table_name = table_name
        self._pk = partition_key
        self._sk = sort_key
        self._prefixes = prefixes
        self._protected = frozenset({partition_key})
        self._client = client

    @property
    def partition_key(self) -> str:
        return self._pk

    @property
    def client(self) -> Any:
        """The low-level DynamoDB client, built on first use."""
        return self._client.get()

    # -- keys -------------------------------------------------------------------------------

    def key(self, partition: str, sort: str | None = None) -> dict[str, str]:
        """A key of the bound namespaces; ``ConfigurationError`` for any other."""
        key: dict[str, Any] = {self._pk: partition}
        if self._sk is not None:
            key[self._sk] = sort
        elif sort is not None:
            raise ConfigurationError("this table has no sort key")
        self._raw_key(key)
        return key

    def sort_value(self, item: Mapping[str, Any]) -> str:
        """The sort-key value of a record read back."""
        value: str = item[self._sk] if self._sk is not None else ""
        return value

    def _raw_key(self, key: Mapping[str, Any]) -> dict[str, Any]:
        """The marshalled key, if ``key`` is one of the bound namespaces (the hot path of
        every call: plain type checks, no regular expression)."""
        pk, sk = self._pk, self._sk
        partition = key.get(pk) if isinstance(key, Mapping) else None
        if type(partition) is not str or not partition.startswith(self._prefixes):
            raise ConfigurationError(
                f"control-plane keys of this store start with one of {list(self._prefixes)}"
            )
        if sk is None:
            if len(key) != 1:
                raise ConfigurationError("this table has no sort key")
            return {pk: {"S": partition}}
        sort = key.get(sk)
        if len(key) != 2 or type(sort) is not str or not sort:
            raise ConfigurationError("control-plane keys need exactly a non-empty sort value")
        return {pk: {"S": partition}, sk: {"S": sort}}

    def _raw_item(self, item: Mapping[str, Any]) -> dict[str, Any]:
        key = {self._pk: item.get(self._pk)}
        if self._sk is not None:
            key[self._sk] = item.get(self._sk)
        self._raw_key(key)  # refuses anything outside the namespaces
        return serialize_item(item)

    # -- requests (the ``Writes`` of the transaction builder) --------------------------------

    def put_request(
        self, item: Mapping[str, Any], condition: ConditionBase | None, if_not_exists: bool
    ) -> dict[str, Any]:
        request: dict[str, Any] = {"TableName": self.table_name, "Item": self._raw_item(item)}
        absent = self._pk if if_not_exists else None
        return conditional(request, Placeholders(), condition, self._protected, absent=absent)

    def keyed_request(
        self, key: Mapping[str, Any], condition: ConditionBase | None
    ) -> dict[str, Any]:
        request: dict[str, Any] = {"TableName": self.table_name, "Key": self._raw_key(key)}
        return conditional(request, Placeholders(), condition, self._protected)

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
        placeholders = Placeholders()
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": self._raw_key(key),
            "UpdateExpression": compile_update(
                placeholders, set_values=set_values, remove=remove, add=add, delete=delete
            ),
        }
        return conditional(request, placeholders, condition, self._protected)

    def identity(self, key: Mapping[str, Any]) -> Hashable:
        return key.get(self._pk), None if self._sk is None else key.get(self._sk)

    def send(self, operation: str, request: Mapping[str, Any]) -> dict[str, Any]:
        return call(self._client.get(), operation, request)

    # -- calls ------------------------------------------------------------------------------

    def get(self, key: Mapping[str, Any], *, consistent: bool = False) -> dict[str, Any] | None:
        """The record with ``key``, or ``None``."""
        request: dict[str, Any] = {"TableName": self.table_name, "Key": self._raw_key(key)}
        if consistent:
            request["ConsistentRead"] = True
        raw = self.send("get_item", request).get("Item")
        return None if raw is None else deserialize_item(raw)

    def put(
        self,
        item: Mapping[str, Any],
        *,
        condition: ConditionBase | None = None,
        if_not_exists: bool = False,
    ) -> None:
        """Write ``item``; ``ConditionFailedError`` if ``condition`` (or absence) fails."""
        self.send("put_item", self.put_request(item, condition, if_not_exists))

    def put_or_existing(
        self, item: Mapping[str, Any], *, condition: ConditionBase
    ) -> dict[str, Any] | None:
        """Write ``item`` if ``condition`` holds and return ``None``; else return the record
        that stopped it (``{}`` if there was none), read in the same request.

        Unlike every other write here, a failed condition carries the stored record back:
        callers use this only for records that hold no tenant data (once-markers).
        """
        request = self.put_request(item, condition, False)
        request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        try:
            self._client.get().put_item(**request)
        except Exception as exc:
            if aws_error_code(exc) != "ConditionalCheckFailedException":
                raise
            return deserialize_item(getattr(exc, "response", {}).get("Item") or {})
        return None

    def update(
        self,
        key: Mapping[str, Any],
        *,
        set: Updates | None = None,
        remove: str | Iterable[UpdatePath] | None = None,
        add: Updates | None = None,
        delete: Updates | None = None,
        condition: ConditionBase | None = None,
    ) -> dict[str, Any]:
        """Update one record and return all of its attributes after the update."""
        request = self.update_request(
            key, set_values=set, remove=remove, add=add, delete=delete, condition=condition
        )
        request["ReturnValues"] = "ALL_NEW"
        return deserialize_item(self.send("update_item", request)["Attributes"])

    def delete(self, key: Mapping[str, Any], *, condition: ConditionBase | None = None) -> None:
        """Delete the record with ``key`` (nothing happens if there is none)."""
        self.send("delete_item", self.keyed_request(key, condition))

    def transaction(self) -> Transaction:
        """A typed transaction over records of the bound namespaces."""
        return Transaction(self)

    def query(self, partition: str) -> Iterator[dict[str, Any]]:
        """Every record of one partition, page by page (strongly consistent)."""
        placeholders = Placeholders()
        if self._sk is None:
            self.key(partition)
        else:
            self.key(partition, "-")
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": (
                f"{placeholders.name(self._pk)} = {placeholders.value(partition)}"
            ),
            "ConsistentRead": True,
        }
        placeholders.apply(request)
        while True:
            response = self.send("query", request)
            for raw in response.get("Items", ()):
                yield deserialize_item(raw)
            last = response.get("LastEvaluatedKey")
            if not last:
                return
            request["ExclusiveStartKey"] = last
