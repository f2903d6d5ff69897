"""tenantkit: multi-tenant serverless apps on AWS, safe by construction.

Importing ``tenantkit`` is cheap: it loads the tenant context, the handler
decorators and the errors, and neither boto3, PyJWT nor pydantic. The AWS-facing
parts live in ``tenantkit.auth``, ``tenantkit.dynamo`` and ``tenantkit.events``.
"""

from tenantkit.context import (
    TenantContext,
    current_tenant,
    current_tenant_or_none,
    tenant_scope,
    validate_tenant_id,
)
from tenantkit.errors import (
    ForbiddenError,
    InvalidTenantIdError,
    NoTenantContextError,
    TenantKitError,
    TenantMismatchError,
    UnauthorizedError,
)
from tenantkit.handlers import requires_roles, tenant_handler
from tenantkit.logs import TenantLogFilter, install_tenant_log_filter

__all__ = [
    "ForbiddenError",
    "InvalidTenantIdError",
    "NoTenantContextError",
    "TenantContext",
    "TenantKitError",
    "TenantLogFilter",
    "TenantMismatchError",
    "UnauthorizedError",
    "current_tenant",
    "current_tenant_or_none",
    "install_tenant_log_filter",
    "requires_roles",
    "tenant_handler",
    "tenant_scope",
    "validate_tenant_id",
]

__version__ = "0.1.0"
