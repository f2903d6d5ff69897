"""Authentication and authorization for API Gateway: the front door of a tenantkit app.

* :class:`TokenVerifier` checks the caller's JWT (one algorithm family, no header tricks).
* :class:`UserDirectory` stores users, tenants and memberships under the admin rules.
* :class:`RoleMap` declares which roles may call which routes and compiles IAM policies.
* :class:`LambdaAuthorizer` ties them together as a Lambda handler.

Names are imported on first use, so ``from tenantkit.auth import UserDirectory`` does not
load PyJWT, and nothing here imports boto3 until a client is needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tenantkit.auth.authorizer import LambdaAuthorizer, UserSource
    from tenantkit.auth.directory import UserDirectory, UserRecord
    from tenantkit.auth.rolemap import RoleMap, Route
    from tenantkit.auth.verifier import ANY_AUDIENCE, ANY_ISSUER, TokenVerifier, VerifiedToken

__all__ = [
    "ANY_AUDIENCE",
    "ANY_ISSUER",
    "LambdaAuthorizer",
    "RoleMap",
    "Route",
    "TokenVerifier",
    "UserDirectory",
    "UserRecord",
    "UserSource",
    "VerifiedToken",
]

_MODULES = {
    "LambdaAuthorizer": "authorizer",
    "UserSource": "authorizer",
    "UserDirectory": "directory",
    "UserRecord": "directory",
    "RoleMap": "rolemap",
    "Route": "rolemap",
    "ANY_AUDIENCE": "verifier",
    "ANY_ISSUER": "verifier",
    "TokenVerifier": "verifier",
    "VerifiedToken": "verifier",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'tenantkit.auth' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"tenantkit.auth.{module}"), name)
    globals()[name] = value
    return value
