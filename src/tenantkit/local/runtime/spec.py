"""One function as the runtime runs it: its handler, code, limits and tenancy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["PER_TENANT", "FunctionSpec"]

PER_TENANT = "PER_TENANT"  # TenancyConfig.TenantIsolationMode's one value


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
    tenant_isolation: str | None = None  # PER_TENANT, or None for a pool function
    reserved_concurrency: int | None = None  # ReservedConcurrentExecutions

    @property
    def per_tenant(self) -> bool:
        return self.tenant_isolation == PER_TENANT
