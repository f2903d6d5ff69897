"""LambdaAuthorizer on the real AWS sample events, end to end with moto in-process."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tenantkit.auth import SecretsManagerKey
from tenantkit.auth.authorizer import LambdaAuthorizer, authorization_value
from tenantkit.auth.directory import UserDirectory
from tenantkit.auth.rolemap import RoleMap
from tenantkit.auth.verifier import TokenVerifier
from tenantkit.context import TenantContext, current_tenant
from tenantkit.errors import KeySourceError, UnauthorizedError
from tenantkit.handlers import tenant_handler
from tests._shared.model import policy_allows
from tests.conftest import load_event

from .conftest import AUDIENCE, ISSUER, ROLE_MAP, TABLE

PREFIX = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test"


@pytest.fixture
def users(directory: UserDirectory) -> UserDirectory:
    """alice: admin of texas (active), member of ohio. bob: no tenant. carol: no record."""
    directory.create_user("alice", email="alice@example.com", given_name="Alice")
    directory.create_user("bob", family_name="Builder")
    directory.create_user("dave")
    directory.create_tenant("texas", owner_id="alice")
    directory.create_tenant("ohio", owner_id="dave")
    directory.add_member("ohio", "alice", ["visitor"], actor_id="dave")
    return directory


@pytest.fixture
def authorizer(
    hs_verifier: TokenVerifier, users: UserDirectory, role_map: RoleMap
) -> LambdaAuthorizer:
    return LambdaAuthorizer(verifier=hs_verifier, users=users, roles=role_map)


def request_event(token: str | None, path: str = "/parks", method: str = "GET") -> dict[str, Any]:
    event = load_event("apiGatewayAuthorizerRequestEvent.json")
    event["methodArn"] = f"{PREFIX}/{method}{path}"
    event["path"] = path
    if token is not None:
        event["headers"]["Authorization"] = token
    return event


def token_event(token: str, path: str = "/parks") -> dict[str, Any]:
    event = load_event("apiGatewayAuthorizerTokenEvent.json")
    event["authorizationToken"] = token
    event["methodArn"] = f"{PREFIX}/GET{path}"
    return event


def v2_event(token: str | None, route_key: str = "GET /parks") -> dict[str, Any]:
    event = load_event("apiGatewayAuthorizerV2Event.json")
    event["routeKey"] = route_key
    event["requestContext"]["routeKey"] = route_key
    event["headers"].pop("Authorization")
    if token is None:
        event["identitySource"] = []
    else:
        event["headers"]["authorization"] = token
        event["identitySource"] = [token]
    method, _, path = route_key.partition(" ")
    event["routeArn"] = f"{PREFIX}/{method}{path}"
    return event


def allows(response: dict[str, Any], arn: str) -> bool:
    """API Gateway's evaluation of the response's policy, by the tests' own IAM model."""
    return policy_allows(response["policyDocument"], arn)


def test_rest_request_event(authorizer: LambdaAuthorizer, hs_token: Callable[..., str]) -> None:
    response = authorizer(request_event(f"Bearer {hs_token()}"), None)
    assert response["principalId"] == "alice"
    assert response["context"] == {
        "userId": "alice",
        "tenantId": "texas",
        "roles": '["admin"]',
        "email": "alice@example.com",
        "firstName": "Alice",
    }
    assert all(isinstance(v, str | int | float | bool) for v in response["context"].values())
    # Lambda serialises the answer as JSON: it must be plain, JSON-serialisable data.
    assert json.loads(json.dumps(response)) == response
    # The policy covers every route alice may call, not only the invoked one.
    assert allows(response, f"{PREFIX}/GET/parks")
    assert allows(response, f"{PREFIX}/POST/parks/p1/webhooks")
    assert allows(response, f"{PREFIX}/GET/settings")
    assert not allows(response, f"{PREFIX}/GET/other")


def test_rest_token_event(authorizer: LambdaAuthorizer, hs_token: Callable[..., str]) -> None:
    response = authorizer(token_event(f"Bearer {hs_token()}"), None)
    assert response["principalId"] == "alice"
    assert response["context"]["tenantId"] == "texas"


