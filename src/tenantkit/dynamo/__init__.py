"""Tenant-scoped DynamoDB: ``TenantTable`` and IAM-enforced ``TenantSessions``.

``SecretKey`` and ``SecretsManagerKey`` say where ``TenantTable``'s cursor secret comes
from; ``Transaction`` is what ``TenantTable.transaction()`` returns, and ``IfNotExists``
an update value written only where there is none. Importing this package does not
import boto3; clients are created on first use.
"""

from tenantkit._shared.dynamodb.expressions import IfNotExists
from tenantkit._shared.dynamodb.transact import Transaction
from tenantkit._shared.keys import SecretKey, SecretsManagerKey
from tenantkit.dynamo.sessions import TenantSessions, session_policy
from tenantkit.dynamo.table import DEFAULT_INDEXES, Page, TenantTable
from tenantkit.errors import InvalidExpressionError

__all__ = [
    "DEFAULT_INDEXES",
    "IfNotExists",
    "InvalidExpressionError",
    "Page",
    "SecretKey",
    "SecretsManagerKey",
    "TenantSessions",
    "TenantTable",
    "Transaction",
    "session_policy",
]
