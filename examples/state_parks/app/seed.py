"""Load ``seed.json`` into the table: users, tenants and their tiers, memberships, parks.

``tenantkit local --seed examples/state_parks/seed.json`` calls ``load(seed, context)``
once its backend exists (the file names it as ``"loader": "seed:load"``); tests call it
the same way. Seed data describes a *state*, not a history of admin actions: alice is
texas's admin *and* member, and colorado has no admin at all, neither of which the
directory's rules (nobody sets their own roles) can produce from API calls. So the seed
uses ``UserDirectory.provision_membership``, the directory's trusted provisioning call,
which no request handler ever uses. Tiers are an operator's decision
(``TenantAdmin.set_tier`` as an ``Operator``). Parks go through ``TenantTable`` pinned to
each state, with the enumeration index on, as the API's own writes carry it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import config
from park_records import park_item

from tenantkit.auth import Operator, TenantAdmin
from tenantkit.context import validate_tenant_id
from tenantkit.dynamo import TenantTable
from tenantkit.dynamo.enumeration import Enumeration
from tenantkit.errors import ConflictError

SEEDER = Operator("state-parks seed")


def _check(seed: Mapping[str, Any]) -> None:
    tenants = {validate_tenant_id(t) for t in seed["tenants"]}
    if not set(seed.get("tiers", {})) <= tenants:
        raise ValueError("seed tiers: a tier for a tenant the seed does not list")
    for user in seed["users"]:
        for tenant, roles in user["memberships"].items():
            if tenant not in tenants or not set(roles) <= config.ROLES:
                raise ValueError(f"seed user {user['id']}: unknown tenant or role in {tenant}")
        if user.get("active") and user["active"] not in user["memberships"]:
            raise ValueError(f"seed user {user['id']}: active tenant is not a membership")


def load(seed: Mapping[str, Any], context: object = None) -> None:
    """Write the seed; safe to run again (the same memberships are provisioned again)."""
    _check(seed)
    directory = config.user_directory()
    for user in seed["users"]:
        with contextlib.suppress(ConflictError):  # seeded before
            directory.create_user(
                user["id"],
                email=user.get("email"),
                given_name=user.get("firstName"),
                family_name=user.get("lastName"),
            )
        for tenant, roles in user["memberships"].items():
            directory.provision_membership(tenant, user["id"], roles)
        if user.get("active"):
            directory.set_active_tenant(user_id=user["id"], tenant_id=user["active"])

    client = config.aws_client("dynamodb")
    table_name = config.setting("TABLE_NAME")
    admin = TenantAdmin(table_name, client=client)
    for tenant, tier in seed.get("tiers", {}).items():
        admin.set_tier(tenant, tier, actor=SEEDER)
    for tenant, parks in seed.get("parks", {}).items():
        table = TenantTable(
            table_name,
            client=client,
            tenant=validate_tenant_id(tenant),
            enumeration=Enumeration(),
        )
        for park in parks:
            table.put_item(park_item(park["id"], park["name"], park.get("status", "park-opened")))
