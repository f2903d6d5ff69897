"""Tenant envelopes: queued work keeps the tenant of the request that caused it.

By the time a queued message is processed the user may have switched tenants, so the
tenant cannot be looked up again; it travels with the message. An envelope carries the
tenant context and the payload, signed with HMAC-SHA256, so a consumer can trust the
tenant in it: editing any field (the tenant id above all) breaks the signature.

One key signs queued messages, EventBridge details and ``Invoke`` payloads, so each
envelope names its signed ``purpose`` (:data:`SQS`, :data:`EVENTS`, or
``invoke:<function name>``, see :func:`invoke_purpose`) and each opener names the one
it takes: a detail that any rule target can read does not run a tenant-isolated
function, and an envelope sealed for one function does not run another.

Wire format (version 2), one JSON object::

    {"v": 2, "env": {"tenantId", "userId", "roles", "requestId", "messageId",
                     "issuedAt", "purpose", "payload"}, "sig": "<base64url HMAC>"}

The MAC covers the canonical encoding of ``{"v": ..., "env": ...}``: JSON with sorted
keys, no whitespace, ASCII only. ``issuedAt`` is epoch milliseconds.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tenantkit._shared.b64 import b64url_encode
from tenantkit._shared.keys import Secret, SecretKey, SecretsManagerKey
from tenantkit.context import TenantContext, current_tenant
from tenantkit.errors import ConfigurationError, EnvelopeError, TenantKitError

__all__ = [
    "ENVELOPE_VERSION",
    "EVENTS",
    "SQS",
    "EnvelopeSigner",
    "OpenedEnvelope",
    "invoke_purpose",
]

ENVELOPE_VERSION = 2
#: The purpose of messages sent to SQS (``send_message``; SNS messages a queue consumes).
SQS = "sqs"
#: The purpose of EventBridge details sealed by ``put_events``.
EVENTS = "events"
_MAX_CLOCK_SKEW_MS = 60_000
_ENV_KEYS = frozenset(
    {"tenantId", "userId", "roles", "requestId", "messageId", "issuedAt", "purpose", "payload"}
)
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{1,128}\Z", re.ASCII)
_FUNCTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}\Z", re.ASCII)


def invoke_purpose(function_name: str) -> str:
    """The purpose of a direct ``Invoke`` payload for ``function_name``: ``invoke:<name>``.

    Lambda takes a function's name, its ARN or a partial ARN, each with an optional
    version or alias; the purpose names the bare function name, which is what the
    invoked function reads as ``context.function_name``.
    """
    parts = function_name.split(":") if isinstance(function_name, str) else [""]
    if len(parts) >= 7 and parts[0] == "arn":
        name = parts[6]
    elif len(parts) >= 3 and parts[1] == "function":
        name = parts[2]
    else:
        name = parts[0]
    if not _FUNCTION_NAME.match(name):
        raise ConfigurationError(
            "expected a Lambda function name, ARN or partial ARN (names are letters, "
            "digits, '-' and '_', up to 64)"
        )
    return f"invoke:{name}"


def _check_purpose(purpose: object) -> None:
    if not isinstance(purpose, str) or not purpose:
        raise ConfigurationError("an envelope's purpose is a non-empty string (SQS, EVENTS, ...)")


@dataclass(frozen=True, slots=True)
class OpenedEnvelope:
    """A verified envelope: its tenant and payload, and its signed id and issue time.

    ``message_id`` is unique per ``seal`` and covered by the signature, so a consumer can
    key "processed once" on it; ``issued_at_ms`` tells how long a replay stays acceptable
    (until ``issued_at_ms / 1000 + max_age``).
    """

    context: TenantContext
    payload: Any
    message_id: str
    issued_at_ms: int


def _canonical(value: object) -> bytes:
    try:
        text = json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
        )
    except (TypeError, ValueError) as exc:
        raise EnvelopeError(
            f"the payload cannot be encoded as JSON ({exc}); pass JSON-compatible values"
        ) from None
    return text.encode("ascii")


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate key")
    return result


def _parse(body: str | bytes) -> object:
    """Strict JSON: duplicate keys and NaN/Infinity are refused, not silently resolved."""
    return json.loads(body, object_pairs_hook=_unique_keys, parse_constant=_reject_constant)


def _seconds(max_age: float | timedelta) -> float:
    seconds = max_age.total_seconds() if isinstance(max_age, timedelta) else float(max_age)
    if not seconds > 0:
        raise ConfigurationError("max_age must be a positive number of seconds or a timedelta")
    return seconds


class EnvelopeSigner:
    """Seals payloads with the current tenant and opens them again, verifying everything.

    ``key`` is ``SecretKey(value)`` or ``SecretsManagerKey(secret_id, json_key=...)``,
    32 bytes or more. A Secrets Manager secret is read on first use, not at construction,
    and read again (at most once per its cooldown) when a signature does not verify, so
    a rotated secret is picked up.
    """

    def __init__(self, *, key: Secret, max_age: float | timedelta = 3600) -> None:
        if not isinstance(key, SecretKey | SecretsManagerKey):
            raise ConfigurationError(
                "EnvelopeSigner takes SecretKey(...) or SecretsManagerKey(...), 32 bytes or more"
            )
        self.max_age = _seconds(max_age)
        self._key = key.source("the envelope secret")

    def seal(self, payload: object, *, purpose: str) -> str:
        """The envelope for ``payload`` under ``current_tenant()``, as a JSON string, for
        the opener that takes ``purpose`` only."""
        _check_purpose(purpose)
        ctx = current_tenant()
        env = {
            "tenantId": ctx.tenant_id,
            "userId": ctx.user_id,
            "roles": sorted(ctx.roles),
            "requestId": ctx.request_id,
            "messageId": uuid.uuid4().hex,
            "issuedAt": int(time.time() * 1000),
            "purpose": purpose,
            "payload": payload,
        }
        signed = {"v": ENVELOPE_VERSION, "env": env}
        sig = self._mac(self._key.get(), _canonical(signed))
        return _canonical({**signed, "sig": sig}).decode("ascii")

    def open(self, body: str | bytes, *, purpose: str) -> tuple[TenantContext, Any]:
        """Verify ``body`` and return its tenant context and payload.

        Raises ``EnvelopeError`` when the body is not an envelope, has an unknown
        version, a bad signature, another purpose than ``purpose``, or is older than
        ``max_age``.
        """
        opened = self.open_envelope(body, purpose=purpose)
        return opened.context, opened.payload

    def open_envelope(self, body: str | bytes, *, purpose: str) -> OpenedEnvelope:
        """Verify ``body`` as :meth:`open` does, keeping the envelope's id and issue time."""
        _check_purpose(purpose)
        envelope = self._parse_envelope(body)
        signed = {"v": envelope["v"], "env": envelope["env"]}
        self._verify(_canonical(signed), envelope["sig"])
        env = envelope["env"]
        if env["purpose"] != purpose:
            raise EnvelopeError(
                f"the envelope was sealed for another purpose than {purpose!r}; "
                "it was moved from another queue, bus or function"
            )
        self._check_age(env["issuedAt"])
        roles = env["roles"]
        if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
            raise EnvelopeError("the envelope's roles are not a list of strings")
        try:
            ctx = TenantContext(
                tenant_id=env["tenantId"],
                user_id=env["userId"],
                roles=frozenset(roles),
                request_id=env["requestId"],
            )
        except (TenantKitError, TypeError):
            raise EnvelopeError("the envelope's tenant context is invalid") from None
        message_id = env["messageId"]
        if not isinstance(message_id, str) or not _MESSAGE_ID.match(message_id):
            raise EnvelopeError("the envelope's message id is malformed")
        return OpenedEnvelope(ctx, env["payload"], message_id, env["issuedAt"])

    def _parse_envelope(self, body: str | bytes) -> dict[str, Any]:
        if not isinstance(body, str | bytes):
            raise EnvelopeError("the message body is not an envelope (expected a JSON string)")
        try:
            envelope = _parse(body)
        except (ValueError, RecursionError):  # RecursionError: absurdly nested JSON
            raise EnvelopeError("the message body is not an envelope (not strict JSON)") from None
        if not isinstance(envelope, dict) or set(envelope) != {"v", "env", "sig"}:
            raise EnvelopeError("the message body is not an envelope (expected v, env and sig)")
        version = envelope["v"]
        if type(version) is not int or version != ENVELOPE_VERSION:
            raise EnvelopeError(
                f"unknown envelope version; this tenantkit reads version {ENVELOPE_VERSION}"
            )
        env = envelope["env"]
        if not isinstance(env, dict) or set(env) != _ENV_KEYS:
            raise EnvelopeError("the envelope's env object does not have the expected fields")
        if not isinstance(envelope["sig"], str) or not envelope["sig"].isascii():
            raise EnvelopeError("the envelope signature is not an ASCII string")
        return envelope

    def _verify(self, data: bytes, sig: str) -> None:
        if hmac.compare_digest(self._mac(self._key.get(), data), sig):
            return
        refreshed = self._key.refresh()  # a rotated secret, at most once per cooldown
        if refreshed is not None and hmac.compare_digest(self._mac(refreshed, data), sig):
            return
        raise EnvelopeError("the envelope signature does not verify; it was forged or edited")

    def _check_age(self, issued_at: object) -> None:
        if type(issued_at) is not int:
            raise EnvelopeError("the envelope's issue time is not an integer")
        age_ms = int(time.time() * 1000) - issued_at
        if age_ms > self.max_age * 1000:
            raise EnvelopeError(
                f"the envelope is older than max_age ({self.max_age:g}s); it was replayed "
                "or waited too long in the queue"
            )
        if age_ms < -_MAX_CLOCK_SKEW_MS:
            raise EnvelopeError("the envelope was issued in the future; check the clocks")

    @staticmethod
    def _mac(key: bytes, data: bytes) -> str:
        return b64url_encode(hmac.new(key, data, hashlib.sha256).digest())
