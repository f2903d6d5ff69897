"""TenantFunction: a tenant-isolated function invoked with TenantId and a signed envelope.

moto's Lambda needs Docker, so a botocore ``before-send`` hook plays Lambda: it reads
the request exactly as it would go on the wire (the ``X-Amz-Tenant-Id`` header, the
invocation type, the payload), runs a ``@tenant_handler(signer=...)`` function with a
context whose ``tenant_id`` is that header, and answers as Lambda does.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit import current_tenant, current_tenant_or_none, tenant_handler, tenant_scope
from tenantkit.errors import (
    EnvelopeError,
    InvokedFunctionError,
    NoTenantContextError,
    TenantMismatchError,
    UnexpectedResponseError,
)
from tenantkit.events import (
    EnvelopeSigner,
    SecretKey,
    TenantFunction,
    process_sqs_batch,
)
from tests.events.conftest import KEY, ctx
from tests.events.test_queues import seal, sqs_record

SIGNER = EnvelopeSigner(key=KEY)
OTHER_SIGNER = EnvelopeSigner(key=SecretKey("another-secret-of-at-least-32-bytes!!"))
#: The purpose of an envelope sealed for the function named "reports".
REPORTS = "invoke:reports"


def invoked(tenant: str | None, function_name: str = "reports") -> SimpleNamespace:
    """The Lambda context of a direct invocation of ``function_name`` under ``tenant``."""
    return SimpleNamespace(tenant_id=tenant, function_name=function_name)


class _Raw:
    """What botocore reads a response body from (``stream`` and, for blobs, ``read``)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def stream(self, **kwargs: Any) -> Any:
        yield self._data.read()

    def read(self, amt: int | None = None) -> bytes:
        return self._data.read(amt)


@dataclass
class FakeLambda:
    """Lambda's Invoke API over a handler; records what each request carried on the wire."""

    handler: Callable[[Any, Any], Any]
    requests: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, request: Any, **kwargs: Any) -> AWSResponse:
        headers = {name.lower(): value for name, value in request.headers.items()}
        tenant = headers.get("x-amz-tenant-id")
        tenant = tenant.decode() if isinstance(tenant, bytes) else tenant
        invocation = headers.get("x-amz-invocation-type")
        invocation = invocation.decode() if isinstance(invocation, bytes) else invocation
        payload = json.loads(request.body)
        self.requests.append(
            {"url": request.url, "tenant": tenant, "type": invocation, "payload": payload}
        )
        if invocation == "Event":
            return answer(request.url, 202, b"")
        try:
            name = unquote(request.url.split("/functions/")[1].split("/")[0])
            result = self.handler(payload, SimpleNamespace(tenant_id=tenant, function_name=name))
        except Exception as exc:
            error = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
            body = json.dumps(error).encode()
            return answer(request.url, 200, body, **{"X-Amz-Function-Error": "Unhandled"})
        return answer(request.url, 200, json.dumps(result).encode())


def answer(url: str, status: int, body: bytes, **headers: str) -> AWSResponse:
    return AWSResponse(url, status, HTTPHeaders.from_dict(headers), _Raw(body))


def lambda_client(fake: FakeLambda) -> Any:
    client = boto3.client("lambda", region_name="us-east-1")
    client.meta.events.register("before-send.lambda.Invoke", fake)
    return client


@tenant_handler(signer=SIGNER)
def isolated(event: Any, context: Any = None) -> dict[str, Any]:
    """A tenant-isolated function: it sees the envelope's payload and tenant."""
    tenant = current_tenant()
    return {"tenant": tenant.tenant_id, "user": tenant.user_id, "got": event}


@pytest.fixture
def fake() -> FakeLambda:
    return FakeLambda(isolated)


@pytest.fixture
def reports(fake: FakeLambda) -> TenantFunction:
    return TenantFunction("reports", signer=SIGNER, client=lambda_client(fake))


# --- attacks first: the isolated side refuses what is not a signed envelope --------------


def test_tenant_id_alone_is_never_a_tenant() -> None:
    """Anyone allowed lambda:InvokeFunction chooses TenantId; without an envelope, refused."""
    for event in ({"report": "all"}, {"tenantId": "texas"}, {}, None):
        with pytest.raises((EnvelopeError, NoTenantContextError)):
            isolated(event, invoked("texas"))
    assert current_tenant_or_none() is None


