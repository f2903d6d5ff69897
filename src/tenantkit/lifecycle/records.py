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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tenantkit._shared.dynamodb.marshal import deserialize_item, serialize_item
from tenantkit.errors import InvalidInputError

__all__ = ["FORMAT", "Checksum", "Manifest", "decode_line", "encode_line"]

FORMAT = "tenantkit-export/1"
_MODULUS = 2**256


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


def _from_json(value: object) -> dict[str, Any]:
    if not isinstance(value, dict) or len(value) != 1:
        raise InvalidInputError("an export line holds DynamoDB JSON attribute values")
    ((kind, inner),) = value.items()
    try:
        if kind == "B":
            return {"B": base64.b64decode(inner, validate=True)}
        if kind == "BS":
            return {"BS": [base64.b64decode(b, validate=True) for b in inner]}
    except (TypeError, ValueError):
        raise InvalidInputError("a binary value of an export line is not base64") from None
    if kind == "M" and isinstance(inner, dict):
        return {"M": {k: _from_json(v) for k, v in inner.items()}}
    if kind == "L" and isinstance(inner, list):
        return {"L": [_from_json(v) for v in inner]}
    return {kind: inner}


def encode_line(item: Mapping[str, Any]) -> str:
    """One item (logical, unprefixed) as one canonical export line, without its newline."""
    raw = {name: _to_json(value) for name, value in serialize_item(item).items()}
    return json.dumps({"Item": raw}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def decode_line(line: str) -> dict[str, Any]:
    """The item of one export line; ``InvalidInputError`` for anything else."""
    try:
        document = json.loads(line)
    except ValueError:
        raise InvalidInputError("an export line is not JSON") from None
    raw = document.get("Item") if isinstance(document, dict) else None
    if not isinstance(raw, dict) or len(document) != 1:
        raise InvalidInputError('an export line is one object {"Item": {...}}')
    return deserialize_item({name: _from_json(value) for name, value in raw.items()})


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
        if not digest.startswith("sha256-sum:"):
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
            manifest = cls(
                tenant=str(data["tenant"]),
                table=str(data["table"]),
                items=int(data["items"]),
                checksum=str(data["checksum"]),
                exported_at=str(data["exportedAt"]),
                format=str(data["format"]),
            )
        except (ValueError, KeyError, TypeError):
            raise InvalidInputError("the export manifest is not valid") from None
        if manifest.format != FORMAT:
            raise InvalidInputError(f"the export manifest is not {FORMAT}")
        return manifest
