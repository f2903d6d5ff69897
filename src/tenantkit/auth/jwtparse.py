"""Parse a compact JWS exactly: one spelling per token, one value per JSON key.

Lenient parsing gives one token many faces. Base64url leaves unused bits in the last
character of a segment whose length is not a multiple of 4, so a lenient decoder reads
up to 16 spellings of one segment as the same bytes; a cache or deny list keyed on the
token string then sees different tokens. A JSON object with a key twice means whatever
the last parser to read it decides (``{"alg":"none","alg":"HS256"}``). So every segment
here must be canonical base64url without padding, and each JSON part must be a UTF-8
object with unique keys and no ``NaN``/``Infinity`` (an ``exp`` of ``Infinity`` would
never expire). PyJWT accepts padding, duplicate keys, ``NaN`` and UTF-16 JSON; this
stricter parse runs before any signature or claim is looked at.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

from tenantkit.errors import UnauthorizedError

__all__ = ["ParsedToken", "b64url_decode", "parse_compact"]

_SEGMENTS = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)")
# The last character of a segment of length 4n+2 carries 4 unused bits, of 4n+3 two: in a
# canonical encoding they are zero, so only these characters may end such a segment.
_CANONICAL_LAST = {2: frozenset("AQgw"), 3: frozenset("AEIMQUYcgkosw048")}
_MALFORMED = "the bearer token is not a well-formed signed JWT"


@dataclass(frozen=True, slots=True)
class ParsedToken:
    """The parts of a compact JWS; nothing here has been verified yet."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes


def b64url_decode(segment: str) -> bytes:
    """Decode canonical unpadded base64url; any other spelling is an ``UnauthorizedError``.

    Checking the last character is enough: ``_SEGMENTS`` already admits only the
    alphabet, and only the last character can hold unused bits.
    """
    remainder = len(segment) % 4
    if remainder == 1 or (remainder and segment[-1] not in _CANONICAL_LAST[remainder]):
        raise UnauthorizedError(_MALFORMED)
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise UnauthorizedError("the bearer token repeats a JSON key")
    return obj


def _refuse_constant(name: str) -> Any:
    raise UnauthorizedError(_MALFORMED)


def _json_object(raw: bytes) -> dict[str, Any]:
    """One JSON object in strict UTF-8 (no BOM, no UTF-16/32 guessing), keys unique."""
    try:
        text = raw.decode("utf-8")
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise UnauthorizedError(_MALFORMED) from None
    if not isinstance(value, dict):
        raise UnauthorizedError(_MALFORMED)
    return value


def parse_compact(token: str) -> ParsedToken:
    """Split and decode ``header.payload.signature``, refusing every non-exact form."""
    match = _SEGMENTS.fullmatch(token)
    if match is None:
        raise UnauthorizedError(_MALFORMED)
    header_b64, payload_b64, signature_b64 = match.groups()
    return ParsedToken(
        header=_json_object(b64url_decode(header_b64)),
        claims=_json_object(b64url_decode(payload_b64)),
        signing_input=f"{header_b64}.{payload_b64}".encode("ascii"),
        signature=b64url_decode(signature_b64),
    )
