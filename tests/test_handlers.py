"""tenantkit.handlers: @tenant_handler and @requires_roles."""

from __future__ import annotations

import functools
import inspect
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from unittest.mock import MagicMock

import pytest

from tenantkit import (
    ForbiddenError,
    InvalidTenantIdError,
    NoTenantContextError,
    TenantContext,
    current_tenant,
    current_tenant_or_none,
    requires_roles,
    tenant_handler,
    tenant_scope,
)
from tenantkit.dynamo import TenantTable
from tenantkit.errors import (
    ConfigurationError,
    ConflictError,
    EnvelopeError,
    TenantKitError,
    TenantMismatchError,
    UnauthorizedError,
    UnprocessedItemsError,
)
from tenantkit.events import EnvelopeSigner, SecretKey, put_events
from tenantkit.handlers import error_response, is_api_gateway_event, json_response, refusal
from tests.conftest import load_event


def api_event(authorizer: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    event = load_event("apiGatewayProxyEvent.json")
    event["requestContext"]["authorizer"] = authorizer or {"claims": None, "scopes": None}
    event.update(extra)
    return event


ALICE = {"principalId": "alice", "userId": "alice", "tenantId": "texas", "roles": '["admin"]'}
CAROL = {"principalId": "carol", "userId": "carol", "tenantId": "texas", "roles": '["visitor"]'}


@tenant_handler
def whoami(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    """Return the tenant in scope."""
    ctx = current_tenant()
    return json_response(200, {"tenant": ctx.tenant_id, "user": ctx.user_id})


def body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


def test_sets_tenant_for_the_invocation_only() -> None:
    response = whoami(api_event(ALICE))
    assert body(response) == {"tenant": "texas", "user": "alice"}
    assert current_tenant_or_none() is None


def test_keeps_metadata() -> None:
    assert whoami.__name__ == "whoami"
    assert whoami.__doc__ == "Return the tenant in scope."
    assert whoami.__wrapped__ is not None  # type: ignore[attr-defined]


def test_context_gone_after_exception_and_in_next_invocation() -> None:
    seen: list[str] = []

    @tenant_handler
    def handler(event: dict[str, Any], context: object = None) -> None:
        seen.append(current_tenant().tenant_id)
        raise KeyError("handler bug")

    with pytest.raises(KeyError, match="handler bug"):
        handler(api_event(ALICE))
    assert current_tenant_or_none() is None
    # The next invocation has no tenant of its own: it is refused, not given texas.
    response = whoami(api_event(None))
    assert response["statusCode"] == 401
    assert seen == ["texas"]


def test_missing_user_is_401_and_never_echoes_input() -> None:
    event = api_event(None, headers={"X-Tenant-Id": "<script>texas</script>"})
    response = whoami(event)
    assert response["statusCode"] == 401
    assert "texas" not in response["body"]
    assert body(response) == {"message": "Unauthorized"}


def test_user_without_active_tenant_is_403() -> None:
    response = whoami(api_event({"principalId": "dave", "userId": "dave"}))
    assert response["statusCode"] == 403
    assert "switch" in body(response)["message"]


def test_invalid_tenant_is_403_without_echo() -> None:
    response = whoami(api_event({**ALICE, "tenantId": "evil#tenant"}))
    assert response["statusCode"] == 403
    assert "evil" not in response["body"]


def test_v2_event_refusal() -> None:
    event = load_event("apiGatewayProxyV2Event.json")
    assert whoami(event)["statusCode"] == 401


@pytest.mark.parametrize(
    "user",
    [{"userId": "dave"}, {"principalId": "dave"}, {"userId": "dave", "principalId": "dave"}],
    ids=["userId", "principalId", "both"],
)
def test_either_user_key_makes_a_refusal_403_not_401(user: dict[str, str]) -> None:
    # An HTTP API (v2) Lambda authorizer context carries only the keys its authorizer
    # returned: a userId without a principalId is still an authenticated user.
    for event in (api_event(user), v2_event(user)):
        assert whoami(event)["statusCode"] == 403
        assert refusal(NoTenantContextError("no tenant"), event).status_code == 403
        assert refusal(InvalidTenantIdError("bad"), event).status_code == 403


@pytest.mark.parametrize("user", [{"userId": 7}, {"userId": ["dave"]}, {"principalId": True}])
def test_a_user_id_that_is_no_string_is_nobody_so_401(user: dict[str, Any]) -> None:
    # The same rule as TenantContext (tenantkit.context.caller_id): no caller, no 403.
    event = v2_event({**user, "tenantId": "texas"})
    assert whoami(event)["statusCode"] == 401
    assert refusal(NoTenantContextError("no tenant"), event).status_code == 401


def test_non_api_events_raise_typed_errors() -> None:
    with pytest.raises(NoTenantContextError):
        whoami(load_event("sqsEvent.json"))
    with pytest.raises(NoTenantContextError):
        whoami(load_event("eventBridgeEvent.json"))
    bad = {"requestContext": {"authorizer": {**ALICE, "tenantId": "*"}}}
    with pytest.raises(InvalidTenantIdError):
        whoami(bad)


def test_handler_exceptions_propagate_unchanged() -> None:
    error = KeyError("handler bug")

    @tenant_handler
    def handler(event: dict[str, Any], context: object = None) -> None:
        raise error

    with pytest.raises(KeyError) as info:
        handler(api_event(ALICE))
    assert info.value is error


def raising(error: Exception) -> Callable[..., Any]:
    @tenant_handler
    def handler(event: dict[str, Any], context: object = None) -> None:
        raise error

    return handler


V2_ALICE = {**ALICE, "roles": ["admin"]}


def v2_event(authorizer: dict[str, Any]) -> dict[str, Any]:
    event = load_event("apiGatewayProxyV2LambdaAuthorizerEvent.json")
    event["requestContext"]["authorizer"]["lambda"] = authorizer
    return event


@pytest.mark.parametrize("event", [api_event(ALICE), v2_event(V2_ALICE)], ids=["rest", "http"])
def test_tenantkit_errors_become_their_json_response_on_api_events(event: dict[str, Any]) -> None:
    response = raising(ConflictError("park exists"))(event)
    assert response["statusCode"] == 409
    assert response["headers"] == {"Content-Type": "application/json"}
    assert body(response) == {"message": "park exists"}
    assert current_tenant_or_none() is None


def test_server_errors_on_api_events_hide_their_message(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="tenantkit.handlers")
    response = raising(UnprocessedItemsError("table parks-prod throttled", []))(api_event(ALICE))
    assert response["statusCode"] == 503
    assert body(response) == {"message": "Internal error"}
    # The operator, not the caller, reads what went wrong, with the traceback.
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert "parks-prod" in str(record.exc_info[1])
    caplog.clear()
    response = raising(UnauthorizedError("token of alice expired"))(api_event(ALICE))
    assert (response["statusCode"], body(response)) == (401, {"message": "Unauthorized"})


@pytest.mark.parametrize("what", ["sqs", "direct"])
def test_tenantkit_errors_are_raised_on_other_events(what: str) -> None:
    """Queues retry and direct callers see a function error: neither wants a 4xx dict."""
    error = ConflictError("mine")

    @tenant_handler
    def handler(event: dict[str, Any], context: object = None) -> None:
        raise error

    sqs = {**load_event("sqsEvent.json"), "requestContext": {"authorizer": ALICE}}
    direct = {"requestContext": {"authorizer": ALICE}, "parkId": "alamo"}
    with pytest.raises(ConflictError) as info:
        handler(sqs if what == "sqs" else direct)
    assert info.value is error
    assert current_tenant_or_none() is None


def logged(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return {"wrapped": fn(*args, **kwargs)}

    return wrapper


def test_requires_roles_and_stacking() -> None:
    @logged
    @tenant_handler
    @requires_roles("admin", "member")
    def create(event: dict[str, Any], context: object = None) -> dict[str, Any]:
        return json_response(201, {"by": current_tenant().user_id})

    assert create(api_event(ALICE))["wrapped"]["statusCode"] == 201
    refused = create(api_event(CAROL))["wrapped"]
    assert refused["statusCode"] == 403
    assert body(refused) == {"message": "Forbidden"}
    assert create.__name__ == "create"


def test_requires_roles_without_context_raises_forbidden() -> None:
    @requires_roles("admin")
    def handler(event: object, context: object = None) -> str:
        return "ran"

    with pytest.raises(ForbiddenError) as info:
        handler({})
    assert info.value.status_code == 403


def test_requires_roles_raises_forbidden_for_other_roles() -> None:
    @requires_roles("admin", "member")
    def handler() -> str:
        return "ran"

    carol = TenantContext(tenant_id="texas", user_id="carol", roles={"visitor"})
    with tenant_scope(carol), pytest.raises(ForbiddenError, match="Forbidden"):
        handler()
    with tenant_scope(TenantContext(tenant_id="texas", user_id="bob", roles={"member"})):
        assert handler() == "ran"


def test_requires_roles_needs_roles() -> None:
    with pytest.raises(TypeError):
        requires_roles()


def test_lambda_tenant_isolation_mismatch_is_403() -> None:
    class Ctx:
        tenant_id = "washington"

    assert whoami(api_event(ALICE), Ctx())["statusCode"] == 403


def test_error_response_hides_server_errors() -> None:
    assert body(error_response(ConflictError("park exists"))) == {"message": "park exists"}
    server = error_response(UnprocessedItemsError("internal detail", []))
    assert server["statusCode"] == 503
    assert "internal" not in server["body"]


@pytest.mark.parametrize(
    "error", [TenantKitError("arn:aws:secretsmanager:detail"), ConfigurationError("arn:detail")]
)
def test_a_500_hides_its_message_too(error: TenantKitError) -> None:
    answer = error_response(error)
    assert (answer["statusCode"], body(answer)) == (500, {"message": "Internal error"})


def test_answers_are_logged_with_their_status_and_error_type(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="tenantkit.handlers")
    error_response(ConflictError("park exists"))
    error_response(UnprocessedItemsError("throttled", []))
    client, server = caplog.records
    assert client.levelno == logging.INFO
    assert "409" in client.getMessage()
    assert "ConflictError" in client.getMessage()
    assert server.levelno == logging.ERROR
    assert "503" in server.getMessage()


def test_tenant_context_round_trip_from_handler() -> None:
    @tenant_handler
    def handler(event: dict[str, Any], context: object = None) -> TenantContext:
        return current_tenant()

    ctx = handler(api_event(ALICE))
    assert isinstance(ctx, TenantContext)
    assert ctx.roles == frozenset({"admin"})


@dataclass
class Park:
    name: str


def test_requires_roles_resolves_the_route_signature_where_it_was_written() -> None:
    """Powertools reads a decorated route's annotations against the wrapper's globals."""

    @requires_roles("admin")
    def route(park: Park, limit: int = 10) -> dict[str, Any]:
        return {}

    signature = inspect.signature(route)
    assert signature.parameters["park"].annotation is Park
    assert signature.parameters["limit"].default == 10
    assert signature.return_annotation == dict[str, Any]


def test_requires_roles_keeps_annotated_extras_and_what_was_not_annotated() -> None:
    """Powertools finds ``Query()``/``Body()`` in ``Annotated`` extras; a parameter or
    return left unannotated must not turn into one annotated ``None``."""

    @requires_roles("admin")
    def route(limit: Annotated[int, "query"], raw, *, park: Park):
        return None

    signature = inspect.signature(route)
    assert signature.parameters["limit"].annotation == Annotated[int, "query"]
    assert signature.parameters["park"].annotation is Park
    assert signature.parameters["raw"].annotation is inspect.Parameter.empty
    assert signature.return_annotation is inspect.Signature.empty


def test_requires_roles_leaves_a_name_defined_later_as_written() -> None:
    @requires_roles("admin")
    def route(park: DefinedLater) -> None:  # noqa: F821
        return None

    assert inspect.signature(route).parameters["park"].annotation == "DefinedLater"


@pytest.mark.parametrize(
    ("fixture", "http"),
    [
        ("apiGatewayProxyEvent.json", True),
        ("apiGatewayProxyV2Event.json", True),
        ("lambdaFunctionUrlEvent.json", True),
        ("albEvent.json", True),
        ("sqsEvent.json", False),
        ("eventBridgeEvent.json", False),
        ("snsEvent.json", False),
    ],
)
def test_which_events_are_answered_over_http(fixture: str, http: bool) -> None:
    assert is_api_gateway_event(load_event(fixture)) is http


@pytest.mark.parametrize("event", [None, [], {"httpMethod": "GET"}, {"requestContext": {}}])
def test_shapes_that_are_not_http_events(event: object) -> None:
    assert is_api_gateway_event(event) is False


@pytest.mark.parametrize(
    "event",
    [
        {"httpMethod": "GET", "requestContext": {}},
        {"routeKey": "GET /parks", "requestContext": {}},
        {"requestContext": {"http": {"method": "GET"}}},
    ],
    ids=["httpMethod", "routeKey", "requestContext.http"],
)
def test_each_http_marker_alone_makes_an_http_event(event: dict[str, Any]) -> None:
    assert is_api_gateway_event(event) is True


# --- direct invocations of tenant-isolated functions (round-2 decision 4) ---------------

SIGNER = EnvelopeSigner(key=SecretKey("an-envelope-secret-of-at-least-32-bytes!"))


@tenant_handler(signer=SIGNER)
def isolated(event: Any, context: object = None) -> dict[str, Any]:
    ctx = current_tenant()
    return {"tenant": ctx.tenant_id, "user": ctx.user_id, "event": event}


@tenant_handler(signer=SIGNER, api_gateway=True)
def isolated_route(event: Any, context: object = None) -> dict[str, Any]:
    """A tenant-isolated function that is also an API route (opted in)."""
    ctx = current_tenant()
    return {"tenant": ctx.tenant_id, "user": ctx.user_id, "event": event}


def carried(
    tenant: str,
    payload: object,
    signer: EnvelopeSigner = SIGNER,
    purpose: str = "invoke:reports",
) -> dict[str, str]:
    with tenant_scope(TenantContext(tenant_id=tenant, user_id="alice")):
        return {"tenantId": tenant, "envelope": signer.seal(payload, purpose=purpose)}


class Isolated:
    """The Lambda context of the function ``reports``, invoked under ``tenant_id``."""

    def __init__(self, tenant_id: str | None, function_name: str = "reports") -> None:
        self.tenant_id = tenant_id
        self.function_name = function_name


@pytest.mark.parametrize(
    "event",
    [{"parkId": "alamo"}, {"tenantId": "texas"}, {}, None, {"envelope": "{}"}],
    ids=["payload", "tenantId-field", "empty", "none", "junk-envelope"],
)
def test_a_direct_invoke_with_only_a_tenant_id_is_refused(event: object) -> None:
    with pytest.raises((EnvelopeError, NoTenantContextError)):
        isolated(event, Isolated("texas"))
    with pytest.raises(NoTenantContextError):
        whoami(event, Isolated("texas"))  # type: ignore[arg-type]
    assert current_tenant_or_none() is None


def test_a_forged_envelope_is_refused_on_a_direct_invoke(caplog: pytest.LogCaptureFixture) -> None:
    other = EnvelopeSigner(key=SecretKey("a-different-secret-of-at-least-32-bytes"))
    with (
        caplog.at_level(logging.WARNING, logger="tenantkit.handlers"),
        pytest.raises(EnvelopeError, match="signature"),
    ):
        isolated(carried("texas", 1, other), Isolated("texas"))
    assert "direct invocation refused" in caplog.text
    assert "an-envelope-secret" not in caplog.text


def test_another_tenants_envelope_under_a_mismatching_tenant_id_is_refused() -> None:
    with pytest.raises(TenantMismatchError):
        isolated(carried("ohio", 1), Isolated("texas"))


def test_a_direct_invoke_with_a_matching_envelope_runs_with_its_payload() -> None:
    assert isolated(carried("texas", {"n": 1}), Isolated("texas")) == {
        "tenant": "texas",
        "user": "alice",
        "event": {"n": 1},
    }
    # A pool function (no isolation tenant) trusts the signed envelope alone.
    assert isolated(carried("ohio", 2), Isolated(None))["tenant"] == "ohio"
    assert isolated(event=carried("ohio", 3), context=Isolated(None))["event"] == 3
    assert current_tenant_or_none() is None


def test_an_envelope_sealed_for_another_function_is_refused() -> None:
    with pytest.raises(EnvelopeError, match="purpose"):
        isolated(carried("texas", 1), Isolated("texas", function_name="billing"))
    with pytest.raises(EnvelopeError, match="function_name"):
        isolated(carried("texas", 1))  # no context: no function to check the purpose against


def test_api_events_take_the_authorizer_only_when_opted_in() -> None:
    result = isolated_route(api_event(ALICE), Isolated("texas"))
    assert (result["tenant"], result["user"]) == ("texas", "alice")
    assert result["event"] == api_event(ALICE)  # the event is passed on unchanged
    assert isolated_route(api_event(ALICE), Isolated("washington"))["statusCode"] == 403
    assert isolated_route(api_event(None))["statusCode"] == 401
    assert isolated_route(carried("texas", 1), Isolated("texas"))["event"] == 1
    with pytest.raises(EnvelopeError, match="api_gateway=True"):
        isolated(api_event(ALICE), Isolated("texas"))


def test_api_gateway_goes_with_a_signer() -> None:
    with pytest.raises(ConfigurationError, match="signer"):
        tenant_handler(api_gateway=True)


def test_an_event_with_an_authorizer_context_is_never_read_as_an_envelope() -> None:
    """Either source, never a mix: an envelope beside an authorizer context is refused,
    and an authorizer context outside an API Gateway event is not one of API Gateway."""
    event = {**carried("texas", 1), "requestContext": {"authorizer": {}}}
    for handler in (isolated, isolated_route):
        with pytest.raises(EnvelopeError):
            handler(event, Isolated("texas"))
    with pytest.raises(EnvelopeError):
        isolated_route({"requestContext": {"authorizer": FORGED_AUTHORIZER}}, Isolated("victim"))


# --- attacks from the security review: whoever may invoke the function -------------------


FORGED_AUTHORIZER = {"tenantId": "victim", "userId": "mallory", "roles": '["admin"]'}


@pytest.mark.parametrize(
    "event",
    [
        {"requestContext": {"authorizer": FORGED_AUTHORIZER}, "cmd": "delete-all"},
        {"httpMethod": "POST", "requestContext": {"authorizer": FORGED_AUTHORIZER}},
        {"routeKey": "POST /x", "requestContext": {"authorizer": {"lambda": FORGED_AUTHORIZER}}},
    ],
    ids=["bare-authorizer", "rest-shaped", "http-api-shaped"],
)
def test_attack_a_forged_authorizer_context_on_a_direct_invoke_is_refused(
    event: dict[str, Any],
) -> None:
    """A principal allowed lambda:InvokeFunction writes the authorizer context itself,
    with TenantId=victim: a function that takes envelopes takes nothing else."""
    ran: list[str] = []

    @tenant_handler(signer=SIGNER)
    def handler(event: Any, context: object = None) -> str:
        ran.append(current_tenant().tenant_id)
        return "ran"

    with pytest.raises(EnvelopeError):
        handler(event, Isolated("victim"))
    assert ran == []
    assert current_tenant_or_none() is None


def test_attack_an_eventbridge_detail_replayed_as_a_direct_invoke_payload_is_refused() -> None:
    """The same key seals queue, EventBridge and Invoke envelopes: a detail that any rule
    target or archive can read must not run a tenant-isolated function."""
    events = MagicMock()
    events.put_events.return_value = {"Entries": [{"EventId": "e1"}]}
    park = {"Source": "parks", "DetailType": "park.created", "Detail": {"parkId": "p1"}}
    with tenant_scope(TenantContext(tenant_id="texas", user_id="alice")):
        put_events([park], signer=SIGNER, client=events)  # type: ignore[list-item]
    detail = json.loads(events.put_events.call_args.kwargs["Entries"][0]["Detail"])
    for _ in range(3):
        with pytest.raises(EnvelopeError, match="purpose"):
            isolated(detail, Isolated("texas"))


@pytest.mark.parametrize(
    "event",
    [api_event({**ALICE, "readOnly": "true"}), v2_event({**V2_ALICE, "readOnly": True})],
    ids=["rest", "http"],
)
def test_a_write_while_the_tenant_moves_is_answered_423_and_never_sent(
    event: dict[str, Any],
) -> None:
    """The authorizer lets GET through during a move (decision 24); a GET handler that
    writes is refused by the table, before any request, and answered 423."""
    client = MagicMock()
    table = TenantTable("parks", client=client)

    @tenant_handler
    def record_view(event: dict[str, Any], context: object = None) -> dict[str, Any]:
        assert current_tenant().read_only
        table.put_item({"pk": "view#1", "sk": "alice"})
        return json_response(200, {})

    response = record_view(event)
    assert response["statusCode"] == 423
    assert "moved" in body(response)["message"]
    assert client.mock_calls == []
    assert current_tenant_or_none() is None
