"""Tag log records with the tenant in scope, and nothing once the scope ends."""

from __future__ import annotations

import logging

from tenantkit.context import current_tenant_or_none

__all__ = ["TenantLogFilter", "install_tenant_log_filter"]


class TenantLogFilter(logging.Filter):
    """Adds ``tenant_id`` and ``user_id`` to records emitted while a tenant is in scope."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = current_tenant_or_none()
        if ctx is not None:
            record.tenant_id = ctx.tenant_id
            record.user_id = ctx.user_id
        return True


def install_tenant_log_filter(logger: logging.Logger | None = None) -> TenantLogFilter:
    """Attach one shared filter to ``logger`` (default: root) and each of its handlers.

    Filters on a logger do not see records propagated from child loggers, so the
    filter goes on the handlers too. Calling it twice installs nothing new.
    """
    target = logger if logger is not None else logging.getLogger()
    existing = next((f for f in target.filters if isinstance(f, TenantLogFilter)), None)
    tenant_filter = existing or TenantLogFilter()
    for filterer in (target, *target.handlers):
        if tenant_filter not in filterer.filters:
            filterer.addFilter(tenant_filter)
    return tenant_filter
