"""Tenant-scoped AWS credentials: IAM stops a leak even if application code has a bug.

``TenantSessions`` assumes a role with an inline session policy per tenant. The effective
permissions are the intersection of the role's policies and the session policy, which
allows only the item-level actions ``TenantTable`` uses, and only on items whose leading
(partition) key starts with ``<tenant>#``.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tenantkit._shared.cache import LruCache
from tenantkit._shared.clients import build_client, refuse_client_and_session
from tenantkit.context import validate_tenant_id
from tenantkit.errors import ConfigurationError

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config

__all__ = ["MAX_SESSION_POLICY_CHARS", "TENANT_ACTIONS", "TenantSessions", "session_policy"]

MAX_SESSION_POLICY_CHARS = 2048
#: Item-level actions of TenantTable. Transactions are authorised per item with these too.
TENANT_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
)
_LONGEST_TENANT = "x" * 64
_REFRESH_MARGIN = timedelta(minutes=5)

ClientFactory = Callable[..., Any]


def session_policy(tenant_id: str, tables: Sequence[str]) -> str:
    """The compact JSON session policy confining a session to ``tenant_id``'s items.

    ``ForAllValues`` is true when ``dynamodb:LeadingKeys`` is absent, so a ``Null`` check
    makes the key mandatory.
    """
    validate_tenant_id(tenant_id)
    resources = [arn for table in tables for arn in (table, f"{table}/index/*")]
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": list(TENANT_ACTIONS),
                "Resource": resources,
                "Condition": {
                    "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{tenant_id}#*"]},
                    "Null": {"dynamodb:LeadingKeys": "false"},
                },
            }
        ],
    }
    return json.dumps(document, separators=(",", ":"))


def _session_name(tenant_id: str) -> str:
    # RoleSessionName is 2-64 characters; a 58+ character tenant id goes in alone.
    name = f"tenant-{tenant_id}"
    return name if len(name) <= 64 else tenant_id


class TenantSessions:
    """Clients whose credentials only reach one tenant's items, cached per tenant.

    ``client_factory(service_name, **kwargs)`` creates the STS client and the tenant
    clients; inject it for tests, or give ``boto3_session`` and ``boto_config`` (region,
    endpoint, retries) to the default, ``boto3.client``.
    ``cache_size`` clients are kept at once, the least recently used dropped first.
    """

    def __init__(
        self,
        role_arn: str,
        *,
        tables: Sequence[str],
        client_factory: ClientFactory | None = None,
        boto3_session: boto3.session.Session | None = None,
        boto_config: Config | None = None,
        duration_seconds: int = 3600,
        cache_size: int = 256,
    ) -> None:
        if not isinstance(role_arn, str) or not role_arn.startswith("arn:"):
            raise ConfigurationError("role_arn must be an IAM role ARN")
        if isinstance(tables, str) or not tables:
            raise ConfigurationError("tables must be a non-empty list of DynamoDB table ARNs")
        if not all(isinstance(t, str) and t.startswith("arn:") for t in tables):
            raise ConfigurationError("tables must be DynamoDB table ARNs")
        longest = len(session_policy(_LONGEST_TENANT, tables))
        if longest > MAX_SESSION_POLICY_CHARS:
            raise ConfigurationError(
                f"the session policy for these tables is {longest} characters, over the "
                f"{MAX_SESSION_POLICY_CHARS}-character STS limit; use fewer tables per session"
            )
        self._role_arn = role_arn
        self._tables = tuple(tables)
        refuse_client_and_session(
            "client_factory", client_factory is not None, boto3_session, boto_config
        )
        # A factory, not one client per service: each tenant's client has its own credentials.
        self._factory: ClientFactory = client_factory or functools.partial(
            build_client, boto3_session=boto3_session, boto_config=boto_config
        )
        self._duration = duration_seconds
        self._sts: Any = None
        # Clients per (service, tenant), until 5 minutes before their credentials expire.
        self._cache: LruCache[tuple[str, str], Any] = LruCache(cache_size, clock=time.time)
        self._lock = threading.Lock()  # guards the dict below, never held over a call
        # A lock per (service, tenant) being created, with how many callers hold or wait.
        self._tenant_locks: dict[tuple[str, str], tuple[threading.Lock, int]] = {}

    def policy(self, tenant_id: str) -> str:
        """The session policy used for ``tenant_id``."""
        return session_policy(tenant_id, self._tables)

    def client(self, service_name: str, tenant_id: str) -> Any:
        """A ``service_name`` client with ``tenant_id``'s credentials, reused until near expiry.

        ``AssumeRole`` runs under a lock of that tenant only, so one tenant's cold
        lookup never waits for another's.
        """
        validate_tenant_id(tenant_id)
        cache_key = (service_name, tenant_id)
        client = self._cache.get(cache_key)
        if client is not None:
            return client
        with self._lock:
            tenant_lock, waiting = self._tenant_locks.get(cache_key, (threading.Lock(), 0))
            self._tenant_locks[cache_key] = (tenant_lock, waiting + 1)
        try:
            with tenant_lock:
                client = self._cache.get(cache_key)  # another thread may have just made it
                return client if client is not None else self._create(service_name, tenant_id)
        finally:
            with self._lock:  # the last one out removes the lock: the table stays small
                lock, waiting = self._tenant_locks[cache_key]
                if waiting == 1:
                    del self._tenant_locks[cache_key]
                else:
                    self._tenant_locks[cache_key] = (lock, waiting - 1)

    def _create(self, service_name: str, tenant_id: str) -> Any:
        """Assume the role for ``tenant_id`` and cache a client; under that tenant's lock."""
        cache_key = (service_name, tenant_id)
        credentials = self._assume(tenant_id)
        client = self._factory(
            service_name,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
        expiration = credentials["Expiration"]
        if not isinstance(expiration, datetime):
            expiration = datetime.fromisoformat(str(expiration))
        if expiration.tzinfo is None:
            expiration = expiration.replace(tzinfo=UTC)
        self._cache.put(cache_key, client, until=(expiration - _REFRESH_MARGIN).timestamp())
        return client

    def _assume(self, tenant_id: str) -> dict[str, Any]:
        policy = self.policy(tenant_id)
        if len(policy) > MAX_SESSION_POLICY_CHARS:
            raise ConfigurationError(
                f"the session policy is over {MAX_SESSION_POLICY_CHARS} characters"
            )
        if self._sts is None:
            self._sts = self._factory("sts")  # two racing threads may both build one: harmless
        response = self._sts.assume_role(
            RoleArn=self._role_arn,
            RoleSessionName=_session_name(tenant_id),
            Policy=policy,
            DurationSeconds=self._duration,
        )
        credentials: dict[str, Any] = response["Credentials"]
        return credentials
