"""The sparse tenant-enumeration index: every item of one tenant, found without a scan.

Listing everything a tenant owns (to export it, erase it or move it) would otherwise
need a ``Scan`` of every tenant's items. With ``TenantTable(enumeration=Enumeration())``
every write also stores ``tkshard = "<tenant>#<shard>"``, and a KEYS_ONLY GSI (by
default ``TenantItems``) whose partition key is ``tkshard`` lists one tenant's keys in
``shards`` partitions. The shard only spreads a big tenant over several GSI partitions
(each takes at most 1,000 writes per second); a reader queries every shard, so the
value a writer picked never matters for correctness. Python writers take it from a
CRC-32 of the stored key, so rewriting an item keeps its shard; VTL writers take it from
``$context.requestId`` (decision 25).

The attribute is tenantkit's: items coming back never carry it, a write that sets it is
refused, and conditions may only test it for existence. Control-plane records (``_``
keys) never carry it, so the index covers tenant data only.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from tenantkit._shared.dynamodb.expressions import Placeholders
from tenantkit._shared.dynamodb.names import is_dynamodb_name
from tenantkit.dynamo.keys import SEPARATOR, KeyCodec
from tenantkit.dynamo.queries import Send, count_pages
from tenantkit.errors import ConfigurationError, InvalidKeyError

__all__ = [
    "ATTRIBUTE",
    "DEFAULT_INDEX",
    "DEFAULT_SHARDS",
    "EnumeratingCodec",
    "Enumeration",
    "Enumerator",
]

#: The attribute every enumerated item carries, and the GSI's partition key (decision 25).
ATTRIBUTE = "tkshard"
DEFAULT_INDEX = "TenantItems"
DEFAULT_SHARDS = 16


@dataclass(frozen=True, slots=True)
class Enumeration:
    """Where the enumeration index lives: the GSI's name and the number of shards.

    Changing ``shards`` later is safe only upwards of what every writer used, since
    readers query shards ``0 .. shards-1``; keep it fixed once data is written.
    """

    index: str = DEFAULT_INDEX
    shards: int = DEFAULT_SHARDS

    def __post_init__(self) -> None:
        if not is_dynamodb_name(self.index):
            raise ConfigurationError("Enumeration(index=...) must be a DynamoDB index name")
        shards = self.shards
        if type(shards) is not int or not 1 <= shards <= 256:
            raise ConfigurationError("Enumeration(shards=...) must be an integer from 1 to 256")

    def value(self, tenant: str, shard: int) -> str:
        """The stored ``tkshard`` of ``tenant``'s items in ``shard``."""
        return f"{tenant}{SEPARATOR}{shard}"

    def shard_of(self, raw_key: Mapping[str, Any]) -> int:
        """The shard of a marshalled (stored) key: stable across runs and processes."""
        digest = 0
        for name in sorted(raw_key):
            ((kind, value),) = raw_key[name].items()
            data = value.encode() if isinstance(value, str) else bytes(value)
            digest = zlib.crc32(name.encode() + b"\x00" + kind.encode() + b"\x00" + data, digest)
        return digest % self.shards


class EnumeratingCodec(KeyCodec):
    """A ``KeyCodec`` that adds ``tkshard`` to every item written and strips it from reads."""

    __slots__ = ("enumeration",)

    def __init__(
        self,
        enumeration: Enumeration,
        table_name: str,
        partition_key: str,
        sort_key: str | None,
        indexes: Mapping[str, str],
        *,
        withheld: Callable[[], None] = lambda: None,
    ) -> None:
        if ATTRIBUTE in (partition_key, sort_key, *indexes.values()):
            raise ConfigurationError(f"{ATTRIBUTE!r} is the enumeration index's own attribute")
        if enumeration.index in indexes:
            raise ConfigurationError(
                f"the enumeration index {enumeration.index!r} is not a query index: leave it "
                "out of TenantTable(indexes=...) and use enumerate_keys()"
            )
        super().__init__(table_name, partition_key, sort_key, indexes, withheld=withheld)
        self.enumeration = enumeration

    @property
    def protected(self) -> frozenset[str]:
        return super().protected | {ATTRIBUTE}

    def tag(self, raw_key: Mapping[str, Any], tenant: str) -> str:
        """The ``tkshard`` value of the item with this marshalled key."""
        enumeration = self.enumeration
        return enumeration.value(tenant, enumeration.shard_of(raw_key))

    def item(self, item: object, tenant: str) -> dict[str, Any]:
        if isinstance(item, Mapping) and ATTRIBUTE in item:
            raise InvalidKeyError(_RESERVED)
        raw = super().item(item, tenant)
        key_names = self.key_attributes
        raw[ATTRIBUTE] = {"S": self.tag({k: raw[k] for k in key_names}, tenant)}
        return raw

    def shard_update(self, raw_key: Mapping[str, Any], tenant: str, touched: set[str]) -> str:
        """The ``tkshard`` an update sets (an update may create the item)."""
        if ATTRIBUTE in touched:
            raise InvalidKeyError(_RESERVED)
        return self.tag(raw_key, tenant)

    def load_all(self, raws: Iterable[Mapping[str, Any]], tenant: str) -> list[dict[str, Any]]:
        items = super().load_all(raws, tenant)
        for item in items:
            item.pop(ATTRIBUTE, None)
        return items


_RESERVED = f"the attribute {ATTRIBUTE!r} is tenantkit's enumeration index; do not write it"


class Enumerator:
    """Lists one tenant's keys from the enumeration GSI, one shard at a time.

    Only ``Query`` on the GSI, never ``Scan`` or PartiQL. Keys come back verified to be
    the tenant's (``KeyCodec.load_all``) and in logical, unprefixed form.
    """

    __slots__ = ("_codec", "_send", "_table")

    def __init__(self, table_name: str, codec: EnumeratingCodec, send: Send) -> None:
        self._table = table_name
        self._codec = codec
        self._send = send

    @property
    def shards(self) -> int:
        return self._codec.enumeration.shards

    def _request(self, tenant: str, shard: int) -> dict[str, Any]:
        enumeration = self._codec.enumeration
        if type(shard) is not int or not 0 <= shard < enumeration.shards:
            raise InvalidKeyError(f"shard must be an integer from 0 to {enumeration.shards - 1}")
        placeholders = Placeholders()
        name = placeholders.name(ATTRIBUTE)
        value = placeholders.value(enumeration.value(tenant, shard))
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": enumeration.index,
            "KeyConditionExpression": f"{name} = {value}",
        }
        return placeholders.apply(request)

    def pages(self, tenant: str, shard: int) -> Iterator[list[dict[str, Any]]]:
        """The keys of ``tenant``'s items in ``shard``, one query page at a time."""
        request = self._request(tenant, shard)
        keys = self._codec.key_attributes
        while True:
            response = self._send("query", request)
            items = self._codec.load_all(response.get("Items", ()), tenant)
            yield [{name: item[name] for name in keys} for item in items]
            last = response.get("LastEvaluatedKey")
            if not last:
                return
            request["ExclusiveStartKey"] = last

    def count(self, tenant: str, shard: int) -> int:
        """How many of ``tenant``'s items the index lists in ``shard`` (``Select=COUNT``)."""
        return count_pages(self._send, self._request(tenant, shard))