def test_http_api_simple_response(
    authorizer: LambdaAuthorizer, hs_token: Callable[..., str]
) -> None:
    allowed = authorizer(v2_event(f"Bearer {hs_token()}", "POST /parks/{parkId}/webhooks"), None)
    assert allowed["isAuthorized"] is True
    assert allowed["context"]["tenantId"] == "texas"
    unknown = authorizer(v2_event(f"Bearer {hs_token()}", "GET /merchants"), None)
    assert unknown["isAuthorized"] is False


def test_http_api_iam_response(
    hs_verifier: TokenVerifier,
    users: UserDirectory,
    role_map: RoleMap,
    hs_token: Callable[..., str],
) -> None:
    iam = LambdaAuthorizer(
        verifier=hs_verifier, users=users, roles=role_map, simple_responses=False
    )
    response = iam(v2_event(f"Bearer {hs_token()}"), None)
    assert response["principalId"] == "alice"
    assert allows(response, f"{PREFIX}/GET/parks")
    refused = iam(v2_event("Bearer nope"), None)
    assert not allows(refused, f"{PREFIX}/GET/parks")


@pytest.mark.parametrize("kind", ["request", "token"])
def test_bad_or_missing_token_is_401(authorizer: LambdaAuthorizer, kind: str) -> None:
    for value in ("Bearer not.a.token", "Basic abc", None):
        event = request_event(value) if kind == "request" else token_event(value or "")
        with pytest.raises(Exception, match=r"^Unauthorized$"):
            authorizer(event, None)


def test_http_api_bad_token_is_not_authorized(authorizer: LambdaAuthorizer) -> None:
    assert authorizer(v2_event("Bearer not.a.token"), None) == {"isAuthorized": False}
    assert authorizer(v2_event(None), None) == {"isAuthorized": False}


def test_sample_v2_event_identity_source_is_refused(authorizer: LambdaAuthorizer) -> None:
    event = load_event("apiGatewayAuthorizerV2Event.json")
    assert authorizer(event, None) == {"isAuthorized": False}
    event["headers"].pop("Authorization")
    with pytest.raises(UnauthorizedError, match="more than one"):
        authorization_value(event)  # identitySource ["user1", "123"]


def test_attack_duplicate_authorization_values(
    authorizer: LambdaAuthorizer, hs_token: Callable[..., str]
) -> None:
    good = f"Bearer {hs_token()}"
    other = f"Bearer {hs_token(sub='mallory')}"
    multi = request_event(good)
    multi["multiValueHeaders"]["Authorization"] = [good, other]
    both_cases = request_event(good)
    both_cases["headers"]["authorization"] = other
    disagree = request_event(good)
    disagree["multiValueHeaders"]["authorization"] = [other]
    for event in (multi, both_cases, disagree):
        with pytest.raises(Exception, match=r"^Unauthorized$"):
            authorizer(event, None)
    joined = v2_event(f"{good},{other}")
    assert authorizer(joined, None) == {"isAuthorized": False}
    two_sources = v2_event(None)
    two_sources["identitySource"] = [good, other]
    assert authorizer(two_sources, None) == {"isAuthorized": False}


def test_single_multi_value_authorization_is_accepted(
    authorizer: LambdaAuthorizer, hs_token: Callable[..., str]
) -> None:
    event = request_event(None)
    event["multiValueHeaders"]["Authorization"] = [f"Bearer {hs_token()}"]
    assert authorizer(event, None)["principalId"] == "alice"


@pytest.mark.parametrize("user", ["bob", "carol"])
def test_user_without_tenant_gets_authenticated_routes_only(
    authorizer: LambdaAuthorizer, hs_token: Callable[..., str], user: str
) -> None:
    response = authorizer(request_event(f"Bearer {hs_token(sub=user)}"), None)
    assert response["principalId"] == user
    assert "tenantId" not in response["context"]
    assert "roles" not in response["context"]
    assert allows(response, f"{PREFIX}/GET/settings")
    assert not allows(response, f"{PREFIX}/GET/parks")
    v2 = authorizer(v2_event(f"Bearer {hs_token(sub=user)}", "GET /settings"), None)
    assert v2["isAuthorized"] is True
    assert "tenantId" not in v2["context"]


