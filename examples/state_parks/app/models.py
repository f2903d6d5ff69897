"""Request bodies of the Lambda routes (webhooks, users API), validated with pydantic.

Unknown fields are ignored, never trusted: a ``tenantId`` in a body has no effect.
Powertools validates each body against its route's model (``web.py``), and
``openapi.yaml`` declares the same schemas (tests/examples/test_openapi.py compares them).
The direct routes' bodies are validated by API Gateway, with the models ``api.yaml``
generates.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

TENANT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"

Role = Literal["admin", "member", "visitor"]
# Statuses an admin can set; each one is also a webhook event type.
StatusChange = Literal["park-closed", "park-reopened", "natural-disaster"]
TenantId = Annotated[str, Field(pattern=TENANT_ID_PATTERN)]
# Identity-provider subjects: UUIDs, e-mail addresses, "provider|id" and the like.
UserId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9@._:+|-]{0,127}$")]
Roles = Annotated[list[Role], Field(min_length=1, max_length=3)]


class Body(BaseModel):
    """Base of every request body: extra fields are dropped, strings are not coerced."""

    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)


class NewWebhook(Body):
    eventType: StatusChange  # park-opened is never published, so it cannot be subscribed to
    endpoint: Annotated[str, Field(min_length=1, max_length=2048)]


class ActiveTenant(Body):
    customerId: TenantId


class NewCustomer(Body):
    """The reference's clients send ``roles``; it must be valid roles, as the spec says,
    and is then ignored: the creator always becomes the new tenant's admin."""

    id: TenantId
    makeActive: bool = False
    roles: Roles | None = None


class NewMember(Body):
    userId: UserId
    roles: Roles


class RoleChange(Body):
    roles: Roles
    userId: UserId | None = None
