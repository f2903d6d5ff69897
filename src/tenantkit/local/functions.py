"""Import the template's Lambda handlers and invoke them one at a time.

Each function's ``CodeUri`` directory goes on ``sys.path`` and its ``Handler``
(``module.function``) is imported at start, under that function's environment
variables, so import-time mistakes fail before the server listens. While a handler
runs, ``os.environ`` holds exactly what Lambda would add for it: the function's
``Environment.Variables`` plus the ``AWS_LAMBDA_*`` variables. Invocations are
serialised by one lock because the environment is process-wide; locally that costs
nothing that matters.

Each function has its own copy of the modules under its ``CodeUri``, as separate
Lambda functions do, so state one function caches (a client built from its
environment) never leaks into another and hides a missing variable.
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
from types import ModuleType
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
    """Holds the imported handlers; :meth:`invoke` runs one with its environment.

    Like separate Lambda functions, each function gets its own copy of the modules
    under its ``CodeUri`` (a settings module caching a client, say): before a function
    runs, the other functions' copies leave ``sys.modules`` and its own come back, and
    only its ``CodeUri`` is on ``sys.path``. Installed packages, tenantkit included,
    are shared, as a layer would be.
    """

    def __init__(self, functions: Mapping[str, FunctionSpec]) -> None:
        self.functions = dict(functions)
        self._handlers: dict[str, Callable[[Any, Any], Any]] = {}
        self._lock = threading.RLock()
        self._code_dirs = {spec.code_dir.resolve() for spec in self.functions.values()}
        self._installed = _installed_dirs()
        self._own: dict[str, dict[str, ModuleType]] = {name: {} for name in self.functions}
        self._is_code: dict[str, bool] = {}

    def load(self) -> None:
        for spec in self.functions.values():
            self._handlers[spec.logical_id] = self._import(spec)

    def _import(self, spec: FunctionSpec) -> Callable[[Any, Any], Any]:
        where = f"Resources.{spec.logical_id}.Properties.Handler"
        module_name, _, attribute = spec.handler.rpartition(".")
        if not module_name or not attribute:
            raise TemplateError(f"{where}: {spec.handler!r} is not of the form module.function")
        with self._running(spec):
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

    def _under(self, module: ModuleType, directories: set[Path]) -> bool:
        file = getattr(module, "__file__", None)
        if not isinstance(file, str):
            return False
        path = Path(file).resolve()
        if any(path.is_relative_to(d) for d in self._installed):
            return False
        return any(path.is_relative_to(d) for d in directories)

    def _code_module(self, name: str, module: ModuleType) -> bool:
        known = self._is_code.get(name)
        if known is None:
            known = self._is_code[name] = self._under(module, self._code_dirs)
        return known

    @contextmanager
    def _running(self, spec: FunctionSpec) -> Iterator[None]:
        """Hold the lock with this function's modules, ``sys.path`` and environment."""
        with self._lock:
            for name, module in list(sys.modules.items()):
                if self._code_module(name, module):
                    del sys.modules[name]
            sys.modules.update(self._own[spec.logical_id])
            code_dirs = {str(d) for d in self._code_dirs}
            sys.path[:] = [str(spec.code_dir), *(p for p in sys.path if p not in code_dirs)]
            try:
                with self._environment(spec):
                    yield
            finally:
                own = self._own[spec.logical_id]
                for name, module in list(sys.modules.items()):
                    if self._code_module(name, module) and self._under(module, {spec.code_dir}):
                        own[name] = module

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
        stderr unless ``quiet``), returns something that is not JSON, or runs past its
        ``Timeout``: a thread cannot be stopped, so the late result is discarded, which is
        what the caller would see from Lambda.
        """
        spec = self.functions[logical_id]
        handler = self._handlers[logical_id]
        payload = json.loads(json.dumps(event))
        with self._running(spec):
            context = LambdaContext(spec)
            try:
                result = handler(payload, context)
            except (Exception, SystemExit) as error:
                if not quiet:
                    print(f"tenantkit local: {logical_id} raised:", file=sys.stderr)
                    traceback.print_exc(file=sys.stderr)
                raise InvocationError(logical_id, error) from error
        if context.get_remaining_time_in_millis() <= 0:
            message = f"Task timed out after {spec.timeout:.2f} seconds"
            print(f"tenantkit local: {logical_id}: {message}", file=sys.stderr)
            raise InvocationError(logical_id, TimeoutError(message))
        try:
            return json.loads(json.dumps(result))
        except (TypeError, ValueError) as error:
            raise InvocationError(logical_id, error) from error


def _installed_dirs() -> set[Path]:
    """Where installed packages live: never a function's own code, even inside CodeUri."""
    import site
    import sysconfig

    candidates = {sys.prefix, sys.base_prefix, *site.getsitepackages()}
    candidates |= {sysconfig.get_path(key) for key in ("stdlib", "platstdlib", "purelib")}
    return {Path(c).resolve() for c in candidates if c}


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
