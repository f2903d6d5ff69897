"""The key codec: how one tenant's keys are stored, and how they are checked coming back.

Every partition key, of the table and of each declared GSI, is stored as
``<tenant>#<value>``. Tenant ids never contain ``#`` and never start with ``_``
(``validate_tenant_id``), so the first ``#`` ends the tenant: two tenants' stored values
never collide, a value stored for one tenant never verifies for another, and no stored
value reaches the reserved ``_`` namespace of the control plane. Sort keys and every other
attribute are stored as given.

Pure: no I/O, no clock and no tenant context. The caller passes a tenant id that
``validate_tenant_id`` accepted (``TenantTable`` reads it from the context). The direct
integrations' VTL and the ASL helpers build keys in this same format.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from tenantkit._shared.dynamodb.marshal import (
    deserialize_item,
    serialize,
    serialize_item,
    utf8_size,
)
from tenantkit.errors import (
    ConfigurationError,
    InvalidCursorError,
    InvalidKeyError,
    TenantIsolationError,
)

__all__ = [
    "MAX_PARTITION_KEY_BYTES",
    "MAX_SORT_KEY_BYTES",
    "SEPARATOR",
    "KeyCodec",
    "prefix",
    "strip",
    "verifies",
]

SEPARATOR = "#"
#: DynamoDB's limits, in UTF-8 bytes; the partition limit counts the tenant prefix.
MAX_PARTITION_KEY_BYTES = 2048
MAX_SORT_KEY_BYTES = 1024


def prefix(tenant: str, value: str) -> str:
    """The stored form of ``value`` in ``tenant``'s partitions: ``<tenant>#<value>``."""
    return tenant + SEPARATOR + value


def verifies(tenant: str, stored: object) -> bool:
    """Whether ``stored`` is a value of ``tenant``'s partitions (and of no other tenant's)."""
    return type(stored) is str and stored.startswith(tenant + SEPARATOR)


def strip(tenant: str, stored: object) -> str:
    """The value ``prefix(tenant, value)`` stored; ``TenantIsolationError`` for any other."""
    if not verifies(tenant, stored):
        raise TenantIsolationError("a stored key is outside the tenant's partitions")
    return str(stored)[len(tenant) + 1 :]


