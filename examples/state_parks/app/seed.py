"""Load ``seed.json`` into the table: users, tenants, memberships and parks.

``tenantkit local --seed examples/state_parks/seed.json`` calls ``load(seed, context)``
once its backend exists (the file names it as ``"loader": "seed:load"``); tests call it
the same way. Seed data describes a *state*, not a history of admin actions: alice is
texas's admin *and* member, and colorado has no admin at all, neither of which the
directory's rules (nobody sets their own roles) can produce from scratch. So memberships
are written in ``UserDirectory``'s documented item layout, then read back through
``UserDirectory`` to prove the authorizer will see them. Parks go through ``TenantTable``
pinned to each state.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import config
from parks import park_item

from tenantkit.auth.directory import tenant_key, user_key
from tenantkit.context import validate_tenant_id
from tenantkit.dynamo import TenantTable


def _user_item(user: Mapping[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": {"S": user_key(user["id"])},
        "sk": {"S": "_user"},
        "userId": {"S": user["id"]},
        "memberships": {
            "M": {tenant: {"SS": sorted(roles)} for tenant, roles in user["memberships"].items()}
        },
    }
    names = {"email": "email", "givenName": "firstName", "familyName": "lastName"}
    for attribute, key in names.items():
        if user.get(key):
            item[attribute] = {"S": user[key]}
    if user.get("active"):
        item["activeTenant"] = {"S": user["active"]}
    return item


def _tenant_item(tenant: str, users: list[Mapping[str, Any]]) -> dict[str, Any]:
    members = sorted(u["id"] for u in users if tenant in u["memberships"])
    admins = sorted(u["id"] for u in users if config.ADMIN_ROLE in u["memberships"].get(tenant, ()))
    item: dict[str, Any] = {
        "pk": {"S": tenant_key(tenant)},
        "sk": {"S": "_tenant"},
        "tenantId": {"S": tenant},
        "createdBy": {"S": "seed"},
        "createdAt": {"N": str(int(time.time()))},
    }
    # DynamoDB refuses empty sets: a tenant without members or admins has no such attribute.
    if members:
        item["members"] = {"SS": members}
    if admins:
        item["admins"] = {"SS": admins}
    return item


def load(seed: Mapping[str, Any], context: object = None) -> None:
    """Write the seed; safe to run again (items are overwritten with the same values)."""
    tenants = [validate_tenant_id(t) for t in seed["tenants"]]
    users = list(seed["users"])
    for user in users:
        for tenant, roles in user["memberships"].items():
            if tenant not in tenants or not set(roles) <= config.ROLES:
                raise ValueError(f"seed user {user['id']}: unknown tenant or role in {tenant}")
        if user.get("active") and user["active"] not in user["memberships"]:
            raise ValueError(f"seed user {user['id']}: active tenant is not a membership")

    client = config.aws_client("dynamodb")
    table_name = config.setting("TABLE_NAME")
    for tenant in tenants:
        client.put_item(TableName=table_name, Item=_tenant_item(tenant, users))
    for user in users:
        client.put_item(TableName=table_name, Item=_user_item(user))

    directory = config.user_directory()
    for user in users:
        record = directory.get_user(user["id"])
        expected = {t: frozenset(r) for t, r in user["memberships"].items()}
        if record is None or dict(record.memberships) != expected:
            raise RuntimeError("UserDirectory does not read the seeded layout; update seed.py")

    for tenant, parks in seed.get("parks", {}).items():
        table = TenantTable(table_name, client=client, tenant=validate_tenant_id(tenant))
        for park in parks:
            table.put_item(park_item(park["id"], park["name"], park.get("status", "park-opened")))
