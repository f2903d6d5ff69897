"""Import the template's Lambda handlers and invoke them one at a time.

Each function's ``CodeUri`` directory goes on ``sys.path`` and its ``Handler``
(``module.function``) is imported at start, under that function's environment
variables, so import-time mistakes fail before the server listens. While a handler
runs, ``os.environ`` holds exactly what Lambda would add for it: the function's
``Environment.Variables`` plus the ``AWS_LAMBDA_*`` variables. Invocations are
serialised by one lock because the environment is process-wide; locally that costs
nothing that matters.

All handlers share one interpreter: a module imported by two functions is imported
once, under the environment of the first. Read function-specific variables inside
the handler, or lazily, not at module import time.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenantkit.local.template import TemplateError

__all__ = ["FunctionSpec", "InvocationError", "LambdaContext", "Runtime"]


@dataclass(frozen=True)
class FunctionSpec:
    """One ``AWS::Serverless::Function`` with its properties resolved."""

    logical_id: str
    name: str
    arn: str
    handler: str
    code_dir: Path
    runtime: str
    timeout: float = 3.0
    memory: int = 128
    environment: Mapping[str, str] = field(default_factory=dict)


class InvocationError(Exception):
    """The handler raised, or returned something Lambda could not serialise."""

    def __init__(self, function: str, cause: BaseException) -> None:
        super().__init__(f"{function}: {type(cause).__name__}: {cause}")
        self.function = function
        self.cause = cause


class LambdaContext:
    """The attributes and method of the Python runtime's context object."""

    def __init__(self, spec: FunctionSpec) -> None:
        self.function_name = spec.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = spec.arn
        self.memory_limit_in_mb = spec.memory
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{spec.name}"
        self.log_stream_name = f"local/[$LATEST]{uuid.uuid4().hex}"
        self.identity: Any = None
        self.client_context: Any = None
        self._deadline = time.monotonic() + spec.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class Runtime:
    """Holds the imported handlers; :meth:`invoke` runs one with its environment."""

    def __init__(self, functions: Mapping[str, FunctionSpec]) -> None:
        self.functions = dict(functions)
        self._handlers: dict[str, Callable[[Any, Any], Any]] = {}
        self._lock = threading.RLock()

    def load(self) -> None:
        for spec in self.functions.values():
            code_dir = str(spec.code_dir)
            if code_dir not in sys.path:
                sys.path.insert(0, code_dir)
        for spec in self.functions.values():
            self._handlers[spec.logical_id] = self._import(spec)

    def _import(self, spec: FunctionSpec) -> Callable[[Any, Any], Any]:
        where = f"Resources.{spec.logical_id}.Properties.Handler"
        module_name, _, attribute = spec.handler.rpartition(".")
        if not module_name or not attribute:
            raise TemplateError(f"{where}: {spec.handler!r} is not of the form module.function")
        previous = sys.modules.get(module_name)
        if previous is not None and previous.__file__ is not None:
            origin = Path(previous.__file__).resolve()
            if not origin.is_relative_to(spec.code_dir.resolve()):
                raise TemplateError(
                    f"{where}: module {module_name!r} is already imported from {origin}, "
                    f"outside this function's CodeUri {spec.code_dir}; rename one of them"
                )
        with self._lock, self._environment(spec):
            try:
                module = importlib.import_module(module_name)
            except Exception as error:
                traceback.print_exc(file=sys.stderr)
                raise TemplateError(
                    f"{where}: importing {module_name!r} from {spec.code_dir} failed: "
                    f"{type(error).__name__}: {error}"
                ) from None
        handler = getattr(module, attribute, None)
        if not callable(handler):
            raise TemplateError(f"{where}: {module_name}.{attribute} is not a function")
        return handler  # type: ignore[no-any-return]

    @contextmanager
    def _environment(self, spec: FunctionSpec) -> Iterator[None]:
        variables = {
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "_HANDLER": spec.handler,
            **spec.environment,
        }
        with environment(variables):
            yield

    def invoke(self, logical_id: str, event: Mapping[str, Any], *, quiet: bool = False) -> Any:
        """Run the handler on a JSON copy of ``event``; return its JSON-normalised result.

        Raises :class:`InvocationError` when the handler raises (its traceback goes to
        stderr unless ``quiet``) or returns something that is not JSON.
        """
        spec = self.functions[logical_id]
        handler = self._handlers[logical_id]
        payload = json.loads(json.dumps(event))
        with self._lock, self._environment(spec):
            try:
                result = handler(payload, LambdaContext(spec))
            except Exception as error:
                if not quiet:
                    print(f"tenantkit local: {logical_id} raised:", file=sys.stderr)
                    traceback.print_exc(file=sys.stderr)
                raise InvocationError(logical_id, error) from error
        try:
            return json.loads(json.dumps(result))
        except (TypeError, ValueError) as error:
            raise InvocationError(logical_id, error) from error


@contextmanager
def environment(variables: Mapping[str, str]) -> Iterator[None]:
    """Set ``variables`` in ``os.environ`` for the block, then put back what was there."""
    saved = {key: os.environ.get(key) for key in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
