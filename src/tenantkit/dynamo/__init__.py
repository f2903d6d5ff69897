"""Tenant-scoped DynamoDB: ``TenantTable`` and IAM-enforced ``TenantSessions``.

``SecretKey`` and ``SecretsManagerKey`` (from :mod:`tenantkit.keys`) say where
``TenantTable``'s cursor key comes from; ``Transaction`` is what
``TenantTable.transaction()`` returns, ``IfNotExists`` an update value written only where
there is none, and ``Updates``/``UpdatePath`` the types ``update_item`` takes.
``Enumeration`` turns on the sparse per-tenant index that lists a tenant's items without a
scan, and ``Placement`` sends each tenant to its pool or silo table. Importing
this package does not import boto3; clients are created on first use.
"""

from tenantkit._shared.dynamodb.expressions import IfNotExists, UpdatePath, Updates
from tenantkit._shared.dynamodb.transact import Transaction
from tenantkit.dynamo.enumeration import Enumeration
from tenantkit.dynamo.placement import Placement
from tenantkit.dynamo.sessions import TenantSessions, session_policy
from tenantkit.dynamo.table import DEFAULT_INDEXES, Page, TenantTable
from tenantkit.errors import InvalidExpressionError
from tenantkit.keys import SecretKey, SecretsManagerKey

__all__ = [
    "DEFAULT_INDEXES",
    "Enumeration",
    "IfNotExists",
    "InvalidExpressionError",
    "Page",
    "Placement",
    "SecretKey",
    "SecretsManagerKey",
    "TenantSessions",
    "TenantTable",
    "Transaction",
    "UpdatePath",
    "Updates",
    "session_policy",
]
