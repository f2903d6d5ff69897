"""The template's functions, run as Lambda runs them: in warm, reused execution environments.

:class:`Runtime` keeps one :class:`~tenantkit.local.runtime.pool.EnvironmentPool` per
function. Each environment is a worker process (:mod:`tenantkit.local.runtime.worker`),
started on the first invocation that finds none idle (a cold start: the log says so,
with the handler's import time) and reused while it lives. So functions run
concurrently, each with its own environment variables, modules and globals, and a
``PER_TENANT`` function (``TenancyConfig.TenantIsolationMode``) never serves two tenants
from one process: its module-level caches are safe by construction, as in Lambda.

Invocations follow Lambda's rules: a ``PER_TENANT`` function needs a tenant id and any
other function refuses one (``InvalidParameterValueException``); reserved concurrency
throttles (``TooManyRequestsException``); a timeout kills the environment; a worker that
exits without answering has crashed (``Runtime.ExitError``).
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import json
import os
import re
import sys
import threading
import uuid
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from tenantkit.local.runtime.environment import EnvironmentDied, ExecutionEnvironment
from tenantkit.local.runtime.errors import InvocationError, InvokeRefused
from tenantkit.local.runtime.pool import EnvironmentPool, PoolClosed, Throttled
from tenantkit.local.runtime.spec import PER_TENANT, FunctionSpec
from tenantkit.local.template import TemplateError

__all__ = [
    "DEFAULT_CONCURRENCY",
    "MAX_ENVIRONMENTS",
    "PER_TENANT",
    "FunctionSpec",
    "InvocationError",
    "InvokeRefused",
    "Runtime",
    "environment",
]

DEFAULT_CONCURRENCY = 4
MAX_ENVIRONMENTS = 32  # of one function, all tenants together
_TENANT_ID = re.compile(r"[a-zA-Z0-9._:/=+\-@ ]{1,256}")  # botocore's TenantId shape


def _log(message: str) -> None:
    print(f"tenantkit local: {message}", file=sys.stderr, flush=True)


class Runtime:
    """Invokes the stack's functions by logical id (or, for the Invoke API, by name or ARN).

    ``concurrency`` caps each function's environments on this machine (for a
    ``PER_TENANT`` function, each tenant's), ``max_environments`` all of one function's
    environments together; ``serial`` runs one invocation at a time across all
    functions, as ``tenantkit local`` did before it had execution environments (for
    comparisons; a handler that invokes another function synchronously would wait for
    itself).
    """

    def __init__(
        self,
        functions: Mapping[str, FunctionSpec],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_environments: int = MAX_ENVIRONMENTS,
        serial: bool = False,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.functions = dict(functions)
        self._pools = {
            logical_id: EnvironmentPool(
                spec, 1 if serial else concurrency, max_environments, _spawn
            )
            for logical_id, spec in self.functions.items()
        }
        # A runtime dropped without close() (or still open at exit) stops its workers.
        self._finalizer = weakref.finalize(self, _close, list(self._pools.values()))
        self._serial = threading.Lock() if serial else None
        self._names = {spec.name: logical_id for logical_id, spec in self.functions.items()}
        self._names.update({spec.arn: logical_id for logical_id, spec in self.functions.items()})

    def load(self) -> None:
        """Check every ``Handler`` names a module under its ``CodeUri``, without importing
        it: imports happen in each environment's init phase, as in Lambda."""
        for spec in self.functions.values():
            where = f"Resources.{spec.logical_id}.Properties.Handler"
            module_name, _, attribute = spec.handler.rpartition(".")
            if not module_name or not attribute:
                raise TemplateError(f"{where}: {spec.handler!r} is not of the form module.function")
            top = module_name.split(".")[0]
            if importlib.machinery.PathFinder.find_spec(top, [str(spec.code_dir)]) is None:
                raise TemplateError(f"{where}: no module {top!r} in {spec.code_dir}")

    def close(self) -> None:
        """Stop every environment, by PID; invocations still running fail."""
        self._finalizer()

    def environments(self, logical_id: str) -> int:
        return self._pools[logical_id].environments

    def resolve(self, name: str, tenant_id: str | None) -> str:
        """The logical id of the function an Invoke API call names (name, ARN or partial
        ARN, unqualified or ``$LATEST``), after Lambda's tenancy checks."""
        unqualified = name.removesuffix(":$LATEST")
        logical_id = self._names.get(unqualified)
        if logical_id is None and ":function:" in unqualified:
            logical_id = self._names.get(unqualified.rpartition(":function:")[2])
        if logical_id is None:
            raise InvokeRefused(
                name, 404, "ResourceNotFoundException", f"Function not found: {name}"
            )
        self._check_tenancy(logical_id, tenant_id)
        return logical_id

    def _check_tenancy(self, logical_id: str, tenant_id: str | None) -> None:
        spec = self.functions[logical_id]
        if spec.per_tenant and tenant_id is None:
            message = f"{spec.name} has tenant isolation mode {PER_TENANT}: a tenant id is required"
        elif not spec.per_tenant and tenant_id is not None:
            message = f"{spec.name} does not have tenant isolation enabled: remove the tenant id"
        elif tenant_id is not None and not _TENANT_ID.fullmatch(tenant_id):
            message = "the tenant id must be 1 to 256 of [a-zA-Z0-9._:/=+-@ ]"
        else:
            return
        raise InvokeRefused(logical_id, 400, "InvalidParameterValueException", message)

    def invoke(
        self,
        logical_id: str,
        event: Any,
        *,
        tenant_id: str | None = None,
        quiet: bool = False,
    ) -> Any:
        """Run the function on ``event`` in one of its environments; its JSON result.

        Raises :class:`InvokeRefused` when Lambda would refuse the invocation, and
        :class:`InvocationError` when the function fails (its traceback goes to stderr
        unless ``quiet``).
        """
        spec = self.functions[logical_id]
        self._check_tenancy(logical_id, tenant_id)
        try:
            event_json = json.dumps(event)
        except (TypeError, ValueError) as error:
            raise InvokeRefused(
                logical_id, 400, "InvalidRequestContentException", f"not JSON: {error}"
            ) from None
        with self._serial or contextlib.nullcontext():
            return self._run(spec, event_json, tenant_id, quiet)

    def _run(self, spec: FunctionSpec, event_json: str, tenant_id: str | None, quiet: bool) -> Any:
        pool = self._pools[spec.logical_id]
        try:
            environment, cold = pool.acquire(tenant_id)
        except Throttled:
            _log(f"{spec.logical_id}: throttled (ReservedConcurrentExecutions)")
            raise InvokeRefused(
                spec.logical_id, 429, "TooManyRequestsException", "Rate Exceeded."
            ) from None
        except PoolClosed:
            raise InvokeRefused(
                spec.logical_id, 503, "ServiceException", "tenantkit local is stopping"
            ) from None
        request_id = str(uuid.uuid4())
        try:
            if cold:
                init_ms = environment.start()
                _log(
                    f"{spec.logical_id}{_tenant(tenant_id)}: cold start, init {init_ms:.1f} ms "
                    f"(pid {environment.pid}, {pool.environments} environment(s))"
                )
            context = {
                "aws_request_id": request_id,
                "invoked_function_arn": spec.arn,
                "tenant_id": tenant_id,
            }
            response = environment.invoke(event_json, context, quiet=quiet)
        except EnvironmentDied as died:
            _log(f"{spec.logical_id}{_tenant(tenant_id)}: {died} (pid {environment.pid})")
            raise InvocationError(
                spec.logical_id, died.error_type, f"RequestId: {request_id} Error: {died}"
            ) from None
        finally:
            pool.release(environment)
        if "error" in response:
            error = response["error"]
            raise InvocationError(
                spec.logical_id,
                str(error["errorType"]),
                str(error["errorMessage"]),
                [str(line) for line in error.get("stackTrace") or []],
            )
        return response["result"]


def _spawn(spec: FunctionSpec, tenant_id: str | None) -> ExecutionEnvironment:
    return ExecutionEnvironment(spec, tenant_id, dict(os.environ))


def _close(pools: list[EnvironmentPool]) -> None:
    for pool in pools:
        pool.close()


def _tenant(tenant_id: str | None) -> str:
    return "" if tenant_id is None else f" [tenant {tenant_id!r}]"


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
