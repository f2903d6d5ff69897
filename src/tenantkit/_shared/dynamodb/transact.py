"""A typed ``TransactWriteItems`` builder, after PynamoDB's ``TransactWrite``.

::

    with table.transaction() as tx:
        tx.put(item, condition=Attr("pk").not_exists())
        tx.update(key, set={"name": "x"}, add={"visits": 1}, condition=Attr("visits").gte(1))
        tx.delete(other_key)
        tx.condition_check(third_key, Attr("open").eq(True))

Each operation is checked and marshalled when it is added, so a bad one fails at its own
line. Leaving the block without an exception sends everything in one request; leaving it
with an exception sends nothing, and so does leaving it with no operations. DynamoDB's
rules are checked before any request: at most 100 operations, each item named once. A
failed condition raises ``ConditionFailedError`` whose ``failed_indexes`` are the
positions, in order of adding, of the operations whose condition did not hold.

The builder knows no keys: a ``Writes`` object turns items and keys into requests, with
tenant prefixing (``TenantTable``) or in the control plane's reserved namespace.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from tenantkit._shared.dynamodb.expressions import UpdatePath, Updates
from tenantkit.errors import (
    ConfigurationError,
    InvalidExpressionError,
    InvalidKeyError,
    InvalidLimitError,
)

if TYPE_CHECKING:
    from boto3.dynamodb.conditions import ConditionBase

__all__ = ["TRANSACTION_LIMIT", "Transaction", "Writes"]

#: DynamoDB's most operations (and distinct items) in one transaction.
TRANSACTION_LIMIT = 100


class Writes(Protocol):
    """What a transaction needs from a table: request builders, identities and a sender."""

    def put_request(
        self, item: Mapping[str, Any], condition: ConditionBase | None, if_not_exists: bool
    ) -> dict[str, Any]: ...

    def update_request(
        self,
        key: Mapping[str, Any],
        *,
        set_values: Updates | None,
        remove: str | Iterable[UpdatePath] | None,
        add: Updates | None,
        delete: Updates | None,
        condition: ConditionBase | None,
    ) -> dict[str, Any]: ...

    def keyed_request(
        self, key: Mapping[str, Any], condition: ConditionBase | None
    ) -> dict[str, Any]: ...

    def identity(self, key: Mapping[str, Any]) -> Hashable: ...

    def send(self, operation: str, request: Mapping[str, Any]) -> dict[str, Any]: ...


class Transaction:
    """Operations collected for one ``TransactWriteItems`` call; see the module docstring.

    Use it as a context manager, or call :meth:`commit` once.
    """

    __module__ = "tenantkit.dynamo"  # its public home

    __slots__ = ("_committed", "_items", "_seen", "_writes")

    def __init__(self, writes: Writes) -> None:
        self._writes = writes
        self._items: list[dict[str, Any]] = []
        self._seen: set[Hashable] = set()
        self._committed = False

    def __len__(self) -> int:
        return len(self._items)

    def __enter__(self) -> Transaction:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None and not self._committed:
            self.commit()

    def put(
        self,
        item: Mapping[str, Any],
        *,
        condition: ConditionBase | None = None,
        if_not_exists: bool = False,
    ) -> None:
        """Write ``item`` whole; ``if_not_exists`` refuses to overwrite an existing item."""
        request = self._writes.put_request(item, condition, if_not_exists)
        self._add("Put", request, item)

    def update(
        self,
        key: Mapping[str, Any],
        *,
        set: Updates | None = None,
        remove: str | Iterable[UpdatePath] | None = None,
        add: Updates | None = None,
        delete: Updates | None = None,
        condition: ConditionBase | None = None,
    ) -> None:
        """Apply ``SET``/``REMOVE``/``ADD``/``DELETE`` to the item with ``key``."""
        request = self._writes.update_request(
            key, set_values=set, remove=remove, add=add, delete=delete, condition=condition
        )
        self._add("Update", request, key)

    def delete(self, key: Mapping[str, Any], *, condition: ConditionBase | None = None) -> None:
        """Delete the item with ``key`` (a no-op for DynamoDB if there is none)."""
        self._add("Delete", self._writes.keyed_request(key, condition), key)

    def condition_check(self, key: Mapping[str, Any], condition: ConditionBase) -> None:
        """Write nothing, but cancel the transaction unless ``condition`` holds on ``key``."""
        if condition is None:
            raise InvalidExpressionError("condition_check needs a condition")
        self._add("ConditionCheck", self._writes.keyed_request(key, condition), key)

    def commit(self) -> None:
        """Send every operation in one request; called by leaving the ``with`` block.

        With no operations there is nothing to write and no request is sent (DynamoDB
        would refuse an empty one with a 400).
        """
        if self._committed:
            raise ConfigurationError("this transaction was committed; start a new one")
        self._committed = True
        if self._items:
            self._writes.send("transact_write_items", {"TransactItems": self._items})

    def _add(self, kind: str, request: dict[str, Any], key: Mapping[str, Any]) -> None:
        if self._committed:
            raise ConfigurationError("this transaction was committed; start a new one")
        if len(self._items) >= TRANSACTION_LIMIT:
            raise InvalidLimitError(
                f"a transaction has at most {TRANSACTION_LIMIT} operations; split the work"
            )
        identity = self._writes.identity(key)
        if identity in self._seen:
            raise InvalidKeyError("a transaction cannot name the same item twice")
        self._seen.add(identity)
        self._items.append({kind: request})
