"""Base64url without padding (RFC 4648, section 5), decoded strictly: one spelling per value.

A lenient decoder gives one value many spellings. The last character of a text whose
length is not a multiple of 4 carries unused bits (4 of them at length 4n+2, 2 at 4n+3),
so up to 16 texts decode to the same bytes; padding and characters outside the alphabet
are often skipped too. A signed value (a JWT, a cursor) then has several accepted
strings, and anything keyed on the string (a cache, a deny list) sees different values.
:func:`b64url_decode` accepts exactly what :func:`b64url_encode` produces.
"""

from __future__ import annotations

import base64
import re

__all__ = ["b64url_decode", "b64url_encode"]

_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")
# Canonical last characters of a text of length 4n+2 and 4n+3: those whose unused bits
# are zero.
_CANONICAL_LAST = {2: frozenset("AQgw"), 3: frozenset("AEIMQUYcgkosw048")}


def b64url_encode(data: bytes) -> str:
    """``data`` as base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """The bytes of canonical unpadded base64url; any other text is a ``ValueError``."""
    remainder = len(text) % 4
    if remainder == 1 or (remainder and text[-1] not in _CANONICAL_LAST[remainder]):
        raise ValueError("not canonical unpadded base64url")
    if not _ALPHABET.fullmatch(text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-remainder % 4))
