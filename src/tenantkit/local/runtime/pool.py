"""A function's execution environments: reused while warm, started on demand, capped.

Lambda routes an invocation to an idle environment of the function, or starts a new one.
For a ``PER_TENANT`` function the environments are keyed by tenant id, and one is never
handed to another tenant. Two caps apply:

- ``ReservedConcurrentExecutions``: Lambda's. Past it an invocation is throttled at once
  (:class:`Throttled`, the Invoke API's 429), and with 0 every invocation is.
- ``limit``: this machine's (``tenantkit local --concurrency``). Past it an invocation
  waits for an environment to come free, since Lambda would have run it. To make room
  for a tenant with no environment, the least recently used idle environment of another
  tenant is stopped, as Lambda reclaims idle environments.
"""

from __future__ import annotations

import threading
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

    def __init__(self, spec: FunctionSpec, limit: int, spawn: Spawn) -> None:
        self.spec = spec
        reserved = spec.reserved_concurrency
        self.capacity = limit if reserved is None else min(limit, reserved)
        self._spawn = spawn
        self._idle: list[ExecutionEnvironment] = []  # least recently used first
        self._all: set[ExecutionEnvironment] = set()
        self._busy = 0
        self._count = 0  # environments, idle or busy or starting
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
                if self._count >= self.capacity and self._idle:
                    victim = self._idle.pop(0)
                    self._count -= 1
                if self._count < self.capacity:
                    self._count += 1
                    self._busy += 1
                    break
                self._changed.wait()
        if victim is not None:
            with self._changed:
                self._all.discard(victim)
            victim.stop()
        try:
            environment = self._spawn(self.spec, tenant_id)
        except BaseException:
            with self._changed:
                self._count -= 1
                self._busy -= 1
                self._changed.notify_all()
            raise
        with self._changed:
            self._all.add(environment)
        return environment, True

    def release(self, environment: ExecutionEnvironment) -> None:
        """Back to the idle list if still alive; otherwise forgotten, freeing its slot."""
        with self._changed:
            self._busy -= 1
            if environment.alive and not self._closed:
                self._idle.append(environment)
                self._changed.notify_all()
                return
            self._count -= 1
            self._all.discard(environment)
            self._changed.notify_all()
        environment.kill()

    def close(self) -> None:
        """Stop every environment: idle ones politely, busy ones by their PID (their
        invocations fail as crashed)."""
        with self._changed:
            self._closed = True
            idle, self._idle = self._idle, []
            busy = self._all - set(idle)
            self._all = busy
            self._count -= len(idle)
            self._changed.notify_all()
        for environment in idle:
            environment.stop()
        for environment in busy:
            environment.process.kill()

    @property
    def environments(self) -> int:
        with self._changed:
            return self._count