def test_active_tenant_that_is_not_a_membership_gets_no_tenant(
    authorizer: LambdaAuthorizer, hs_token: Callable[..., str], dynamodb: Any
) -> None:
    dynamodb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "_user#bob"}, "sk": {"S": "_user"}},
        UpdateExpression="SET activeTenant = :t",
        ExpressionAttributeValues={":t": {"S": "texas"}},
    )
    response = authorizer(request_event(f"Bearer {hs_token(sub='bob')}"), None)
    assert "tenantId" not in response["context"]
    assert not allows(response, f"{PREFIX}/GET/parks")


def test_attack_tenant_from_token_headers_query_or_body_is_ignored(
    authorizer: LambdaAuthorizer, hs_token: Callable[..., str]
) -> None:
    token = hs_token(tenantId="ohio", tenant="ohio", **{"custom:tenant": "ohio"})
    event = request_event(f"Bearer {token}")
    event["headers"]["X-Tenant-Id"] = "ohio"
    event["queryStringParameters"] = {"tenantId": "ohio"}
    event["body"] = json.dumps({"tenantId": "ohio"})
    response = authorizer(event, None)
    assert response["context"]["tenantId"] == "texas"
    assert response["context"]["roles"] == '["admin"]'


def test_switching_tenant_changes_the_context(
    authorizer: LambdaAuthorizer, users: UserDirectory, hs_token: Callable[..., str]
) -> None:
    users.set_active_tenant(user_id="alice", tenant_id="ohio")
    response = authorizer(request_event(f"Bearer {hs_token()}"), None)
    assert response["context"]["tenantId"] == "ohio"
    assert response["context"]["roles"] == '["visitor"]'
    assert not allows(response, f"{PREFIX}/POST/parks")  # visitor's explicit deny


def test_one_get_item_on_first_sight_of_a_user_then_none_within_the_ttl(
    authorizer: LambdaAuthorizer, hs_token: Callable[..., str], dynamodb_requests: list[str]
) -> None:
    token = f"Bearer {hs_token()}"
    authorizer(request_event(token), None)
    assert dynamodb_requests == ["GetItem"]
    authorizer(request_event(token, "/parks/p1"), None)  # cached token and user record
    authorizer(v2_event(token), None)
    authorizer(request_event(f"Bearer {hs_token(n=2)}"), None)  # a new token, same user
    assert dynamodb_requests == ["GetItem"]


def test_bad_token_makes_no_dynamodb_request(
    authorizer: LambdaAuthorizer, dynamodb_requests: list[str]
) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer(request_event("Bearer x.y.z"), None)
    assert dynamodb_requests == []


def test_every_decision_is_one_log_line_without_the_token(
    authorizer: LambdaAuthorizer, hs_token: Callable[..., str], caplog: pytest.LogCaptureFixture
) -> None:
    token = hs_token()
    bad = hs_token(key="another-secret-that-is-also-32-bytes-long")
    with caplog.at_level(logging.INFO, logger="tenantkit.auth.decisions"):
        authorizer(request_event(f"Bearer {token}"), None)
        authorizer(request_event(f"Bearer {token}", "/other"), None)
        with pytest.raises(Exception, match=r"^Unauthorized$"):
            authorizer(request_event(f"Bearer {bad}"), None)
    lines = [json.loads(r.getMessage()) for r in caplog.records]
    assert [(line["outcome"], line["user"], line["tenant"]) for line in lines] == [
        ("allow", "alice", "texas"),
        ("deny", "alice", "texas"),
        ("unauthorized", None, None),
    ]
    assert all(line["reason"] for line in lines)
    assert token not in caplog.text
    assert bad not in caplog.text
    assert token.split(".")[2] not in caplog.text


def test_dynamodb_failure_fails_closed(
    authorizer: LambdaAuthorizer, hs_token: Callable[..., str], dynamodb: Any
) -> None:
    dynamodb.delete_table(TableName=TABLE)
    # Re-raised as is: API Gateway answers 500 rather than caching a deny.
    with pytest.raises(ClientError, match="ResourceNotFound"):
        authorizer(request_event(f"Bearer {hs_token()}"), None)


