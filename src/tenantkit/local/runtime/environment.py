"""One execution environment, seen from the server: a worker process and its pipes.

The worker (:mod:`tenantkit.local.runtime.worker`) is started with the function's
environment variables only in its own process. :meth:`ExecutionEnvironment.start` waits for
the handler's import (the init phase, whose time the cold-start log line reports) and
:meth:`ExecutionEnvironment.invoke` sends one event and waits for its answer until the
function's deadline. A timeout kills the process, as Lambda discards a timed-out
environment; a process that exits without answering has crashed. Either way the
environment is dead and its pool starts a fresh one for the next invocation.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tenantkit.local.runtime.spec import FunctionSpec

__all__ = ["INIT_TIMEOUT", "EnvironmentDied", "ExecutionEnvironment", "lambda_variables"]

INIT_TIMEOUT = 10.0  # seconds; Lambda's limit for an on-demand init phase
WORKER = Path(__file__).with_name("worker.py")


class EnvironmentDied(Exception):
    """The worker timed out (and was killed) or exited without answering."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def lambda_variables(spec: FunctionSpec, log_stream: str) -> dict[str, str]:
    """What Lambda sets in a function's environment, then the function's own variables."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "LAMBDA_TASK_ROOT": str(spec.code_dir),
        "_HANDLER": spec.handler,
        **spec.environment,
    }


class ExecutionEnvironment:
    """A warm, reusable worker for one function (and one tenant, for ``PER_TENANT``)."""

    def __init__(self, spec: FunctionSpec, tenant_id: str | None, base: Mapping[str, str]) -> None:
        self.spec = spec
        self.tenant_id = tenant_id
        self.log_stream = f"local/[$LATEST]{uuid.uuid4().hex}"
        self.last_used = time.monotonic()
        self._buffer = b""
        self.process = subprocess.Popen(  # noqa: S603 - our own worker, no shell
            [sys.executable, "-u", str(WORKER), str(spec.code_dir), spec.handler],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**base, **lambda_variables(spec, self.log_stream)},
            # Its own process group: Ctrl-C in a terminal reaches the server, which stops
            # its environments, and a kill takes what the handler started with it.
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def start(self) -> float:
        """Wait for the init phase; its time in ms. A failed init raises EnvironmentDied."""
        message = self._receive(time.monotonic() + max(INIT_TIMEOUT, self.spec.timeout))
        if "init_error" in message:
            error = message["init_error"]
            self.kill()
            raise EnvironmentDied(str(error["errorType"]), str(error["errorMessage"]))
        return float(message["ready"]["init_ms"])

    def invoke(self, event_json: str, context: dict[str, Any], *, quiet: bool) -> dict[str, Any]:
        """Run one invocation; ``{"result": ...}`` or ``{"error": ...}`` from the handler."""
        deadline = time.monotonic() + self.spec.timeout
        context = {**context, "deadline_ms": time.time() * 1000 + self.spec.timeout * 1000}
        request = f'{{"event": {event_json}, "context": {json.dumps(context)}, "quiet": '
        request += "true}\n" if quiet else "false}\n"
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(request.encode())
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._exited() from None
        try:
            return self._receive(deadline)
        finally:
            self.last_used = time.monotonic()

    def _receive(self, deadline: float) -> dict[str, Any]:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise EnvironmentDied(
                    "Sandbox.Timedout", f"Task timed out after {self.spec.timeout:.2f} seconds"
                )
            readable, _, _ = select.select([fd], [], [], remaining)
            if readable:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise self._exited()
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            message = json.loads(line)
        except ValueError:
            message = None
        if not isinstance(message, dict):  # the handler wrote on the protocol's descriptor
            self.kill()
            raise EnvironmentDied("Runtime.ExitError", "Runtime answered outside its protocol")
        return message

    def _exited(self) -> EnvironmentDied:
        code = self.process.wait()
        how = f"signal: {-code}" if code < 0 else f"exit status {code}"
        return EnvironmentDied("Runtime.ExitError", f"Runtime exited with error: {how}")

    def terminate(self) -> None:
        """SIGKILL the worker's process group (the worker and what its handler started),
        by the worker's PID, which is the group's id; no wait."""
        if self.process.returncode is None:  # not reaped: the group id is still ours
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def kill(self) -> None:
        """Stop the worker and its process group, and reap it."""
        if self.process.poll() is None:
            self.terminate()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()

    def stop(self) -> None:
        """End a warm worker politely: closing its stdin ends its request loop."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=2)
        self.kill()