def test_a_forged_envelope_is_refused() -> None:
    with tenant_scope(ctx("texas")):
        carried = {
            "tenantId": "texas",
            "envelope": OTHER_SIGNER.seal({"report": "all"}, purpose=REPORTS),
        }
    with pytest.raises(EnvelopeError, match="signature"):
        isolated(carried, invoked("texas"))
    edited = json.loads(seal("ohio", 1, REPORTS))
    edited["env"]["tenantId"] = "texas"
    carried = {"tenantId": "texas", "envelope": json.dumps(edited)}
    with pytest.raises(EnvelopeError, match="signature"):
        isolated(carried, invoked("texas"))


def test_another_tenants_envelope_with_a_mismatching_tenant_id_is_refused() -> None:
    """A genuine envelope of ohio replayed into texas's environment."""
    carried = {"tenantId": "ohio", "envelope": seal("ohio", {"report": "all"}, REPORTS)}
    with pytest.raises(TenantMismatchError):
        isolated(carried, invoked("texas"))
    relabelled = {"tenantId": "texas", "envelope": seal("ohio", {"report": "all"}, REPORTS)}
    with pytest.raises(EnvelopeError):
        isolated(relabelled, invoked("texas"))


def test_unsigned_fields_next_to_the_envelope_are_refused() -> None:
    carried = {"tenantId": "texas", "envelope": seal("texas", 1, REPORTS), "admin": True}
    with pytest.raises(EnvelopeError, match="exactly"):
        isolated(carried, invoked("texas"))


def test_without_a_signer_a_direct_invocation_has_no_tenant() -> None:
    @tenant_handler
    def pool(event: Any, context: Any = None) -> str:
        return current_tenant().tenant_id

    carried = {"tenantId": "texas", "envelope": seal("texas", 1, REPORTS)}
    with pytest.raises(NoTenantContextError):
        pool(carried, invoked("texas"))


def test_invoking_outside_a_tenant_scope_is_refused_before_any_call(
    reports: TenantFunction, fake: FakeLambda
) -> None:
    with pytest.raises(NoTenantContextError):
        reports.invoke({"report": "all"})
    with pytest.raises(NoTenantContextError):
        reports.invoke_async({"report": "all"})
    assert fake.requests == []


# --- the round trip ---------------------------------------------------------------------


def test_invoke_sets_the_tenant_header_and_carries_a_signed_envelope(
    reports: TenantFunction, fake: FakeLambda
) -> None:
    with tenant_scope(ctx("texas")):
        result = reports.invoke({"report": "visitors"})
    assert result == {"tenant": "texas", "user": "user-texas", "got": {"report": "visitors"}}
    [request] = fake.requests
    assert request["tenant"] == "texas"
    assert request["type"] == "RequestResponse"
    assert request["url"].endswith("/functions/reports/invocations")
    assert set(request["payload"]) == {"tenantId", "envelope"}
    opened, payload = SIGNER.open(request["payload"]["envelope"], purpose=REPORTS)
    assert (opened.tenant_id, payload) == ("texas", {"report": "visitors"})


def test_invoke_async_is_an_event_invocation(reports: TenantFunction, fake: FakeLambda) -> None:
    with tenant_scope(ctx("ohio")):
        reports.invoke_async([1, 2])
    [request] = fake.requests
    assert (request["tenant"], request["type"]) == ("ohio", "Event")
    assert SIGNER.open(request["payload"]["envelope"], purpose=REPORTS)[1] == [1, 2]


def test_a_qualifier_goes_on_the_request(fake: FakeLambda) -> None:
    function = TenantFunction(
        "reports", signer=SIGNER, qualifier="live", client=lambda_client(fake)
    )
    with tenant_scope(ctx("texas")):
        function.invoke(None)
    assert fake.requests[0]["url"].endswith("/invocations?Qualifier=live")


def test_a_function_error_is_a_typed_error(fake: FakeLambda) -> None:
    def failing(event: Any, context: Any) -> None:
        raise KeyError("secret detail of texas")

    function = TenantFunction("reports", signer=SIGNER, client=lambda_client(FakeLambda(failing)))
    with tenant_scope(ctx("texas")), pytest.raises(InvokedFunctionError) as info:
        function.invoke({})
    error = info.value
    assert (error.function_name, error.error_type) == ("reports", "KeyError")
    assert "secret detail" in error.error_message
    assert "secret detail" not in str(error)
    assert error.status_code == 502