def test_unreachable_signing_secret_fails_closed_as_a_server_error(
    hs_token: Callable[..., str], dynamodb: Any, caplog: pytest.LogCaptureFixture
) -> None:
    class Down:
        def get_secret_value(self, SecretId: str) -> dict[str, Any]:
            raise OSError("down")

    authorizer = LambdaAuthorizer(
        verifier=TokenVerifier(
            algorithm="HS256",
            keys=SecretsManagerKey("jwt", client=Down()),  # type: ignore[arg-type]
            issuer=ISSUER,
            audience=AUDIENCE,
        ),
        users=UserDirectory(TABLE, client=dynamodb),
        roles=RoleMap.from_dict({"roles": ["admin"], "routes": {"GET /parks": ["admin"]}}),
    )
    # Not Exception("Unauthorized"): the caller's token is not at fault, API Gateway says 500.
    with pytest.raises(KeySourceError):
        authorizer(request_event(f"Bearer {hs_token()}"), None)
    assert '"outcome":"error"' in caplog.text


def test_non_mapping_event_is_unauthorized(authorizer: LambdaAuthorizer) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer("not an event", None)  # type: ignore[arg-type]


def _proxy_event_with(context: dict[str, Any], principal_id: str) -> dict[str, Any]:
    """What API Gateway hands the backend after a REST authorizer allowed the call."""
    event = load_event("apiGatewayProxyEvent.json")
    authorizer = {key: str(value) for key, value in context.items()}
    authorizer["principalId"] = principal_id
    event["requestContext"]["authorizer"] = authorizer
    return event


def test_authorizer_context_round_trips_through_tenant_handler(
    authorizer: LambdaAuthorizer, hs_token: Callable[..., str]
) -> None:
    response = authorizer(request_event(f"Bearer {hs_token()}"), None)
    seen: list[TenantContext] = []

    @tenant_handler
    def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
        seen.append(current_tenant())
        return {"statusCode": 200}

    event = _proxy_event_with(response["context"], response["principalId"])
    assert handler(event, None) == {"statusCode": 200}
    assert seen == [
        TenantContext(
            tenant_id="texas",
            user_id="alice",
            roles=frozenset({"admin"}),
            email="alice@example.com",
            given_name="Alice",
            request_id="id=",
        )
    ]


def test_no_tenant_context_round_trips_as_403(
    authorizer: LambdaAuthorizer, hs_token: Callable[..., str]
) -> None:
    response = authorizer(request_event(f"Bearer {hs_token(sub='bob')}", "/settings"), None)

    @tenant_handler
    def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
        raise AssertionError("must not run without a tenant")

    result = handler(_proxy_event_with(response["context"], response["principalId"]), None)
    assert result["statusCode"] == 403


def test_v2_context_round_trips_through_tenant_handler(
    authorizer: LambdaAuthorizer, hs_token: Callable[..., str]
) -> None:
    response = authorizer(v2_event(f"Bearer {hs_token()}"), None)
    event = load_event("apiGatewayProxyV2Event.json")
    event["requestContext"]["authorizer"] = {"lambda": response["context"]}
    assert TenantContext.from_event(event).tenant_id == "texas"


def test_names_come_from_the_record_or_for_a_new_user_from_the_token(
    authorizer: LambdaAuthorizer, hs_token: Callable[..., str]
) -> None:
    claims = {"email": "x@evil.example", "given_name": "Mallory", "family_name": "M" * 300}
    # A user with a record: the record's names, never the token's.
    alice = authorizer(request_event(f"Bearer {hs_token(**claims)}"), None)["context"]
    assert (alice["email"], alice["firstName"]) == ("alice@example.com", "Alice")
    assert "lastName" not in alice
    # A verified user without a record: the token's names, over-long values left out.
    new = authorizer(request_event(f"Bearer {hs_token(sub='newcomer', **claims)}"), None)
    assert new["context"] == {
        "userId": "newcomer",
        "email": "x@evil.example",
        "firstName": "Mallory",
    }


