"""One DynamoDB call, with the refusals a caller can act on turned into typed errors.

- A failed condition is ``ConditionFailedError`` (409); a cancelled transaction names the
  positions of the operations whose condition failed in ``failed_indexes``, or is a
  ``ConflictError`` (409) when a concurrent transaction cancelled it.
- A ``ValidationException`` about the caller's values, which only DynamoDB can check (an
  item over 400 KB, a key of the wrong type for the table's schema), is a typed 400.

Typed errors are raised outside the ``except`` block, so the AWS error, and any item in
it, is not chained to them. Every other error propagates as botocore raised it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tenantkit.errors import (
    ConditionFailedError,
    ConflictError,
    InvalidKeyError,
    InvalidValueError,
    TenantKitError,
    aws_error_code,
)

__all__ = ["call", "transaction_error"]

# ValidationException messages about the caller's values: item sizes (DynamoDB's own
# accounting) and key types (the table's schema is not known here).
_SIZE_MESSAGES = ("exceeded the maximum allowed size", "Nesting Levels have exceeded")
_KEY_TYPE_MESSAGES = (
    "Type mismatch",
    "Condition parameter type does not match schema type",
    "The provided key element does not match the schema",
)


def call(client: Any, operation: str, request: Mapping[str, Any]) -> dict[str, Any]:
    """``client.<operation>(**request)``, raising typed errors for the refusals above."""
    failure: TenantKitError | None = None
    try:
        response: dict[str, Any] = getattr(client, operation)(**request)
        return response
    except Exception as exc:
        code = aws_error_code(exc)
        if code == "ConditionalCheckFailedException":
            failure = ConditionFailedError(
                f"the condition of {operation} did not hold, so nothing was changed; "
                "re-read the item and retry if appropriate"
            )
        elif code == "TransactionCanceledException":
            failure = transaction_error(exc)
        elif code == "ValidationException":
            failure = _validation_error(operation, exc)
        if failure is None:
            raise
    raise failure


def transaction_error(exc: BaseException) -> TenantKitError | None:
    """The typed error of a cancelled transaction, from its cancellation reasons."""
    response: Mapping[str, Any] = getattr(exc, "response", {})
    codes = [reason.get("Code") for reason in response.get("CancellationReasons") or ()]
    failed = tuple(i for i, code in enumerate(codes) if code == "ConditionalCheckFailed")
    if failed:
        return ConditionFailedError(
            f"the transaction was cancelled because the condition of operation(s) "
            f"{list(failed)} did not hold; nothing was written",
            failed_indexes=failed,
        )
    if "TransactionConflict" in codes:
        return ConflictError(
            "the transaction was cancelled by a concurrent change to the same items; retry it"
        )
    return None


def _validation_error(operation: str, exc: BaseException) -> TenantKitError | None:
    """A typed 400 for a ValidationException the caller's input caused, else ``None``."""
    response: Mapping[str, Any] = getattr(exc, "response", {})
    message = str(response.get("Error", {}).get("Message", ""))
    if any(text in message for text in _SIZE_MESSAGES):
        return InvalidValueError(
            f"DynamoDB refused {operation}: an item is over its 400 KB limit or nests lists "
            "and maps too deeply; store less in one item"
        )
    if any(text in message for text in _KEY_TYPE_MESSAGES):
        return InvalidKeyError(
            f"DynamoDB refused {operation}: a key value has the wrong type for the table's "
            "or an index's key schema (string, number or bytes); also check TenantTable's "
            "partition_key and sort_key"
        )
    return None
