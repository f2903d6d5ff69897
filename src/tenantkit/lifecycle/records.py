"""The export format: one tenant's items as JSON Lines, a manifest, and a checksum.

Each line is ``{"Item": {...}}`` with the item in DynamoDB JSON (``{"S": ...}``,
``{"N": ...}``, binary as base64), the format of DynamoDB's own export to S3, so no
type is lost (sets, binary, exact numbers) and other tools read it. Items are in
logical form: the tenant prefix is stripped from every partition key, so a file can be
imported into another tenant id, and it names its tenant only in the manifest.

The checksum is order-independent, the sum modulo 2**256 of each line's SHA-256, so a
copy read back in another order (another table, another shard layout) checks equal,
and a run resumed from a checkpoint carries it on from the saved partial sum.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tenantkit._shared.dynamodb.marshal import check_text, serialize, serialize_item
from tenantkit.errors import InvalidInputError

__all__ = ["FORMAT", "Checksum", "Manifest", "decode_line", "encode_line"]

FORMAT = "tenantkit-export/1"
_MODULUS = 2**256
_DIGEST = re.compile(r"sha256-sum:[0-9a-f]{64}\Z", re.ASCII)


def _to_json(value: Mapping[str, Any]) -> dict[str, Any]:
    """An ``AttributeValue`` with its binary parts base64-encoded (as DynamoDB JSON)."""
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64encode(inner).decode("ascii")}
    if kind == "BS":
        return {"BS": [base64.b64encode(b).decode("ascii") for b in inner]}
    if kind == "M":
        return {"M": {k: _to_json(v) for k, v in inner.items()}}
    if kind == "L":
        return {"L": [_to_json(v) for v in inner]}
    return {kind: inner}


#: DynamoDB JSON's number text: what ``str`` of an ``int`` or a ``Decimal`` writes.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\Z", re.ASCII)
#: DynamoDB stores lists and maps at most 32 levels deep (as ``marshal.serialize``).
_MAX_NESTING = 32


def _bad(kind: str, shape: str) -> InvalidInputError:
    return InvalidInputError(f"an export line's {kind} value must be {shape}")


def _text(inner: object) -> str:
    if not isinstance(inner, str):
        raise _bad("S", "a string")
    return check_text(inner)


def _number(inner: object) -> int | Decimal:
    """A number, refused unless DynamoDB would store it (``serialize`` checks the range)."""
    if not isinstance(inner, str) or not _NUMBER.match(inner):
        raise _bad("N", "a string of decimal digits")
    number = Decimal(inner)
    serialize(number)
    # int() of the Decimal, not of the text: exact, and free of int's 4,300-digit limit.
    return number if any(c in inner for c in ".eE") else int(number)


def _binary(inner: object) -> bytes:
    if not isinstance(inner, str):
        raise _bad("B", "a base64 string")
    try:
        return base64.b64decode(inner, validate=True)
    except ValueError:
        raise _bad("B", "a base64 string") from None


def _members(kind: str, inner: object, member: Callable[[object], Any]) -> set[Any]:
    """A set's members: a non-empty list without duplicates, as DynamoDB requires."""
    if not isinstance(inner, list) or not inner:
        raise _bad(kind, "a non-empty list")
    members = {member(value) for value in inner}
    if len(members) != len(inner):
        raise _bad(kind, "a list without duplicates")
    return members


