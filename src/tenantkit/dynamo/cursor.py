"""Opaque, signed pagination cursors.

A cursor carries a query's ``LastEvaluatedKey`` with the tenant prefix stripped, and an
HMAC-SHA256 over the tenant, table, index, query fingerprint and that key. The tenant and
the query are not stored in the cursor, only bound by the signature: a cursor edited,
truncated, or replayed by another tenant, on another query or on another index fails
verification and raises ``InvalidCursorError``.

Format: ``<payload>.<mac>``, both unpadded base64url. The payload is the JSON list
``[[name, tag, value], ...]`` where ``S`` and ``B`` values are base64url of their bytes
(UTF-8 for strings) and ``N`` values their decimal text. Encoding string values as bytes
keeps a cursor's length proportional to the key's size in bytes: JSON escapes would
make a 4-byte character 12 characters long and a control character 6.

Decoding is strict (:mod:`tenantkit._shared.b64`): only the base64url alphabet, no
padding, and only the canonical spelling of each part, so one cursor has exactly one
accepted string and nothing can be appended to it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import threading
from collections.abc import Mapping
from typing import Any

from tenantkit._shared.b64 import b64url_decode, b64url_encode
from tenantkit._shared.keys import Secret, SecretKey, SecretsManagerKey
from tenantkit._shared.keysource import KeySource
from tenantkit.errors import ConfigurationError, InvalidCursorError

__all__ = ["CursorSigner", "query_fingerprint"]

logger = logging.getLogger("tenantkit.dynamo")

# The longest cursor this module issues is for a GSI query, whose LastEvaluatedKey holds
# four keys: 2 x 2,048 partition-key bytes (less the prefix) and 2 x 1,024 sort-key bytes,
# about 8,200 base64 characters, plus four attribute names (at most 255 bytes each) and
# JSON punctuation; base64 of the whole is under 12,400 characters. 16 KiB leaves room,
# and still bounds the work a hostile cursor can cause.
MAX_CURSOR_LENGTH = 16384
_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_process_secret: bytes | None = None
_process_secret_lock = threading.Lock()


def _default_secret() -> bytes:
    """A random key for this process; cursors then only work within this process."""
    global _process_secret
    with _process_secret_lock:
        if _process_secret is None:
            _process_secret = secrets.token_bytes(32)
            logger.warning(
                "TenantTable has no cursor_key: pagination cursors are signed with a random "
                "per-process key and stop working across processes or Lambda instances; pass "
                "cursor_key=SecretsManagerKey(...) or SecretKey(...) to TenantTable"
            )
        return _process_secret


def query_fingerprint(*parts: object) -> str:
    """A stable digest of what makes two queries the same query (not the page size)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()


class CursorSigner:
    """Encodes and verifies cursors for one table.

    With a ``SecretsManagerKey``, a cursor that does not verify reads the secret again
    (at most once per its cooldown), so cursors signed after a rotation keep working.
    """

    __slots__ = ("_source", "_table")

    def __init__(self, table_name: str, secret: Secret | None) -> None:
        if secret is not None and not isinstance(secret, SecretKey | SecretsManagerKey):
            raise ConfigurationError(
                "cursor_key must be SecretKey(...) or SecretsManagerKey(...), 32 bytes or "
                "more; generate one with secrets.token_bytes(32) and keep it in a secret store"
            )
        self._source: KeySource[bytes] | None = (
            None if secret is None else secret.source("the cursor secret")
        )
        self._table = table_name

    def _mac(
        self, tenant: str, index: str | None, fingerprint: str, payload: str, key: bytes
    ) -> bytes:
        message = "\n".join((tenant, self._table, index or "", fingerprint, payload))
        return hmac.digest(key, message.encode(), "sha256")

    def _key(self) -> bytes:
        return self._source.get() if self._source is not None else _default_secret()

    def encode(
        self, key: Mapping[str, Mapping[str, Any]], tenant: str, index: str | None, fingerprint: str
    ) -> str:
        """A cursor for ``key`` (a LastEvaluatedKey already stripped of the tenant prefix)."""
        entries = []
        for name, av in key.items():
            ((tag, value),) = av.items()
            if tag == "S":
                value = b64url_encode(value.encode())
            elif tag == "B":
                value = b64url_encode(bytes(value))
            entries.append([name, tag, value])
        payload = b64url_encode(_JSON.encode(entries).encode())
        mac = self._mac(tenant, index, fingerprint, payload, self._key())
        return payload + "." + b64url_encode(mac)

    def decode(
        self, cursor: object, tenant: str, index: str | None, fingerprint: str
    ) -> dict[str, dict[str, Any]]:
        """The stripped LastEvaluatedKey of a cursor this table issued for this exact query."""
        invalid = InvalidCursorError(
            "the cursor is not valid for this query: pass back the cursor of the previous "
            "page of the same query, unchanged, or omit it to start from the first page"
        )
        if (
            not isinstance(cursor, str)
            or not cursor
            or len(cursor) > MAX_CURSOR_LENGTH
            or not cursor.isascii()
        ):
            raise invalid
        payload, _, signature = cursor.partition(".")
        try:
            given = b64url_decode(signature)
        except ValueError:
            raise invalid from None
        if not self._verifies(given, tenant, index, fingerprint, payload):
            raise invalid
        try:
            entries = json.loads(b64url_decode(payload))
            key: dict[str, dict[str, Any]] = {}
            for name, tag, value in entries:
                if not isinstance(name, str) or not isinstance(value, str):
                    raise ValueError(name)
                if tag == "S":
                    key[name] = {"S": b64url_decode(value).decode()}
                elif tag == "B":
                    key[name] = {"B": b64url_decode(value)}
                elif tag == "N":
                    key[name] = {"N": value}
                else:
                    raise ValueError(tag)
        except (ValueError, TypeError):
            raise invalid from None
        return key

    def _verifies(
        self, given: bytes, tenant: str, index: str | None, fingerprint: str, payload: str
    ) -> bool:
        expected = self._mac(tenant, index, fingerprint, payload, self._key())
        if hmac.compare_digest(given, expected):
            return True
        rotated = None if self._source is None else self._source.refresh()
        return rotated is not None and hmac.compare_digest(
            given, self._mac(tenant, index, fingerprint, payload, rotated)
        )