def _decisions(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [
        (line["outcome"], line["reason"])
        for line in (json.loads(r.getMessage()) for r in caplog.records)
    ]


@pytest.mark.parametrize("arn", ["not an arn", f"{PREFIX}\ud800/GET/parks", None])
def test_an_unusable_arn_is_unauthorized(
    hs_verifier: TokenVerifier,
    users: UserDirectory,
    role_map: RoleMap,
    hs_token: Callable[..., str],
    caplog: pytest.LogCaptureFixture,
    arn: Any,
) -> None:
    rest = request_event(f"Bearer {hs_token()}")
    rest["methodArn"] = arn
    authorizer = LambdaAuthorizer(verifier=hs_verifier, users=users, roles=role_map)
    with caplog.at_level(logging.INFO, logger="tenantkit.auth.decisions"):
        with pytest.raises(Exception, match=r"^Unauthorized$"):
            authorizer(rest, None)
        iam = LambdaAuthorizer(
            verifier=hs_verifier, users=users, roles=role_map, simple_responses=False
        )
        v2 = v2_event(f"Bearer {hs_token()}")
        v2["routeArn"] = arn
        with pytest.raises(Exception, match=r"^Unauthorized$"):
            iam(v2, None)  # no ARN to deny on, so no policy either
    assert _decisions(caplog) == [("unauthorized", "the event has no usable ARN")] * 2


def test_an_unexpected_value_error_from_the_user_source_is_a_logged_500(
    hs_verifier: TokenVerifier,
    role_map: RoleMap,
    hs_token: Callable[..., str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken:
        def get_user(self, user_id: str) -> None:
            raise ValueError("a bug in the user source, not the caller's fault")

    authorizer = LambdaAuthorizer(verifier=hs_verifier, users=Broken(), roles=role_map)
    # Re-raised, so API Gateway answers 500 instead of caching a 401 for a good token.
    with (
        caplog.at_level(logging.INFO, logger="tenantkit.auth.decisions"),
        pytest.raises(ValueError, match="a bug in the user source"),
    ):
        authorizer(request_event(f"Bearer {hs_token()}"), None)
    assert _decisions(caplog) == [("error", "user lookup failed: ValueError")]


def test_an_unexpected_value_error_from_the_policy_compiler_is_a_logged_500(
    hs_verifier: TokenVerifier,
    users: UserDirectory,
    role_map: RoleMap,
    hs_token: Callable[..., str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken(RoleMap):
        def policy(self, roles: Any, arn: str) -> dict[str, Any]:
            raise ValueError("a bug in the policy compiler")

    broken = Broken.from_dict(ROLE_MAP)
    authorizer = LambdaAuthorizer(verifier=hs_verifier, users=users, roles=broken)
    with (
        caplog.at_level(logging.INFO, logger="tenantkit.auth.decisions"),
        pytest.raises(ValueError, match="a bug in the policy compiler"),
    ):
        authorizer(request_event(f"Bearer {hs_token()}"), None)
    assert _decisions(caplog) == [("error", "policy failed: ValueError")]


def test_an_unusable_subject_is_still_unauthorized(
    authorizer: LambdaAuthorizer, hs_token: Callable[..., str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="tenantkit.auth.decisions"):
        # Each passes the verifier (a short string) but is no user id: the authorizer reads
        # the directory's typed 400 as an unusable subject.
        for subject in ("a\ud800", "\U0001f600" * 200, "a\nb"):
            with pytest.raises(Exception, match=r"^Unauthorized$"):
                authorizer(request_event(f"Bearer {hs_token(sub=subject)}"), None)
            assert authorizer(v2_event(f"Bearer {hs_token(sub=subject)}"), None) == {
                "isAuthorized": False
            }
    assert _decisions(caplog) == [("unauthorized", "unusable subject")] * 6


def test_importing_the_authorizer_loads_no_write_side_of_the_directory() -> None:
    """The authorizer reads user records; founding, memberships and transactions stay out."""
    probe = (
        "import json, sys\n"
        "import tenantkit.auth.authorizer\n"
        "from tenantkit.auth import UserRecord\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    loaded = set(
        json.loads(
            subprocess.run(
                [sys.executable, "-c", probe], capture_output=True, text=True, check=True
            ).stdout
        )
    )
    assert "tenantkit.auth.records" in loaded
    for name in (
        "tenantkit.auth.directory",
        "tenantkit.auth.founding",
        "tenantkit.auth.memberships",
        "tenantkit._shared.dynamodb.transact",
    ):
        assert name not in loaded
