"""Authentication and authorization for API Gateway: the front door of a tenantkit app.

* :class:`TokenVerifier` checks the caller's JWT (one algorithm family, no header tricks),
  with keys from ``SecretKey``, ``SecretsManagerKey``, ``Jwks`` or ``PublicKeys``
  (:mod:`tenantkit.keys`).
* :class:`UserDirectory` stores users, tenants and memberships under the admin rules.
* :class:`RoleMap` declares which roles may call which routes and compiles IAM policies.
* :class:`LambdaAuthorizer` ties them together as a Lambda handler.
* :class:`TenantAdmin` suspends, resumes and re-tiers tenants (as an :class:`Operator` or
  a tenant admin :class:`Member`); :class:`TenantStatusCache` reads their status for the
  authorizer and for consumers; :class:`UsagePlans` gives each tenant an API key in its
  tier's usage plan.

Names are imported on first use, so ``from tenantkit.auth import UserDirectory`` does not
load PyJWT, and nothing here imports boto3 until a client is needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tenantkit._shared.lazy import lazy_exports

if TYPE_CHECKING:
    from tenantkit._shared.dynamodb.tenant_status import TenantStatus, TenantStatusCache
    from tenantkit.auth.authorizer import LambdaAuthorizer, UserSource
    from tenantkit.auth.directory import UserDirectory
    from tenantkit.auth.records import UserRecord
    from tenantkit.auth.rolemap import RoleMap, Route
    from tenantkit.auth.tenant_admin import Member, Operator, TenantAdmin
    from tenantkit.auth.usage_plans import UsagePlans
    from tenantkit.auth.verifier import ANY_AUDIENCE, ANY_ISSUER, TokenVerifier, VerifiedToken
    from tenantkit.keys import Jwks, PublicKeys, SecretKey, SecretsManagerKey

__all__ = [
    "ANY_AUDIENCE",
    "ANY_ISSUER",
    "Jwks",
    "LambdaAuthorizer",
    "Member",
    "Operator",
    "PublicKeys",
    "RoleMap",
    "Route",
    "SecretKey",
    "SecretsManagerKey",
    "TenantAdmin",
    "TenantStatus",
    "TenantStatusCache",
    "TokenVerifier",
    "UsagePlans",
    "UserDirectory",
    "UserRecord",
    "UserSource",
    "VerifiedToken",
]

__getattr__ = lazy_exports(
    __name__,
    globals(),
    {
        "LambdaAuthorizer": "tenantkit.auth.authorizer",
        "UserSource": "tenantkit.auth.authorizer",
        "UserDirectory": "tenantkit.auth.directory",
        "UserRecord": "tenantkit.auth.records",
        "RoleMap": "tenantkit.auth.rolemap",
        "Route": "tenantkit.auth.rolemap",
        "Member": "tenantkit.auth.tenant_admin",
        "Operator": "tenantkit.auth.tenant_admin",
        "TenantAdmin": "tenantkit.auth.tenant_admin",
        "TenantStatus": "tenantkit._shared.dynamodb.tenant_status",
        "TenantStatusCache": "tenantkit._shared.dynamodb.tenant_status",
        "UsagePlans": "tenantkit.auth.usage_plans",
        "ANY_AUDIENCE": "tenantkit.auth.verifier",
        "ANY_ISSUER": "tenantkit.auth.verifier",
        "TokenVerifier": "tenantkit.auth.verifier",
        "VerifiedToken": "tenantkit.auth.verifier",
        "Jwks": "tenantkit.keys",
        "PublicKeys": "tenantkit.keys",
        "SecretKey": "tenantkit.keys",
        "SecretsManagerKey": "tenantkit.keys",
    },
)
