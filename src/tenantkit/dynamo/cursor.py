"""Opaque, signed pagination cursors.

A cursor carries a query's ``LastEvaluatedKey`` with the tenant prefix stripped, and an
HMAC-SHA256 over the tenant, table, index, query fingerprint and that key. The tenant and
the query are not stored in the cursor, only bound by the signature: a cursor edited,
truncated, or replayed by another tenant, on another query or on another index fails
verification and raises ``InvalidCursorError``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import secrets
import threading
from collections.abc import Mapping
from typing import Any

from tenantkit.errors import ConfigurationError, InvalidCursorError

__all__ = ["CursorSigner", "query_fingerprint"]

logger = logging.getLogger("tenantkit.dynamo")

MAX_CURSOR_LENGTH = 8192
_MIN_SECRET_BYTES = 32
_JSON = json.JSONEncoder(separators=(",", ":"))
_process_secret: bytes | None = None
_process_secret_lock = threading.Lock()


def _default_secret() -> bytes:
    """A random key for this process; cursors then only work within this process."""
    global _process_secret
    with _process_secret_lock:
        if _process_secret is None:
            _process_secret = secrets.token_bytes(32)
            logger.warning(
                "TenantTable has no cursor_secret: pagination cursors are signed with a random "
                "per-process key and stop working across processes or Lambda instances; pass "
                "cursor_secret (32+ bytes from a secret store) to TenantTable"
            )
        return _process_secret


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def query_fingerprint(*parts: object) -> str:
    """A stable digest of what makes two queries the same query (not the page size)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()


class CursorSigner:
    """Encodes and verifies cursors for one table."""

    __slots__ = ("_secret", "_table")

    def __init__(self, table_name: str, secret: str | bytes | None) -> None:
        if isinstance(secret, str):
            secret = secret.encode()
        if secret is not None and len(secret) < _MIN_SECRET_BYTES:
            raise ConfigurationError(
                f"cursor_secret must be at least {_MIN_SECRET_BYTES} bytes; generate one "
                "with secrets.token_bytes(32) and keep it in a secret store"
            )
        self._secret = secret
        self._table = table_name

    def _mac(self, tenant: str, index: str | None, fingerprint: str, payload: str) -> bytes:
        secret = self._secret if self._secret is not None else _default_secret()
        message = "\n".join((tenant, self._table, index or "", fingerprint, payload))
        return hmac.digest(secret, message.encode(), "sha256")

    def encode(
        self, key: Mapping[str, Mapping[str, Any]], tenant: str, index: str | None, fingerprint: str
    ) -> str:
        """A cursor for ``key`` (a LastEvaluatedKey already stripped of the tenant prefix)."""
        entries = []
        for name, av in key.items():
            ((tag, value),) = av.items()
            if tag == "B":
                value = _b64encode(bytes(value))
            entries.append([name, tag, value])
        payload = _b64encode(_JSON.encode(entries).encode())
        return payload + "." + _b64encode(self._mac(tenant, index, fingerprint, payload))

    def decode(
        self, cursor: object, tenant: str, index: str | None, fingerprint: str
    ) -> dict[str, dict[str, Any]]:
        """The stripped LastEvaluatedKey of a cursor this table issued for this exact query."""
        invalid = InvalidCursorError(
            "the cursor is not valid for this query: pass back the cursor of the previous "
            "page of the same query, unchanged, or omit it to start from the first page"
        )
        if not isinstance(cursor, str) or not cursor or len(cursor) > MAX_CURSOR_LENGTH:
            raise invalid
        payload, _, signature = cursor.partition(".")
        try:
            given = _b64decode(signature)
        except (binascii.Error, ValueError):
            raise invalid from None
        expected = self._mac(tenant, index, fingerprint, payload)
        if not hmac.compare_digest(given, expected):
            raise invalid
        try:
            entries = json.loads(_b64decode(payload))
            key: dict[str, dict[str, Any]] = {}
            for name, tag, value in entries:
                if not isinstance(name, str) or not isinstance(value, str):
                    raise ValueError(name)
                if tag == "B":
                    key[name] = {"B": _b64decode(value)}
                elif tag in ("S", "N"):
                    key[name] = {tag: value}
                else:
                    raise ValueError(tag)
        except (binascii.Error, ValueError, TypeError):
            raise invalid from None
        return key
