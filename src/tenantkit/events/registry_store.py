"""The registry's control-plane store: its records in the reserved ``_`` key namespace.

Registry records decide which SNS topic a tenant's events reach and which subscription
an unsubscribe removes, so they must not live where tenant data lives: a route that
lets a caller choose the start of a partition key would let tenant A point its record
at tenant B's topic. Their partition keys start with ``_``, which no tenant id may
(``validate_tenant_id``), so a ``TenantTable``, which only writes ``<tenant>#<value>``,
cannot address them; this store, in turn, refuses every key outside the namespace.
Users and tenants (``tenantkit.auth``) share the namespace under other prefixes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tenantkit._shared.dynamodb.expressions import Placeholders, compile_condition, compile_update
from tenantkit._shared.dynamodb.marshal import deserialize_item, serialize_item
from tenantkit.errors import ConditionFailedError, ConfigurationError, ConflictError, aws_error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["ControlPlaneStore", "TransactionRefusedError"]

NAMESPACE = "_events#"


class TransactionRefusedError(ConditionFailedError):
    """A transaction failed because of the conditions of the operations in ``failed``."""

    def __init__(self, failed: frozenset[int]) -> None:
        super().__init__(
            f"the transaction was cancelled because the condition of operation(s) "
            f"{sorted(failed)} did not hold; nothing was written"
        )
        self.failed = failed


class ControlPlaneStore:
    """Single-item reads and writes, transactions and queries on ``_events#`` keys only.

    Keys are ``(partition, sort)`` string pairs; items are plain dicts marshalled with
    tenantkit's marshaller; conditions are ``boto3.dynamodb.conditions`` objects.
    """

    def __init__(
        self,
        table_name: str,
        *,
        client: DynamoDBClient | None,
        partition_key: str,
        sort_key: str,
    ) -> None:
        names = (table_name, partition_key, sort_key)
        if not all(isinstance(name, str) and name for name in names) or partition_key == sort_key:
            raise ConfigurationError(
                "the registry needs the table name and two different key attribute names"
            )
        self.table_name = table_name
        self._pk = partition_key
        self._sk = sort_key
        self._protected = frozenset({partition_key})
        self._client = client

    @property
    def partition_key(self) -> str:
        return self._pk

    @property
    def client(self) -> DynamoDBClient:
        """The low-level DynamoDB client, created on first use."""
        if self._client is None:
            import boto3

            self._client = boto3.client("dynamodb")
        return self._client

    # -- keys and items -------------------------------------------------------------------

    def key(self, partition: str, sort: str) -> dict[str, str]:
        """A key of the namespace (``partition`` must start with ``_events#``)."""
        if not partition.startswith(NAMESPACE) or not sort:
            raise ConfigurationError("registry keys live in the reserved _events# namespace")
        return {self._pk: partition, self._sk: sort}

    def sort_value(self, item: Mapping[str, Any]) -> str:
        value: str = item[self._sk]
        return value

    def absent(self) -> object:
        """The condition that an item does not exist yet."""
        from boto3.dynamodb.conditions import Attr

        return Attr(self._pk).not_exists()

    def _raw_key(self, key: Mapping[str, str]) -> dict[str, Any]:
        partition, sort = key[self._pk], key[self._sk]
        self.key(partition, sort)  # refuses anything outside the namespace
        return {self._pk: {"S": partition}, self._sk: {"S": sort}}

    def _raw_item(self, item: Mapping[str, Any]) -> dict[str, Any]:
        self._raw_key(item)
        return serialize_item(item)

    def _conditional(self, request: dict[str, Any], condition: object) -> dict[str, Any]:
        if condition is not None:
            placeholders = Placeholders()
            request["ConditionExpression"] = compile_condition(
                condition, placeholders, self._protected
            )
            request["ReturnValuesOnConditionCheckFailure"] = "NONE"
            placeholders.apply(request)
        return request

    def _update_request(
        self,
        key: Mapping[str, str],
        set_values: Mapping[str, object] | None,
        add: Mapping[str, object] | None,
        remove: Sequence[str] | None,
        condition: object,
    ) -> dict[str, Any]:
        placeholders = Placeholders()
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": self._raw_key(key),
            "UpdateExpression": compile_update(
                placeholders, set_values=set_values, remove=remove, add=add
            ),
        }
        if condition is not None:
            request["ConditionExpression"] = compile_condition(
                condition, placeholders, self._protected
            )
            request["ReturnValuesOnConditionCheckFailure"] = "NONE"
        placeholders.apply(request)
        return request

    # -- calls ----------------------------------------------------------------------------

    def _send(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        failure: Exception | None = None
        try:
            response: dict[str, Any] = getattr(self.client, operation)(**request)
            return response
        except Exception as exc:
            code = aws_error_code(exc)
            if code == "ConditionalCheckFailedException":
                failure = ConditionFailedError(
                    f"the condition of {operation} on a registry record did not hold"
                )
            elif code == "TransactionCanceledException":
                failure = _transaction_error(exc)
            if failure is None:
                raise
        raise failure  # outside the except block: the AWS error is not chained

    def get(self, key: Mapping[str, str], *, consistent: bool = False) -> dict[str, Any] | None:
        request: dict[str, Any] = {"TableName": self.table_name, "Key": self._raw_key(key)}
        if consistent:
            request["ConsistentRead"] = True
        raw = self._send("get_item", request).get("Item")
        return None if raw is None else deserialize_item(raw)

    def update(
        self,
        key: Mapping[str, str],
        *,
        set: Mapping[str, object] | None = None,
        add: Mapping[str, object] | None = None,
        remove: Sequence[str] | None = None,
        condition: object = None,
    ) -> dict[str, Any]:
        """Update one item and return all of its attributes after the update."""
        request = self._update_request(key, set, add, remove, condition)
        request["ReturnValues"] = "ALL_NEW"
        return deserialize_item(self._send("update_item", request)["Attributes"])

    def delete(self, key: Mapping[str, str], *, condition: object = None) -> None:
        request = {"TableName": self.table_name, "Key": self._raw_key(key)}
        self._send("delete_item", self._conditional(request, condition))

    def transact(self, ops: Sequence[Mapping[str, Any]]) -> None:
        """Apply ``{"put": item}``, ``{"delete": key}`` (each with an optional
        ``"condition"``) and ``{"update": {"key", "set", "add", "remove", "condition"}}``
        operations atomically. Raises ``TransactionRefusedError`` naming the operations
        whose condition failed, or ``ConflictError`` on a concurrent transaction."""
        items: list[dict[str, Any]] = []
        for op in ops:
            if "put" in op:
                request = {"TableName": self.table_name, "Item": self._raw_item(op["put"])}
                items.append({"Put": self._conditional(request, op.get("condition"))})
            elif "delete" in op:
                request = {"TableName": self.table_name, "Key": self._raw_key(op["delete"])}
                items.append({"Delete": self._conditional(request, op.get("condition"))})
            else:
                spec = op["update"]
                items.append(
                    {
                        "Update": self._update_request(
                            spec["key"],
                            spec.get("set"),
                            spec.get("add"),
                            spec.get("remove"),
                            spec.get("condition"),
                        )
                    }
                )
        self._send("transact_write_items", {"TransactItems": items})

    def query(self, partition: str) -> Iterator[dict[str, Any]]:
        """Every item of one partition, page by page (strongly consistent)."""
        placeholders = Placeholders()
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
            response = self._send("query", request)
            for raw in response.get("Items", ()):
                yield deserialize_item(raw)
            last = response.get("LastEvaluatedKey")
            if not last:
                return
            request["ExclusiveStartKey"] = last


def _transaction_error(exc: BaseException) -> Exception | None:
    response: Mapping[str, Any] = getattr(exc, "response", {})
    codes = [reason.get("Code") for reason in response.get("CancellationReasons") or ()]
    failed = frozenset(i for i, code in enumerate(codes) if code == "ConditionalCheckFailed")
    if failed:
        return TransactionRefusedError(failed)
    if "TransactionConflict" in codes:
        return ConflictError("a concurrent change to the same registry records; retry")
    return None