class KeyCodec:
    """Keys and items of one table, between a tenant's logical form and the stored form.

    ``partition_key`` and the partition key of every GSI in ``indexes`` (index name to
    attribute) are prefixed; ``sort_key`` (``None`` for a table without one) is checked,
    not changed. ``withheld()`` is called before a foreign item is refused, so the caller
    can log it (the codec itself writes nothing anywhere).
    """

    __slots__ = (
        "_attributes",
        "_index_pks",
        "_pk",
        "_protected",
        "_sk",
        "_withheld",
        "table_name",
    )

    def __init__(
        self,
        table_name: str,
        partition_key: str,
        sort_key: str | None,
        indexes: Mapping[str, str],
        *,
        withheld: Callable[[], None] = lambda: None,
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
        index_keys = indexes.values()
        self.table_name = table_name
        self._withheld = withheld
        self._pk = partition_key
        self._sk = sort_key
        self._index_pks = tuple(dict.fromkeys(a for a in index_keys if a != partition_key))
        self._attributes = (partition_key, *self._index_pks)
        #: The tenant-prefixed attributes: conditions may only test their existence.
        self._protected = frozenset(self._attributes)

    @property
    def partition_key(self) -> str:
        return self._pk

    @property
    def sort_key(self) -> str | None:
        return self._sk

    @property
    def protected(self) -> frozenset[str]:
        """Every attribute stored tenant-prefixed (table and GSI partition keys)."""
        return self._protected

    @property
    def key_attributes(self) -> frozenset[str]:
        """The table's own key attributes, which an update may not change."""
        return frozenset((self._pk,) if self._sk is None else (self._pk, self._sk))

    # -- values ----------------------------------------------------------------------------

    def partition(self, value: object, tenant: str, attribute: str) -> str:
        """The stored partition-key value, refusing empty, non-string or oversize values."""
        if not isinstance(value, str) or not value:
            raise InvalidKeyError(f"the partition key {attribute!r} must be a non-empty string")
        stored = tenant + SEPARATOR + value
        if not (stored.isascii() and len(stored) <= MAX_PARTITION_KEY_BYTES) and (
            utf8_size(stored) > MAX_PARTITION_KEY_BYTES
        ):
            raise InvalidKeyError(
                f"the partition key {attribute!r} is over {MAX_PARTITION_KEY_BYTES} UTF-8 bytes "
                "with the tenant prefix; use a shorter value"
            )
        return stored

    def sort(self, value: object, attribute: str) -> dict[str, Any]:
        """The ``AttributeValue`` of a sort-key value: non-empty text or bytes, or a number."""
        if isinstance(value, str | bytes | bytearray):
            size = utf8_size(value) if isinstance(value, str) else len(value)
            if size == 0:
                raise InvalidKeyError(f"the sort key {attribute!r} must not be empty")
            if size > MAX_SORT_KEY_BYTES:
                raise InvalidKeyError(
                    f"the sort key {attribute!r} is over {MAX_SORT_KEY_BYTES} bytes; "
                    "use a shorter value"
                )
        elif isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise InvalidKeyError(
                f"the sort key {attribute!r} must be a non-empty string, bytes or a number"
            )
        return serialize(value)  # a float: serialize's InvalidValueError says to use Decimal

    # -- keys and items going out ------------------------------------------------------------

    def key(self, key: object, tenant: str) -> dict[str, Any]:
        """A marshalled table key: exactly the table's key attributes, the partition prefixed."""
        pk, sk = self._pk, self._sk
        if not isinstance(key, Mapping) or pk not in key or len(key) != (1 if sk is None else 2):
            raise InvalidKeyError(self._key_shape())
        raw: dict[str, Any] = {pk: {"S": self.partition(key[pk], tenant, pk)}}
        if sk is not None:
            if sk not in key:
                raise InvalidKeyError(self._key_shape())
            raw[sk] = self.sort(key[sk], sk)
        return raw

    def _key_shape(self) -> str:
        names = [self._pk] if self._sk is None else [self._pk, self._sk]
        return f"a key of table {self.table_name!r} is a dict with exactly the attributes {names}"

    def item(self, item: object, tenant: str) -> dict[str, Any]:
        """A marshalled item with its table and GSI partition keys prefixed."""
        if not isinstance(item, Mapping):
            raise InvalidKeyError("an item must be a dict of attribute names to values")
        raw = serialize_item(item)
        pk, sk = self._pk, self._sk
        raw[pk] = {"S": self.partition(item.get(pk), tenant, pk)}
        if sk is not None:
            if sk not in item:
                raise InvalidKeyError(f"the item has no sort key {sk!r}")
            raw[sk] = self.sort(item[sk], sk)
        for attribute in self._index_pks:
            if attribute in item:
                raw[attribute] = {"S": self.partition(item[attribute], tenant, attribute)}
        return raw

    def identity(self, key: Mapping[str, Any]) -> tuple[Any, Any]:
        """A hashable identity of an item's key (a ``bytearray`` sort key becomes bytes)."""
        sort = None if self._sk is None else key[self._sk]
        return key[self._pk], bytes(sort) if isinstance(sort, bytearray) else sort

    # -- items and keys coming back ----------------------------------------------------------

    def load(self, raw: Mapping[str, Any], tenant: str) -> dict[str, Any]:
        """Unmarshal an item, verifying and stripping the prefix of every partition key."""
        return self.load_all((raw,), tenant)[0]

    def load_all(self, raws: Iterable[Mapping[str, Any]], tenant: str) -> list[dict[str, Any]]:
        """``load`` for many items, in one loop (a query page is the hot path).

        ``TenantIsolationError`` if any item's table or GSI partition key is not the
        tenant's (the table partition key must be present).
        """
        start = tenant + SEPARATOR
        cut = len(start)
        pk = self._pk
        attributes = self._attributes
        items = []
        for raw in raws:
            item = deserialize_item(raw)
            for attribute in attributes:
                value = item.get(attribute)
                if type(value) is str and value.startswith(start):
                    item[attribute] = value[cut:]
                elif value is not None or attribute == pk:
                    raise self._foreign()
            items.append(item)
        return items

    def strip_key(self, raw: Mapping[str, Any], tenant: str) -> dict[str, Any]:
        """A marshalled ``LastEvaluatedKey`` with its partition keys verified and stripped."""
        key = dict(raw)
        for attribute in self._protected.intersection(key):
            value = key[attribute].get("S")
            if not verifies(tenant, value):
                raise self._foreign()
            key[attribute] = {"S": value[len(tenant) + 1 :]}
        return key

    def prefix_key(self, key: dict[str, Any], tenant: str) -> dict[str, Any]:
        """``strip_key`` undone: a cursor's key, prefixed for the tenant, in place."""
        for attribute in self._protected.intersection(key):
            value = key[attribute].get("S")
            if value is None:
                raise InvalidCursorError("the cursor's key is malformed")
            key[attribute] = {"S": prefix(tenant, value)}
        return key

    def _foreign(self) -> TenantIsolationError:
        self._withheld()
        return TenantIsolationError(
            f"table {self.table_name!r} returned an item outside the current tenant's "
            "partitions; it was withheld. Look for items written without TenantTable."
        )