def test_a_result_that_is_not_json_is_an_unexpected_response() -> None:
    def garbage(request: Any, **kwargs: Any) -> AWSResponse:
        return answer(request.url, 200, b"not json")

    client = boto3.client("lambda", region_name="us-east-1")
    client.meta.events.register("before-send.lambda.Invoke", garbage)
    function = TenantFunction("reports", signer=SIGNER, client=client)
    with tenant_scope(ctx("texas")), pytest.raises(UnexpectedResponseError):
        function.invoke({})


def test_a_mismatch_reported_by_the_isolated_side_is_a_function_error(fake: FakeLambda) -> None:
    """A caller that sets TenantId by hand to another tenant gets refused by the function."""
    tampering = lambda_client(fake)

    def other_tenant(request: Any, **kwargs: Any) -> None:
        request.headers["X-Amz-Tenant-Id"] = "ohio"

    tampering.meta.events.register_first("before-send.lambda.Invoke", other_tenant)
    function = TenantFunction("reports", signer=SIGNER, client=tampering)
    with tenant_scope(ctx("texas")), pytest.raises(InvokedFunctionError) as info:
        function.invoke({})
    assert info.value.error_type == "TenantMismatchError"


def test_fan_out_per_tenant_from_an_sqs_batch(reports: TenantFunction, fake: FakeLambda) -> None:
    """Each record invokes under its own tenant, so it runs in that tenant's environment."""
    event = {
        "Records": [
            sqs_record(seal("texas", {"n": 1}), "t1"),
            sqs_record(seal("ohio", {"n": 2}), "o1"),
            sqs_record(seal("texas", {"n": 3}), "t2"),
        ]
    }
    assert process_sqs_batch(event, reports.invoke, signer=SIGNER) == {"batchItemFailures": []}
    assert [
        (r["tenant"], SIGNER.open(r["payload"]["envelope"], purpose=REPORTS)[1])
        for r in fake.requests
    ] == [
        ("texas", {"n": 1}),
        ("ohio", {"n": 2}),
        ("texas", {"n": 3}),
    ]


def test_a_failed_invocation_fails_its_record_only() -> None:
    def fails_for_ohio(event: Any, context: Any) -> Any:
        if context.tenant_id == "ohio":
            raise RuntimeError("ohio's report failed")
        return isolated(event, context)

    function = TenantFunction(
        "reports", signer=SIGNER, client=lambda_client(FakeLambda(fails_for_ohio))
    )
    event = {
        "Records": [
            sqs_record(seal("texas", 1), "t1"),
            sqs_record(seal("ohio", 2), "o1"),
        ]
    }
    result = process_sqs_batch(event, function.invoke, signer=SIGNER)
    assert result == {"batchItemFailures": [{"itemIdentifier": "o1"}]}


def test_the_function_name_is_required() -> None:
    from tenantkit.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        TenantFunction("", signer=SIGNER)
    assert repr(TenantFunction("reports", signer=SIGNER)) == "TenantFunction('reports')"


TENANTS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", fullmatch=True).filter(str.isascii)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


@settings(max_examples=60)
@given(sealed_for=TENANTS, other=TENANTS, same=st.booleans(), payload=JSON)
def test_an_envelope_runs_only_under_its_own_tenant(
    sealed_for: str, other: str, same: bool, payload: object
) -> None:
    """The model: a direct invocation runs iff the envelope's tenant is the TenantId."""
    invoked_as = sealed_for if same else other
    with tenant_scope(ctx(sealed_for)):
        carried = {"tenantId": sealed_for, "envelope": SIGNER.seal(payload, purpose=REPORTS)}
    if sealed_for == invoked_as:
        result = isolated(carried, invoked(invoked_as))
        assert (result["tenant"], result["got"]) == (sealed_for, payload)
    else:
        with pytest.raises(TenantMismatchError):
            isolated(carried, invoked(invoked_as))
    assert current_tenant_or_none() is None


def test_fan_out_from_an_eventbridge_consumer(reports: TenantFunction, fake: FakeLambda) -> None:
    """The consumer runs in the event's tenant, so invoking from it targets that tenant."""
    from tenantkit.events import eventbridge_handler

    @eventbridge_handler(signer=SIGNER)
    def consumer(event: dict[str, Any], context: Any) -> Any:
        return reports.invoke(event["detail"])

    with tenant_scope(ctx("ohio")):
        detail = {
            "tenantId": "ohio",
            "envelope": SIGNER.seal({"report": "closures"}, purpose="events"),
        }
    event = {"id": "ev-1", "source": "parks", "detail-type": "park-closed", "detail": detail}
    assert consumer(event, None)["tenant"] == "ohio"
    assert fake.requests[0]["tenant"] == "ohio"