def _value(value: object, depth: int) -> Any:
    """The Python value of one DynamoDB JSON attribute value, each type in its one shape."""
    if not isinstance(value, dict) or len(value) != 1:
        raise InvalidInputError('an export line\'s attribute value is one {"TYPE": value} pair')
    ((kind, inner),) = value.items()
    if kind == "S":
        return _text(inner)
    if kind == "N":
        return _number(inner)
    if kind == "B":
        return _binary(inner)
    if kind == "BOOL":
        if not isinstance(inner, bool):
            raise _bad(kind, "true or false")
        return inner
    if kind == "NULL":
        if inner is not True:
            raise _bad(kind, "true")
        return None
    if kind == "SS":
        return _members(kind, inner, _text)
    if kind == "NS":
        return _members(kind, inner, _number)
    if kind == "BS":
        return _members(kind, inner, _binary)
    if kind in ("M", "L") and depth >= _MAX_NESTING:
        raise InvalidInputError(f"an export line nests lists and maps over {_MAX_NESTING} deep")
    if kind == "M":
        if not isinstance(inner, dict):
            raise _bad(kind, "an object")
        return {check_text(name): _value(v, depth + 1) for name, v in inner.items()}
    if kind == "L":
        if not isinstance(inner, list):
            raise _bad(kind, "a list")
        return [_value(v, depth + 1) for v in inner]
    raise InvalidInputError("an export line holds an attribute value of an unknown type")


def encode_line(item: Mapping[str, Any]) -> str:
    """One item (logical, unprefixed) as one canonical export line, without its newline."""
    raw = {name: _to_json(value) for name, value in serialize_item(item).items()}
    return json.dumps({"Item": raw}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def decode_line(line: str) -> dict[str, Any]:
    """The item of one export line; ``InvalidInputError`` for anything else."""
    try:
        document = json.loads(line)
    except (ValueError, RecursionError):  # nested past Python's stack
        raise InvalidInputError("an export line is not JSON") from None
    raw = document.get("Item") if isinstance(document, dict) else None
    if not isinstance(raw, dict) or len(document) != 1:
        raise InvalidInputError('an export line is one object {"Item": {...}}')
    if "" in raw:
        raise InvalidInputError("an export line has an attribute without a name")
    return {check_text(name): _value(value, 0) for name, value in raw.items()}


class Checksum:
    """An order-independent checksum of lines: the sum of their SHA-256 values."""

    __slots__ = ("count", "total")

    def __init__(self, count: int = 0, total: int = 0) -> None:
        self.count = count
        self.total = total

    def add(self, line: str) -> None:
        digest = hashlib.sha256(line.encode("utf-8")).digest()
        self.total = (self.total + int.from_bytes(digest, "big")) % _MODULUS
        self.count += 1

    @property
    def hexdigest(self) -> str:
        return f"sha256-sum:{self.total:064x}"

    @classmethod
    def parse(cls, count: int, digest: str) -> Checksum:
        """The checksum a manifest or checkpoint recorded."""
        if not _DIGEST.match(digest):
            raise InvalidInputError("the checksum is not a tenantkit sha256-sum")
        return cls(count, int(digest.removeprefix("sha256-sum:"), 16))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Checksum) and (self.count, self.total) == (
            other.count,
            other.total,
        )

    def __hash__(self) -> int:
        return hash((self.count, self.total))


@dataclass(frozen=True, slots=True)
class Manifest:
    """What an export file holds: its tenant and table, how many items, their checksum."""

    tenant: str
    table: str
    items: int
    checksum: str
    exported_at: str
    format: str = FORMAT

    def to_json(self) -> str:
        fields = {
            "format": self.format,
            "tenant": self.tenant,
            "table": self.table,
            "items": self.items,
            "checksum": self.checksum,
            "exportedAt": self.exported_at,
        }
        return json.dumps(fields, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            data = None
        names = ("tenant", "table", "checksum", "exportedAt", "format")
        if not (
            isinstance(data, dict)
            and all(isinstance(data.get(name), str) for name in names)
            and type(data.get("items")) is int
            and data["items"] >= 0
        ):
            raise InvalidInputError("the export manifest is not valid")
        if data["format"] != FORMAT:
            raise InvalidInputError(f"the export manifest is not {FORMAT}")
        Checksum.parse(data["items"], data["checksum"])
        return cls(
            tenant=data["tenant"],
            table=data["table"],
            items=data["items"],
            checksum=data["checksum"],
            exported_at=data["exportedAt"],
        )
