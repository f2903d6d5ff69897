"""The program inside one execution environment: import the handler, then serve invocations.

``tenantkit local`` starts it as ``python -u worker.py CODE_DIR MODULE.FUNCTION`` with the
function's environment, and speaks JSON lines with it (the parent side is
:mod:`tenantkit.local.runtime.environment`):

- after the import (Lambda's init phase) it writes ``{"ready": {"init_ms": ...}}``, or
  ``{"init_error": ERROR}`` and exits, as Lambda's environment does;
- for each request line ``{"event": ..., "context": {...}, "quiet": bool}`` read from
  stdin it writes ``{"result": ...}`` or ``{"error": ERROR}``, where ``ERROR`` is Lambda's
  ``{"errorMessage", "errorType", "stackTrace"}``.

Why a plain subprocess and JSON rather than :mod:`multiprocessing`: the process starts with
exactly the function's environment variables (``Popen(env=...)``), so the server never
changes its own ``os.environ`` while other threads read it; it imports only the standard
library before the handler, so the init time it reports is the handler's; it can be
killed by PID at a timeout; and JSON is what Lambda's own interface carries, so an event
or result that is not JSON fails here as it would there.

The protocol keeps the process's original stdout to itself: file descriptor 1 is pointed
at stderr, so what the handler prints reaches the server's log (Lambda: CloudWatch), and
stdin is replaced by ``/dev/null``, so the handler cannot read the requests.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from typing import Any, BinaryIO

__all__ = ["LambdaContext", "main"]


class LambdaContext:
    """The attributes and method of the Python runtime's context object, ``tenant_id``
    included (set for invocations of a ``PER_TENANT`` function, None otherwise)."""

    def __init__(self, fields: dict[str, Any]) -> None:
        name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_name = name
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = str(fields["invoked_function_arn"])
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.aws_request_id = str(fields["aws_request_id"])
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", f"/aws/lambda/{name}")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.tenant_id: str | None = fields.get("tenant_id")
        self.identity: Any = None
        self.client_context: Any = None
        self._deadline_ms = float(fields["deadline_ms"])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline_ms - time.time() * 1000))


def _error(error: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorMessage": str(error),
        "errorType": error_type or type(error).__name__,
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


def _send(channel: BinaryIO, message: dict[str, Any]) -> None:
    channel.write(json.dumps(message).encode() + b"\n")
    channel.flush()


def _load(handler: str) -> Any:
    module_name, _, attribute = handler.rpartition(".")
    module = importlib.import_module(module_name)
    function = getattr(module, attribute, None)
    if not callable(function):
        raise AttributeError(f"Handler '{attribute}' missing on module '{module_name}'")
    return function


def _invoke(function: Any, request: dict[str, Any], label: str) -> dict[str, Any]:
    context = LambdaContext(request["context"])
    try:
        result = function(request["event"], context)
    except Exception as error:
        if not request.get("quiet"):
            print(f"tenantkit local: {label} raised:", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)
        return {"error": _error(error)}
    try:
        return {"result": json.loads(json.dumps(result))}
    except (TypeError, ValueError) as error:
        return {"error": _error(error, "Runtime.MarshalError")}


def main(code_dir: str, handler: str) -> int:
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.path[0] = code_dir  # the script's own directory would shadow the function's code
    os.chdir(code_dir)
    label = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", handler)
    started = time.perf_counter()
    try:
        function = _load(handler)
    except Exception as error:
        print(f"tenantkit local: {label}: init failed:", file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
        error_type = "Runtime.ImportModuleError" if isinstance(error, ImportError) else None
        _send(replies, {"init_error": _error(error, error_type)})
        return 1
    _send(replies, {"ready": {"init_ms": (time.perf_counter() - started) * 1000}})
    for line in requests:
        _send(replies, _invoke(function, json.loads(line), label))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
