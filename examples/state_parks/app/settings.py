"""The users API (control plane): a caller's tenants, roles and active tenant.

These routes are open to every verified caller, including one with no active tenant
yet, so they do not use ``@tenant_handler``. The caller is the ``userId`` the authorizer
put in the request context; a user id in a body names only the *target* of an admin's
change, which ``UserDirectory`` allows only to an admin of that tenant. Nobody joins a
tenant on their own: ``POST /customers`` creates a new tenant, or is refused: 403 if the
id is taken (in any letter case), 429 once the caller has founded
``config.MAX_FOUNDED_TENANTS_PER_USER`` tenants.
"""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING, Any

import config
import web
from aws_lambda_powertools.event_handler import Response
from models import ActiveTenant, NewCustomer, NewMember, RoleChange

from tenantkit.errors import ConflictError, ForbiddenError

if TYPE_CHECKING:
    from tenantkit.auth import UserRecord

app = web.resolver(tenant_scoped=False)


def caller() -> UserRecord:
    """The caller's record, created from the token's claims on their first call."""
    event = app.current_event.raw_event
    users = config.user_directory()
    user_id = web.verified_caller(event)
    record = users.get_user(user_id)
    if record is None:
        with suppress(ConflictError):  # a concurrent first call may have created it
            users.create_user(
                user_id,
                email=web.authorizer_value(event, "email"),
                given_name=web.authorizer_value(event, "firstName"),
                family_name=web.authorizer_value(event, "lastName"),
            )
        record = users.get_user(user_id)
        if record is None:
            raise RuntimeError(f"user record {user_id!r} missing right after its creation")
    return record


@app.get("/settings")
def get_settings() -> dict[str, Any]:
    user = caller()
    active = user.active_tenant
    roles = sorted(user.memberships.get(active, ())) if active else []
    return {"active": {"customerId": active, "roles": roles}}


@app.put("/settings")
def put_settings(body: ActiveTenant) -> Response[str]:
    user = caller()
    config.user_directory().set_active_tenant(user_id=user.user_id, tenant_id=body.customerId)
    return web.no_content()


@app.get("/customers")
def list_customers() -> dict[str, Any]:
    user = caller()
    items = [
        {"id": tenant, "roles": sorted(roles)} for tenant, roles in sorted(user.memberships.items())
    ]
    return {"items": items}


@app.post("/customers")
def create_customer(body: NewCustomer) -> Response[str]:
    user = caller()
    users = config.user_directory()
    try:
        users.create_tenant(body.id, owner_id=user.user_id)
    except ConflictError as taken:
        # Joining an existing tenant takes an invitation from one of its admins. The
        # message says whether the id exists or differs from one only in letter case.
        raise ForbiddenError(str(taken)) from None
    if body.makeActive:
        users.set_active_tenant(user_id=user.user_id, tenant_id=body.id)
    return web.created(body.id)


@app.post("/customers/<customerId>/members")
def add_member(customerId: str, body: NewMember) -> Response[str]:
    actor = caller()
    config.user_directory().add_member(customerId, body.userId, body.roles, actor_id=actor.user_id)
    return web.no_content()


@app.put("/customers/<customerId>/roles")
def set_roles(customerId: str, body: RoleChange) -> Response[str]:
    actor = caller()
    target = body.userId or actor.user_id
    config.user_directory().set_roles(customerId, target, body.roles, actor_id=actor.user_id)
    return web.no_content()


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return app.resolve(event, context)  # type: ignore[arg-type]
