"""One API key per tenant in its tier's usage plan (moto's API Gateway), returned by the
authorizer as ``usageIdentifierKey``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from tenantkit._shared.dynamodb.tenant_status import TenantStatusCache
from tenantkit.auth.authorizer import LambdaAuthorizer
from tenantkit.auth.directory import UserDirectory
from tenantkit.auth.rolemap import RoleMap
from tenantkit.auth.tenant_admin import Member, Operator, TenantAdmin
from tenantkit.auth.usage_plans import UsagePlans
from tenantkit.auth.verifier import TokenVerifier
from tenantkit.errors import ConfigurationError, ForbiddenError, InvalidInputError

from .conftest import ROLE_MAP, TABLE

OPS = Operator("billing-job")


ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/parks"


@pytest.fixture
def apigateway(dynamodb: Any) -> Any:  # inside the same mock_aws as the table
    return boto3.client("apigateway", region_name="us-east-1")


@pytest.fixture
def plans(apigateway: Any) -> UsagePlans:
    ids = {tier: apigateway.create_usage_plan(name=tier)["id"] for tier in ("basic", "premium")}
    return UsagePlans(ids, client=apigateway)


@pytest.fixture
def directory_with_plans(dynamodb: Any, plans: UsagePlans) -> UserDirectory:
    directory = UserDirectory(
        TABLE, client=dynamodb, known_roles=ROLE_MAP["roles"], usage_plans=plans
    )
    for user in ("alice", "carol"):
        directory.create_user(user)
    return directory


@pytest.fixture
def admin(dynamodb: Any, plans: UsagePlans) -> TenantAdmin:
    return TenantAdmin(TABLE, client=dynamodb, usage_plans=plans)


def stored(dynamodb: Any, tenant_id: str) -> dict[str, Any]:
    item = dynamodb.get_item(
        TableName=TABLE, Key={"pk": {"S": f"_tenant#{tenant_id}"}, "sk": {"S": "_tenant"}}
    ).get("Item", {})
    return {name: next(iter(value.values())) for name, value in item.items()}


def keys_in(apigateway: Any, plans: UsagePlans, tier: str) -> set[str]:
    items = apigateway.get_usage_plan_keys(usagePlanId=plans.plans[tier])["items"]
    return {item["id"] for item in items}


def test_founding_creates_the_tenants_key_in_its_tiers_plan(
    directory_with_plans: UserDirectory, apigateway: Any, plans: UsagePlans, dynamodb: Any
) -> None:
    directory_with_plans.create_tenant("texas", owner_id="alice")
    directory_with_plans.create_tenant("ohio", owner_id="carol", tier="premium")
    texas, ohio = stored(dynamodb, "texas"), stored(dynamodb, "ohio")
    assert keys_in(apigateway, plans, "basic") == {texas["apiKeyId"]}
    assert keys_in(apigateway, plans, "premium") == {ohio["apiKeyId"]}
    key = apigateway.get_api_key(apiKey=texas["apiKeyId"], includeValue=True)
    assert key["value"] == texas["apiKey"]
    assert key["enabled"]
    assert texas["apiKey"] != ohio["apiKey"]  # one key, one throttle bucket, per tenant


def test_an_unknown_tier_founds_nothing_and_creates_no_key(
    directory_with_plans: UserDirectory, apigateway: Any, dynamodb: Any
) -> None:
    with pytest.raises(InvalidInputError, match="unknown tier"):
        directory_with_plans.create_tenant("texas", owner_id="alice", tier="platinum")
    assert stored(dynamodb, "texas") == {}
    assert apigateway.get_api_keys()["items"] == []


def test_a_taken_id_creates_no_key(directory_with_plans: UserDirectory, apigateway: Any) -> None:
    directory_with_plans.create_tenant("texas", owner_id="alice")
    with pytest.raises(Exception, match="already exists"):
        directory_with_plans.create_tenant("texas", owner_id="carol")
    assert len(apigateway.get_api_keys()["items"]) == 1


def test_a_tier_change_moves_the_key_and_can_be_run_again(
    directory_with_plans: UserDirectory,
    admin: TenantAdmin,
    apigateway: Any,
    plans: UsagePlans,
    dynamodb: Any,
) -> None:
    directory_with_plans.create_tenant("texas", owner_id="alice")
    key_id = stored(dynamodb, "texas")["apiKeyId"]
    assert admin.set_tier("texas", "premium", actor=OPS).tier == "premium"
    assert (keys_in(apigateway, plans, "basic"), keys_in(apigateway, plans, "premium")) == (
        set(),
        {key_id},
    )
    admin.set_tier("texas", "premium", actor=OPS)
    assert keys_in(apigateway, plans, "premium") == {key_id}
    assert stored(dynamodb, "texas")["apiKeyId"] == key_id


def test_a_tier_change_gives_a_key_to_a_tenant_without_one(
    directory: UserDirectory, admin: TenantAdmin, apigateway: Any, plans: UsagePlans
) -> None:
    directory.create_user("alice")
    directory.create_tenant("texas", owner_id="alice")  # founded before usage plans
    status = admin.set_tier("texas", "basic", actor=OPS)
    assert status.usage_key is not None
    assert len(keys_in(apigateway, plans, "basic")) == 1


def test_a_tier_without_a_plan_is_refused_before_any_change(
    directory_with_plans: UserDirectory, admin: TenantAdmin, dynamodb: Any
) -> None:
    directory_with_plans.create_tenant("texas", owner_id="alice")
    with pytest.raises(InvalidInputError, match="unknown tier"):
        admin.set_tier("texas", "platinum", actor=OPS)
    assert stored(dynamodb, "texas")["tier"] == "basic"


def test_attack_a_tenant_admin_cannot_buy_premium(
    directory_with_plans: UserDirectory, admin: TenantAdmin, apigateway: Any, plans: UsagePlans
) -> None:
    directory_with_plans.create_tenant("texas", owner_id="alice")
    with pytest.raises(ForbiddenError):
        admin.set_tier("texas", "premium", actor=Member("alice"))
    assert keys_in(apigateway, plans, "premium") == set()


def test_tombstone_deletes_the_key(
    directory_with_plans: UserDirectory, admin: TenantAdmin, apigateway: Any, dynamodb: Any
) -> None:
    directory_with_plans.create_tenant("texas", owner_id="alice")
    admin.mark_offboarding("texas", actor=OPS)
    admin.tombstone("texas", actor=OPS)
    assert apigateway.get_api_keys()["items"] == []
    assert "apiKey" not in stored(dynamodb, "texas")
    admin.tombstone("texas", actor=OPS)  # again: nothing left to delete


def test_the_authorizer_returns_the_tenants_key_on_rest_apis_only(
    directory_with_plans: UserDirectory,
    dynamodb: Any,
    hs_verifier: TokenVerifier,
    hs_token: Callable[..., str],
    role_map: RoleMap,
) -> None:
    directory_with_plans.create_tenant("texas", owner_id="alice")

    def container() -> LambdaAuthorizer:
        return LambdaAuthorizer(
            verifier=hs_verifier,
            users=directory_with_plans,
            roles=role_map,
            tenants=TenantStatusCache(TABLE, client=dynamodb),
        )

    def rest(user: str) -> dict[str, Any]:
        token = hs_token(sub=user)
        return {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": ARN}

    authorizer = container()
    response = authorizer(rest("alice"))
    assert response["usageIdentifierKey"] == stored(dynamodb, "texas")["apiKey"]
    v2 = {"version": "2.0", "type": "REQUEST", "routeKey": "GET /parks", "routeArn": ARN}
    token = f"Bearer {hs_token()}"
    assert "usageIdentifierKey" not in authorizer({**v2, "headers": {"authorization": token}})
    # A user without a tenant gets no key, nor does a member of a suspended tenant.
    assert "usageIdentifierKey" not in authorizer(rest("carol"))
    directory_with_plans.create_tenant("ohio", owner_id="carol")
    TenantAdmin(TABLE, client=dynamodb).suspend("ohio", actor=OPS)
    suspended = container()(rest("carol"))
    assert suspended["context"]["tenantStatus"] == "suspended"
    assert "usageIdentifierKey" not in suspended


@pytest.mark.parametrize("plans_map", [{}, {"basic": ""}, {"no spaces": "p1"}])
def test_a_bad_plan_map_is_a_configuration_error(plans_map: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        UsagePlans(plans_map)


def test_a_failed_key_creation_leaves_no_key_and_set_tier_repairs_it(
    dynamodb: Any, apigateway: Any, plans: UsagePlans
) -> None:
    def refuse(**kwargs: Any) -> tuple[AWSResponse, dict[str, Any]]:
        """API Gateway refusing the attachment (a ``before-call`` answer: no request sent)."""
        error = {"Code": "NotFoundException", "Message": "no such plan"}
        return AWSResponse("", 404, {}, None), {"Error": error}

    directory = UserDirectory(TABLE, client=dynamodb, usage_plans=plans)
    directory.create_user("alice")
    apigateway.meta.events.register("before-call.apigateway.CreateUsagePlanKey", refuse)
    with pytest.raises(ClientError, match="NotFound"):
        directory.create_tenant("texas", owner_id="alice")
    apigateway.meta.events.unregister("before-call.apigateway.CreateUsagePlanKey", refuse)
    assert apigateway.get_api_keys()["items"] == []  # the half-made key was deleted
    assert directory.get_tenant("texas") is not None  # the founding stands
    repaired = TenantAdmin(TABLE, client=dynamodb, usage_plans=plans).set_tier(
        "texas", "basic", actor=OPS
    )
    assert repaired.usage_key is not None
    assert len(keys_in(apigateway, plans, "basic")) == 1


def test_a_key_left_by_a_killed_run_is_reused_not_duplicated(
    directory: UserDirectory,
    admin: TenantAdmin,
    apigateway: Any,
    plans: UsagePlans,
    dynamodb: Any,
) -> None:
    """A run killed between creating the key and recording it leaves a key on API Gateway
    only; the rerun must take that key, not spend another of the region's 10,000."""
    directory.create_user("alice")
    directory.create_tenant("texas", owner_id="alice")  # no key recorded yet
    directory.create_tenant("texas2", owner_id="alice")  # a name prefix, not the same tenant
    other = plans.create_key("texas2", "basic")
    left = plans.create_key("texas", "basic")  # the killed run got this far
    status = admin.set_tier("texas", "premium", actor=OPS)
    assert status.usage_key == left.value
    assert stored(dynamodb, "texas")["apiKeyId"] == left.key_id
    ids = {key["id"] for key in apigateway.get_api_keys()["items"]}
    assert ids == {left.key_id, other.key_id}
    assert keys_in(apigateway, plans, "premium") == {left.key_id}
    assert keys_in(apigateway, plans, "basic") == {other.key_id}
