"""Settings from the environment, and the clients built from them on first use.

Nothing here runs at import time: each factory creates its client the first time a
request needs it and keeps it for the warm container. Every factory imports only the
tenantkit module it needs, so a function loads only what it uses. ``reset()`` drops
them all (tests use it between moto sessions).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tenantkit.errors import ConfigurationError

if TYPE_CHECKING:
    from tenantkit.auth import LambdaAuthorizer, TenantStatusCache, TokenVerifier, UserDirectory
    from tenantkit.dynamo import TenantSessions, TenantTable
    from tenantkit.events import TopicRegistry

ROLE_MAP_PATH = Path(__file__).with_name("roles.json")
ROLES = frozenset({"admin", "member", "visitor"})
ADMIN_ROLE = "admin"
# Every tenant may hold up to 100 webhook topics of the account's shared SNS quota, so
# one user founds at most this many tenants (POST /customers answers 429 past it).
MAX_FOUNDED_TENANTS_PER_USER = 5
PARKS_INDEX = "GSI1"
# Webhooks: at most this many per tenant, and SNS topics for all tenants together.
MAX_WEBHOOKS_PER_TENANT = 100
WEBHOOK_TOPIC_BUDGET = 90_000
# How long a container trusts a tenant's status (active, suspended ...) it has read: a
# suspension reaches every request within this plus the authorizer's result TTL
# (template.yaml's definition: 10 s), and every status announcement within this.
TENANT_STATUS_TTL_SECONDS = 5.0
# How long the authorizer's container keeps a user's record (active tenant, roles): a
# tenant switch or a role change shows within this plus the authorizer's result TTL.
USER_RECORD_TTL_SECONDS = 5.0


def setting(name: str) -> str:
    """A required environment variable, set by template.yaml."""
    value = os.environ.get(name)
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set; see template.yaml")
    return value


def local_webhooks_allowed() -> bool:
    """Only `tenantkit local` sets AllowLocalWebhooks=true; every other value means no."""
    return os.environ.get("ALLOW_LOCAL_WEBHOOKS", "false") == "true"


@cache
def aws_client(service: str) -> Any:
    """One boto3 client per service; honours AWS_ENDPOINT_URL for local runs."""
    import boto3

    return boto3.client(service)  # type: ignore[call-overload]


@cache
def tenant_sessions() -> TenantSessions:
    """Credentials confined to one tenant's keys (IAM's wall behind ``TenantTable``'s).

    The webhooks function is tenant-isolated, so its environment only ever holds its
    own tenant's session: one ``AssumeRole`` per environment and hour.
    """
    from tenantkit.dynamo import TenantSessions

    return TenantSessions(setting("TENANT_DATA_ROLE_ARN"), tables=[setting("TABLE_ARN")])


def tenant_table() -> TenantTable:
    """The current tenant's table, through its ``TenantSessions`` client.

    Built per call (it is cheap): the session's client is the cached part, and it is
    replaced before its credentials expire.
    """
    from tenantkit import current_tenant
    from tenantkit.dynamo import TenantTable

    tenant_id = current_tenant().tenant_id
    return TenantTable(
        setting("TABLE_NAME"),
        indexes={PARKS_INDEX: "GSI1PK"},
        client=tenant_sessions().client("dynamodb", tenant_id),
        tenant=tenant_id,
    )


@cache
def tenant_statuses() -> TenantStatusCache:
    """Tenant statuses, tiers and placements, cached per container for a few seconds."""
    from tenantkit.auth import TenantStatusCache

    return TenantStatusCache(
        setting("TABLE_NAME"), client=aws_client("dynamodb"), ttl=TENANT_STATUS_TTL_SECONDS
    )


@cache
def user_directory() -> UserDirectory:
    from tenantkit.auth import UserDirectory

    return UserDirectory(
        setting("TABLE_NAME"),
        client=aws_client("dynamodb"),
        admin_role=ADMIN_ROLE,
        known_roles=ROLES,
        max_founded_tenants_per_user=MAX_FOUNDED_TENANTS_PER_USER,
    )


def resolve_webhook_host(host: str) -> list[str]:
    """Every address of a webhook's host name, from the system resolver, so a name that
    points inside (10.x, 169.254.169.254) is refused at subscribe time. The tests put a
    table in its place: no test performs real DNS."""
    from tenantkit.events import system_resolver

    return system_resolver(host)


def topic_registry() -> TopicRegistry:
    return _topic_registry(local_webhooks_allowed())


@cache
def _topic_registry(allow_local: bool) -> TopicRegistry:
    from tenantkit.events import EndpointPolicy, TopicRegistry

    policy = EndpointPolicy(
        allow_http=allow_local, allow_loopback=allow_local, resolver=resolve_webhook_host
    )
    return TopicRegistry(
        setting("TABLE_NAME"),
        dynamodb_client=aws_client("dynamodb"),
        sns_client=aws_client("sns"),
        topic_prefix=setting("TOPIC_PREFIX"),
        endpoint_policy=policy,
        admin_roles=(ADMIN_ROLE,),
        max_subscriptions_per_tenant=MAX_WEBHOOKS_PER_TENANT,
        topic_budget=WEBHOOK_TOPIC_BUDGET,
    )


@cache
def token_verifier() -> TokenVerifier:
    from tenantkit.auth import SecretsManagerKey, TokenVerifier

    return TokenVerifier(
        algorithm="HS256",
        keys=SecretsManagerKey(
            setting("JWT_SECRET_ID"), json_key="signature", client=aws_client("secretsmanager")
        ),
        issuer=setting("JWT_ISSUER"),
        audience=setting("JWT_AUDIENCE"),
    )


@cache
def authorizer() -> LambdaAuthorizer:
    from tenantkit.auth import LambdaAuthorizer, RoleMap

    return LambdaAuthorizer(
        verifier=token_verifier(),
        users=user_directory(),
        roles=RoleMap.from_file(ROLE_MAP_PATH),
        tenants=tenant_statuses(),
        user_ttl=USER_RECORD_TTL_SECONDS,
    )


def reset() -> None:
    """Forget every client and secret (tests call this between moto sessions)."""
    for factory in (
        aws_client,
        tenant_sessions,
        tenant_statuses,
        user_directory,
        _topic_registry,
        token_verifier,
        authorizer,
    ):
        factory.cache_clear()
