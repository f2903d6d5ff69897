"""The authorizer against a moto server over HTTP, and what importing auth costs."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import boto3
import pytest

from tenantkit._shared.dynamodb.tenant_status import TenantStatusCache
from tenantkit.auth.authorizer import LambdaAuthorizer
from tenantkit.auth.directory import UserDirectory
from tenantkit.auth.rolemap import RoleMap
from tenantkit.auth.tenant_admin import Operator, TenantAdmin
from tenantkit.auth.verifier import TokenVerifier
from tests.conftest import load_event

from .conftest import ROLE_MAP, TABLE, create_table


@pytest.mark.integration
def test_authorizer_with_a_real_boto3_client_over_http(
    moto_reset: str, hs_verifier: TokenVerifier, hs_token: Callable[..., str]
) -> None:
    client = boto3.client("dynamodb", endpoint_url=moto_reset, region_name="us-east-1")
    create_table(client)
    users = UserDirectory(TABLE, client=client, known_roles=ROLE_MAP["roles"])
    users.create_user("alice")
    users.create_user("bob")
    users.create_tenant("texas", owner_id="alice")
    users.add_member("texas", "bob", ["member"], actor_id="alice")
    users.set_active_tenant(user_id="bob", tenant_id="texas")
    now = [0.0]
    authorizer = LambdaAuthorizer(
        verifier=hs_verifier,
        users=users,
        roles=RoleMap.from_dict(ROLE_MAP),
        tenants=TenantStatusCache(TABLE, client=client, ttl=60, clock=lambda: now[0]),
        user_ttl=60,
        clock=lambda: now[0],
    )
    event = load_event("apiGatewayAuthorizerRequestEvent.json")
    event["headers"]["Authorization"] = f"Bearer {hs_token(sub='bob')}"
    response = authorizer(event, None)
    assert response["context"]["tenantId"] == "texas"
    assert response["context"]["roles"] == '["member"]'
    assert response["context"]["tier"] == "basic"
    TenantAdmin(TABLE, client=client).suspend("texas", actor=Operator("ops"))
    now[0] += 60  # past both caches' TTL
    assert authorizer(event, None)["context"].get("tenantStatus") == "suspended"
    users.remove_member("texas", "bob", actor_id="alice")
    now[0] += 60
    response = authorizer(event, None)
    assert "tenantId" not in response["context"]
    assert "tenantStatus" not in response["context"]


def test_importing_the_authorizer_is_light() -> None:
    code = (
        "import sys, tenantkit.auth\n"
        "assert 'jwt' not in sys.modules and 'boto3' not in sys.modules\n"
        "from tenantkit.auth import UserDirectory\n"
        "assert 'jwt' not in sys.modules and 'boto3' not in sys.modules\n"
        "import tenantkit.auth.authorizer\n"
        "heavy = {'boto3', 'botocore', 'pydantic', 'tenantkit.dynamo', 'tenantkit.events'}\n"
        "assert not heavy & set(sys.modules), heavy & set(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
