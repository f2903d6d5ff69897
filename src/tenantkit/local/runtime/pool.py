"""A function's execution environments: reused while warm, started on demand, capped.

Lambda routes an invocation to an idle environment of the function, or starts a new one.
For a ``PER_TENANT`` function the environments are keyed by tenant id, and one is never
handed to another tenant: each tenant has environments of its own, as in Lambda, where
a function scales per tenant. Three caps apply:

- ``ReservedConcurrentExecutions``: Lambda's, function-wide. Past it an invocation is
  throttled at once (:class:`Throttled`, the Invoke API's 429), and with 0 every
  invocation is.
- ``limit``: this machine's (``tenantkit local --concurrency``), per function and, for a
  ``PER_TENANT`` function, per tenant. Past it an invocation waits for one of its
  environments to come free, since Lambda would have run it.
- ``total``: all of a function's environments, so that many tenants cannot exhaust the
  machine. To make room, the least recently used idle environment (another tenant's) is
  stopped, as Lambda reclaims idle environments; with none idle, the invocation waits.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

from tenantkit.local.runtime.environment import ExecutionEnvironment
from tenantkit.local.runtime.spec import FunctionSpec

__all__ = ["EnvironmentPool", "PoolClosed", "Throttled"]


class Throttled(Exception):
    """Every environment the function's reserved concurrency allows is busy."""


class PoolClosed(Exception):
    """The server is stopping: no new invocation starts."""


Spawn = Callable[[FunctionSpec, str | None], ExecutionEnvironment]


class EnvironmentPool:
    """The environments of one function; :meth:`acquire` one, :meth:`release` it after."""

    def __init__(self, spec: FunctionSpec, limit: int, total: int, spawn: Spawn) -> None:
        self.spec = spec
        reserved = spec.reserved_concurrency
        self.total = total if reserved is None else min(total, reserved)
        self.limit = min(limit, self.total)
        self._spawn = spawn
        self._idle: list[ExecutionEnvironment] = []  # least recently used first
        self._all: set[ExecutionEnvironment] = set()
        self._busy = 0
        self._count: Counter[str | None] = Counter()  # per tenant: idle, busy or starting
        self._closed = False
        self._changed = threading.Condition()

    def acquire(self, tenant_id: str | None) -> tuple[ExecutionEnvironment, bool]:
        """An environment for ``tenant_id`` (None for a pool function), and whether it
        is new (cold). The caller must :meth:`release` it."""
        reserved = self.spec.reserved_concurrency
        victim: ExecutionEnvironment | None = None
        with self._changed:
            while True:
                if self._closed:
                    raise PoolClosed(self.spec.logical_id)
                if reserved is not None and self._busy >= reserved:
                    raise Throttled(self.spec.logical_id)
                warm = [e for e in self._idle if e.tenant_id == tenant_id]
                if warm:
                    environment = warm[-1]
                    self._idle.remove(environment)
                    self._busy += 1
                    return environment, False
                if self._count[tenant_id] < self.limit:
                    if self._count.total() >= self.total and self._idle:
                        victim = self._idle.pop(0)
                        self._count[victim.tenant_id] -= 1
                        self._all.discard(victim)
                    if self._count.total() < self.total:
                        self._count[tenant_id] += 1
                        self._busy += 1
                        break
                self._changed.wait()
        if victim is not None:
            victim.stop()
        try:
            environment = self._spawn(self.spec, tenant_id)
        except BaseException:
            self._forget(tenant_id)
            raise
        with self._changed:
            self._all.add(environment)
        return environment, True

    def _forget(self, tenant_id: str | None) -> None:
        with self._changed:
            self._count[tenant_id] -= 1
            self._busy -= 1
            self._changed.notify_all()

    def release(self, environment: ExecutionEnvironment) -> None:
        """Back to the idle list if still alive; otherwise forgotten, freeing its slot."""
        with self._changed:
            if environment.alive and not self._closed:
                self._busy -= 1
                self._idle.append(environment)
                self._changed.notify_all()
                return
            self._all.discard(environment)
        self._forget(environment.tenant_id)
        environment.kill()

    def close(self) -> None:
        """Stop every environment: idle ones politely, busy ones by their PID (their
        invocations fail as crashed)."""
        with self._changed:
            self._closed = True
            idle, self._idle = self._idle, []
            busy = self._all - set(idle)
            self._all = busy
            for environment in idle:
                self._count[environment.tenant_id] -= 1
            self._changed.notify_all()
        for environment in idle:
            environment.stop()
        for environment in busy:
            environment.terminate()

    @property
    def environments(self) -> int:
        with self._changed:
            return self._count.total()
