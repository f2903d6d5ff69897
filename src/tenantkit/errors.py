"""Typed errors of tenantkit.

Every error derives from :class:`TenantKitError` and carries ``status_code``, the
HTTP status a handler should answer with when the error reaches the caller.
Messages say what was wrong and what to do; they never contain a token or secret.
"""

from __future__ import annotations

__all__ = [
    "ConditionFailedError",
    "ConfigurationError",
    "ConflictError",
    "EndpointRefusedError",
    "EnvelopeError",
    "ForbiddenError",
    "InvalidCursorError",
    "InvalidExpressionError",
    "InvalidInputError",
    "InvalidKeyError",
    "InvalidTenantIdError",
    "InvalidValueError",
    "KeySourceError",
    "LimitExceededError",
    "NoTenantContextError",
    "NotFoundError",
    "ScanForbiddenError",
    "TenantIsolationError",
    "TenantKitError",
    "TenantMismatchError",
    "UnauthorizedError",
    "UnprocessedItemsError",
    "aws_error_code",
]


class TenantKitError(Exception):
    """Base class of every error raised by tenantkit."""

    status_code: int = 500


class ConfigurationError(TenantKitError):
    """tenantkit was set up wrongly (missing key source, weak secret, bad role map)."""


class KeySourceError(TenantKitError):
    """The signing key could not be loaded (Secrets Manager unreachable, say).

    A server-side failure, not the caller's: an authorizer answers 500, not 401.
    """

    status_code = 503


class InvalidInputError(TenantKitError, ValueError):
    """A value given to tenantkit (a user id, a role name) is malformed (HTTP 400)."""

    status_code = 400


class InvalidTenantIdError(TenantKitError, ValueError):
    """A tenant id does not match ``^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$``."""

    status_code = 403


class NoTenantContextError(TenantKitError):
    """No tenant is in scope: the code ran outside ``tenant_scope``/``@tenant_handler``."""

    status_code = 403


class TenantMismatchError(TenantKitError):
    """Two trusted sources of the tenant disagree (authorizer vs. Lambda tenant isolation)."""

    status_code = 403


class UnauthorizedError(TenantKitError):
    """The caller could not be authenticated (HTTP 401)."""

    status_code = 401


class ForbiddenError(TenantKitError):
    """The caller is authenticated but not allowed to do this (HTTP 403)."""

    status_code = 403


class NotFoundError(TenantKitError):
    """The thing does not exist in the current tenant (HTTP 404)."""

    status_code = 404


class ConflictError(TenantKitError):
    """The request conflicts with the current state (HTTP 409)."""

    status_code = 409


class LimitExceededError(TenantKitError):
    """A per-tenant limit was reached (HTTP 429)."""

    status_code = 429


class InvalidKeyError(TenantKitError, ValueError):
    """A DynamoDB key or value is empty, too large, of a refused type, or malformed."""

    status_code = 400


class InvalidValueError(InvalidKeyError, InvalidInputError):
    """A string or number that DynamoDB cannot store (HTTP 400).

    A lone surrogate (text that is not encodable as UTF-8), or a number outside DynamoDB's
    range: more than 38 significant digits, a magnitude outside 1E-130 to
    9.9999999999999999999999999999999999999E+125, NaN or Infinity. Both an
    :class:`InvalidKeyError` and an :class:`InvalidInputError`.
    """

    status_code = 400


class InvalidExpressionError(InvalidKeyError):
    """A condition, filter or update is not a supported ``boto3.dynamodb.conditions``
    object, or it touches a partition key in a way that could cross tenants."""


class ScanForbiddenError(TenantKitError):
    """Scans and PartiQL cannot be limited to one tenant, so tenant tables refuse them."""


class TenantIsolationError(TenantKitError):
    """An item of another tenant reached a tenant-scoped read; it was not returned."""


class InvalidCursorError(TenantKitError, ValueError):
    """A pagination cursor was edited, truncated, or used outside the query that issued it."""

    status_code = 400


class ConditionFailedError(TenantKitError):
    """A conditional write or transaction condition did not hold (HTTP 409)."""

    status_code = 409


class UnprocessedItemsError(TenantKitError):
    """A batch left items unprocessed after every retry; ``unprocessed`` lists them.

    ``processed`` holds what a batch read did return, so nothing read is lost either.
    """

    status_code = 503

    def __init__(
        self, message: str, unprocessed: list[object], processed: list[object] | None = None
    ) -> None:
        super().__init__(message)
        self.unprocessed = unprocessed
        self.processed = processed if processed is not None else []


class EnvelopeError(TenantKitError):
    """A queued tenant envelope is forged, tampered with, too old, or not an envelope."""

    status_code = 400


class EndpointRefusedError(TenantKitError, ValueError):
    """A webhook endpoint is not allowed by the :class:`EndpointPolicy` (SSRF guard)."""

    status_code = 400


def aws_error_code(error: BaseException) -> str | None:
    """The AWS error code of a botocore ``ClientError`` (``None`` for anything else).

    Read from the exception's ``response`` so that callers need not import botocore.
    """
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return code if isinstance(code, str) else None
    return None
