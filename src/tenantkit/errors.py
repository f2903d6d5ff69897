"""Typed errors of tenantkit.

Every error derives from :class:`TenantKitError` and carries ``status_code``, the
HTTP status a handler answers with when the error reaches the caller
(``tenantkit.handlers.error_response``). Messages say what was wrong and what to do;
they never contain a token or secret. Everything a caller's input can get wrong is an
:class:`InvalidInputError` (400), so ``except InvalidInputError`` catches exactly the
caller's mistakes. The tree (a test checks that it matches the classes)::

    TenantKitError 500
    ├── ConfigurationError 500
    ├── KeySourceError 503
    ├── InvalidInputError 400
    │   ├── InvalidKeyError 400
    │   ├── InvalidValueError 400
    │   ├── InvalidExpressionError 400
    │   ├── InvalidCursorError 400
    │   ├── InvalidLimitError 400
    │   ├── InvalidEventTypeError 400
    │   └── EndpointRefusedError 400
    ├── UnauthorizedError 401
    ├── InvalidTenantIdError 403
    ├── NoTenantContextError 403
    ├── TenantMismatchError 403
    ├── ForbiddenError 403
    │   └── TenantNotActiveError 403
    ├── NotFoundError 404
    ├── ConflictError 409
    ├── ConditionFailedError 409
    ├── TenantReadOnlyError 423
    ├── LimitExceededError 429
    ├── EnvelopeError 400
    ├── ScanForbiddenError 500
    ├── TenantIsolationError 500
    ├── UnprocessedItemsError 503
    └── UnexpectedResponseError 502
        └── InvokedFunctionError 502
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
    "InvalidEventTypeError",
    "InvalidExpressionError",
    "InvalidInputError",
    "InvalidKeyError",
    "InvalidLimitError",
    "InvalidTenantIdError",
    "InvalidValueError",
    "InvokedFunctionError",
    "KeySourceError",
    "LimitExceededError",
    "NoTenantContextError",
    "NotFoundError",
    "ScanForbiddenError",
    "TenantIsolationError",
    "TenantKitError",
    "TenantMismatchError",
    "TenantNotActiveError",
    "TenantReadOnlyError",
    "UnauthorizedError",
    "UnexpectedResponseError",
    "UnprocessedItemsError",
    "aws_error_code",
]


class TenantKitError(Exception):
    """Base class of every error raised by tenantkit."""

    status_code: int = 500


class ConfigurationError(TenantKitError):
    """tenantkit was set up wrongly (missing key source, weak secret, bad role map)."""


class KeySourceError(TenantKitError):
    """The signing key could not be loaded (Secrets Manager or a JWKS URL unreachable).

    A server-side failure, never the caller's, so never a 401. 503 rather than 500:
    the service tenantkit depends on is down for now, the code and the setup are fine,
    and the same request may succeed once it is back. (An authorizer that raises it
    makes API Gateway answer 500 itself; a handler answers this status.)
    """

    status_code = 503


class InvalidInputError(TenantKitError, ValueError):
    """A value the caller gave tenantkit is malformed or out of range (HTTP 400).

    The parent of every input error; raised itself for values no subclass names (a
    user id, a role name).
    """

    status_code = 400


class InvalidKeyError(InvalidInputError):
    """A DynamoDB key is missing, empty, too large, of the wrong type or malformed, or an
    item or key is not a mapping of string attribute names."""


class InvalidValueError(InvalidInputError):
    """A value that DynamoDB cannot store (HTTP 400), in a key or any other attribute.

    A float (use ``Decimal``), an empty or mixed set, a type DynamoDB has no form for, a
    lone surrogate (text that is not encodable as UTF-8), lists and maps nested over 32
    deep, an item over 400 KB, or a number outside DynamoDB's range: more than 38
    significant digits, a magnitude outside 1E-130 to
    9.9999999999999999999999999999999999999E+125, NaN or Infinity. Not an
    :class:`InvalidKeyError`: ``except InvalidKeyError`` catches key problems only.
    """


class InvalidExpressionError(InvalidInputError):
    """A condition, filter or update is not a supported ``boto3.dynamodb.conditions``
    object, or it touches a partition key in a way that could cross tenants."""


class InvalidCursorError(InvalidInputError):
    """A pagination cursor was edited, truncated, or used outside the query that issued it."""


class InvalidLimitError(InvalidInputError):
    """A count is outside its range: a page ``limit`` that is not a positive integer, a
    transaction of more operations than DynamoDB allows."""


class InvalidEventTypeError(InvalidInputError):
    """An event type is not a name a topic can carry (such as ``park-updated``)."""


class EndpointRefusedError(InvalidInputError):
    """A webhook endpoint is not allowed by the :class:`EndpointPolicy` (SSRF guard)."""


class UnauthorizedError(TenantKitError):
    """The caller could not be authenticated (HTTP 401)."""

    status_code = 401


class InvalidTenantIdError(TenantKitError, ValueError):
    """A tenant id does not match ``^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$``.

    403, not 400: a handler's tenant comes from the authorizer, so a malformed one is a
    refused identity, not a mistake in the request.
    """

    status_code = 403


class NoTenantContextError(TenantKitError):
    """No tenant is in scope: the code ran outside ``tenant_scope``/``@tenant_handler``."""

    status_code = 403


class TenantMismatchError(TenantKitError):
    """Two trusted sources of the tenant disagree (authorizer vs. Lambda tenant isolation)."""

    status_code = 403


class ForbiddenError(TenantKitError):
    """The caller is authenticated but not allowed to do this (HTTP 403)."""

    status_code = 403


class TenantNotActiveError(ForbiddenError):
    """The tenant is suspended, offboarding or deleted: its members get no tenant routes,
    and queued work for it is refused (HTTP 403)."""

    status_code = 403


class NotFoundError(TenantKitError):
    """The thing does not exist in the current tenant (HTTP 404)."""

    status_code = 404


class ConflictError(TenantKitError):
    """The request conflicts with the current state (HTTP 409)."""

    status_code = 409


class ConditionFailedError(TenantKitError):
    """A conditional write or transaction condition did not hold (HTTP 409).

    ``failed_indexes`` lists the positions of the operations whose condition failed
    in a transaction, in request order; it is empty for a single-item write.
    """

    status_code = 409

    def __init__(self, message: str, *, failed_indexes: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.failed_indexes = failed_indexes


class TenantReadOnlyError(TenantKitError):
    """The tenant is being moved to another table; reads work, writes wait (HTTP 423)."""

    status_code = 423


class LimitExceededError(TenantKitError):
    """A per-tenant limit was reached (HTTP 429)."""

    status_code = 429


class EnvelopeError(TenantKitError):
    """A queued tenant envelope is forged, tampered with, too old, or not an envelope."""

    status_code = 400


class ScanForbiddenError(TenantKitError):
    """Scans and PartiQL cannot be limited to one tenant, so tenant tables refuse them."""


class TenantIsolationError(TenantKitError):
    """An item of another tenant reached a tenant-scoped read; it was not returned."""


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


class UnexpectedResponseError(TenantKitError):
    """An AWS service answered with something tenantkit cannot read, such as an attribute
    type newer than this version: the upstream's fault, never the caller's (HTTP 502)."""

    status_code = 502


class InvokedFunctionError(UnexpectedResponseError):
    """The invoked function raised (Lambda's ``FunctionError``): an upstream failure, 502.

    ``error_type`` and ``error_message`` are what the function reported (``errorType``,
    ``errorMessage``); the message names the function and the type only, since the
    function's own message may hold its data.
    """

    def __init__(self, function_name: str, error_type: str, error_message: str) -> None:
        super().__init__(f"{function_name} failed with {error_type}")
        self.function_name = function_name
        self.error_type = error_type
        self.error_message = error_message


def aws_error_code(error: BaseException) -> str | None:
    """The AWS error code of a botocore ``ClientError`` (``None`` for anything else).

    Read from the exception's ``response`` so that callers need not import botocore.
    """
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return code if isinstance(code, str) else None
    return None
