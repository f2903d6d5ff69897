"""How an invocation fails, in Lambda's terms.

Two kinds, as Lambda has them: the *function* failed (it raised, timed out, crashed or
could not start: the Invoke API answers 200 with ``X-Amz-Function-Error``, API Gateway
502), or Lambda *refused* the invocation before any code ran (throttled, a tenant id
missing or not expected, no such function: an Invoke API error status, API Gateway 500).
"""

from __future__ import annotations

from typing import Any

__all__ = ["HandlerError", "InvocationError", "InvokeRefused"]


class HandlerError(Exception):
    """What the function reported, rebuilt in this process: ``str()`` is its message."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


class InvocationError(Exception):
    """The function failed; ``payload`` is Lambda's error document for the Invoke API."""

    def __init__(
        self, function: str, error_type: str, message: str, stack_trace: list[str] | None = None
    ) -> None:
        super().__init__(f"{function}: {error_type}: {message}")
        self.function = function
        self.cause = HandlerError(error_type, message)
        self.payload: dict[str, Any] = {
            "errorMessage": message,
            "errorType": error_type,
            "stackTrace": stack_trace or [],
        }


class InvokeRefused(InvocationError):
    """Lambda refused the invocation itself, with ``status`` and error ``code``."""

    def __init__(self, function: str, status: int, code: str, message: str) -> None:
        super().__init__(function, code, message)
        self.status = status
        self.code = code
