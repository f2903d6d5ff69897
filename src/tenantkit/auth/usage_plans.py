"""API Gateway usage plans per tier, with one API key per tenant.

API Gateway throttles and meters per API key inside a usage plan. A region holds at most
300 usage plans, so there is one plan per *tier*, never one per tenant; each tenant gets
its own API key, attached to its tier's plan, so every tenant has its own throttle bucket
at its tier's rate. The key is created when the tenant is founded and moved to another
plan when the tenant changes tier; its value is kept on the tenant record (``apiKey``),
where the authorizer reads it with the tenant's status and returns it as
``usageIdentifierKey`` (the REST API's ``ApiKeySourceType`` must be ``AUTHORIZER``).
Callers never see or send the key: it identifies a bucket, it does not authenticate.

A region holds at most 10,000 API keys (a soft quota). Past it, give tenants of a tier
one shared key per tier (the tier's bucket is then shared, so add per-tenant throttling
in the app), or ask AWS for a higher quota; see docs/lifecycle.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tenantkit._shared.clients import ClientOptions
from tenantkit.auth.records import validate_tier
from tenantkit.errors import ConfigurationError, InvalidInputError

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config

    from tenantkit._shared.dynamodb.control_plane import ControlPlaneStore
    from tenantkit.auth.records import ControlKeys

__all__ = ["UsageKey", "UsagePlans", "record_usage_key"]

#: The tag naming the tenant a key belongs to, to find it again.
_TENANT_TAG = "tenantkit:tenant"


@dataclass(frozen=True, slots=True)
class UsageKey:
    """A tenant's API key: its id (to manage it) and value (``usageIdentifierKey``)."""

    key_id: str
    value: str


class UsagePlans:
    """The usage plan of each tier (``{"basic": "<usagePlanId>", ...}``), and the keys in them.

    The API Gateway client comes from ``client``, or is built on first use from
    ``boto3_session`` and ``boto_config``.
    """

    def __init__(
        self,
        plans: Mapping[str, str],
        *,
        client: Any = None,
        boto3_session: boto3.session.Session | None = None,
        boto_config: Config | None = None,
    ) -> None:
        if not plans or not all(isinstance(plan, str) and plan for plan in plans.values()):
            raise ConfigurationError("usage plans need a usage plan id for at least one tier")
        for tier in plans:
            try:
                validate_tier(tier)
            except InvalidInputError as error:
                raise ConfigurationError(str(error)) from None
        self.plans = dict(plans)
        self._client = ClientOptions(
            "apigateway", client=client, boto3_session=boto3_session, boto_config=boto_config
        )

    def check_tier(self, tier: str) -> None:
        """Refuse a tier that has no usage plan (400)."""
        if tier not in self.plans:
            raise InvalidInputError(f"unknown tier {tier!r}; tiers are {sorted(self.plans)}")

    def create_key(self, tenant_id: str, tier: str) -> UsageKey:
        """The tenant's API key, attached to ``tier``'s plan (or neither).

        A key that a killed run created but never recorded on the tenant is found (by
        :meth:`find_key`) and reused, so reruns never spend more of the region's keys.
        """
        self.check_tier(tier)
        found = self.find_key(tenant_id)
        if found is not None:
            self.attach(found.key_id, tier)
            return found
        client = self._client.get()
        created = client.create_api_key(
            name=_key_name(tenant_id),
            description=f"tenantkit usage key of tenant {tenant_id}",
            enabled=True,
            tags={_TENANT_TAG: tenant_id},
        )
        try:
            self.attach(created["id"], tier)
        except Exception:
            client.delete_api_key(apiKey=created["id"])
            raise
        return UsageKey(created["id"], created["value"])

    def find_key(self, tenant_id: str) -> UsageKey | None:
        """The tenant's existing API key: exactly its name and its tenant tag.

        API Gateway's ``nameQuery`` matches a prefix (``tenant-texas`` finds
        ``tenant-texas2``'s key too), so both are compared here.
        """
        client = self._client.get()
        name = _key_name(tenant_id)
        request: dict[str, Any] = {"nameQuery": name, "includeValues": True, "limit": 500}
        while True:
            page = client.get_api_keys(**request)
            for key in page.get("items", ()):
                tags = key.get("tags") or {}
                if key.get("name") == name and tags.get(_TENANT_TAG) == tenant_id:
                    return UsageKey(key["id"], key["value"])
            if not page.get("position"):
                return None
            request["position"] = page["position"]

    def attach(self, key_id: str, tier: str) -> None:
        """Put the key in ``tier``'s plan and in no other tier's plan.

        Idempotent, so a tier change that failed halfway is finished by running it again.
        The key leaves its old plan first: API Gateway refuses one key in two plans of the
        same API stage.
        """
        self.check_tier(tier)
        client = self._client.get()
        target = self.plans[tier]
        ours = set(self.plans.values())
        current: set[str] = set()
        request: dict[str, Any] = {"keyId": key_id, "limit": 500}
        while True:
            page = client.get_usage_plans(**request)
            current.update(plan["id"] for plan in page.get("items", ()) if plan["id"] in ours)
            if not page.get("position"):
                break
            request["position"] = page["position"]
        for plan in sorted(current - {target}):
            client.delete_usage_plan_key(usagePlanId=plan, keyId=key_id)
        if target not in current:
            client.create_usage_plan_key(usagePlanId=target, keyId=key_id, keyType="API_KEY")

    def delete_key(self, key_id: str) -> None:
        """Delete the tenant's key (it leaves every plan with it)."""
        self._client.get().delete_api_key(apiKey=key_id)


def _key_name(tenant_id: str) -> str:
    return f"tenant-{tenant_id}"


def record_usage_key(
    store: ControlPlaneStore, keys: ControlKeys, tenant_id: str, key: UsageKey
) -> None:
    """Keep the key on the tenant's record, where the authorizer reads it."""
    from boto3.dynamodb.conditions import Attr

    store.update(
        keys.tenant(tenant_id),
        set={"apiKeyId": key.key_id, "apiKey": key.value},
        condition=Attr(keys.partition_key).exists(),
    )
