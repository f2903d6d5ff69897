"""Parse a compact JWS exactly: one spelling per token, one value per JSON key.

Lenient parsing gives one token many faces. A lenient base64url decoder reads up to 16
spellings of one segment as the same bytes (:mod:`tenantkit._shared.b64`), so a cache or
deny list keyed on the token string sees different tokens. A JSON object with a key twice
means whatever the last parser to read it decides (``{"alg":"none","alg":"HS256"}``). So
every segment here must be canonical base64url without padding, and each JSON part must
be a UTF-8 object with unique keys and no ``NaN``/``Infinity`` (an ``exp`` of
``Infinity`` would never expire). PyJWT accepts padding, duplicate keys, ``NaN`` and
UTF-16 JSON; this stricter parse runs before any signature or claim is looked at.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tenantkit._shared.b64 import b64url_decode
from tenantkit.errors import UnauthorizedError

__all__ = ["ParsedToken", "parse_compact"]

_MALFORMED = "the bearer token is not a well-formed signed JWT"


@dataclass(frozen=True, slots=True)
class ParsedToken:
    """The parts of a compact JWS; nothing here has been verified yet."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes


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
    segments = token.split(".")
    if len(segments) != 3 or not all(segments):
        raise UnauthorizedError(_MALFORMED)
    header_b64, payload_b64, _ = segments
    try:
        header, claims, signature = (b64url_decode(segment) for segment in segments)
    except ValueError:
        raise UnauthorizedError(_MALFORMED) from None
    return ParsedToken(
        header=_json_object(header),
        claims=_json_object(claims),
        signing_input=f"{header_b64}.{payload_b64}".encode("ascii"),
        signature=signature,
    )
