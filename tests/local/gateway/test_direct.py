"""An API whose DefinitionBody runs DynamoDB from mapping templates, end to end in-process:
the fixture ``tests/local/fixtures/direct`` (included OpenAPI, Lambda authorizer whose
``X-Tenant`` header is the tenant, request validator, one ``PER_TENANT`` proxy route).

The attacks try to leave the JSON string a body field or path parameter is written into;
the escaping template must hold, and an unescaped one must be shown to break, so the
engine is known to be faithful rather than accidentally safe.

The module shares one gateway and table (building them takes seconds), so every test
calls as tenants of its own (the ``tenant`` and ``other_tenant`` fixtures): what one
test writes, even the unescaped template's leak, no other test reads, in any order.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenantkit.local.gateway import Gateway, Request
from tests.local.conftest import FIXTURES, gateway_on

#: Hostile names; ``VICTIM`` stands for the test's other tenant, the one they aim at.
ATTACKS = [
    'quote " inside',
    "back\\slash\\",
    "brace } and ]",
    "hash # and #$x and $context.authorizer.tenantId",
    "dollar $util.escapeJavaScript('x') ${x}",
    "nul \u0000 here",
    "new\nline\r\n",
    "single ' quote \\'",
    'x"}, "pk": {"S": "VICTIM#item"}, "y": {"S": "',
    'x"},"sk":{"S":"stolen"},"pk":{"S":"VICTIM#item"},"z":{"S":"',
    "#set($context.authorizer.tenantId = 'VICTIM')",
]

#: Bodies (raw JSON text) whose escapes decode to a string with no UTF-8 form: a lone
#: surrogate, or a pair's halves split apart (by an escape, reversed, one half alone).
#: API Gateway's parser and validator accept them (Java strings are UTF-16); the service
#: refuses the request: a 4xx, nothing written, never a 5xx.
UNPAIRED_SURROGATES = [
    '{"name": "\\ud800"}',
    '{"name": "\\udc00"}',
    '{"name": "x\\ud83d"}',
    '{"name": "\\ud83d\\u0041\\ude00"}',
    '{"name": "\\ud83d\\\\ude00"}',
    '{"name": "\\ude00\\ud83d"}',
]


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    with gateway_on(FIXTURES / "direct" / "template.yaml") as gateway:
        yield gateway


def new_tenant() -> str:
    return f"tenant-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def tenant() -> str:
    """The test's caller: a tenant no other test uses."""
    return new_tenant()


@pytest.fixture
def other_tenant() -> str:
    """Another tenant of the test's own, which its requests must not reach."""
    return new_tenant()


def call(
    gateway: Gateway,
    method: str,
    path: str,
    body: Any = None,
    *,
    tenant: str | None,
    headers: tuple[tuple[str, str], ...] = (),
    query: tuple[tuple[str, str], ...] = (),
) -> tuple[int, dict[str, str], Any]:
    sent = [*headers]
    if tenant is not None:
        sent.append(("X-Tenant", tenant))
    raw = b""
    if body is not None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        if not any(name.lower() == "content-type" for name, _ in sent):
            sent.append(("Content-Type", "application/json"))
    response = gateway.handle(Request(method, path, list(query), sent, raw))
    text = response.body.decode()
    return response.status, dict(response.headers), json.loads(text) if text.strip() else None


def items(gateway: Gateway, tenant: str) -> list[dict[str, str]]:
    status, _, body = call(gateway, "GET", "/items", tenant=tenant)
    assert status == 200
    return list(body["items"])


def test_put_get_query_with_the_tenant_from_the_authorizer(
    gateway: Gateway, tenant: str, other_tenant: str
) -> None:
    status, headers, body = call(gateway, "PUT", "/items/first", {"name": "First"}, tenant=tenant)
    assert (status, body) == (201, {"id": "first"})
    assert headers["X-Item-Tenant"] == tenant  # responseParameters from the context
    assert call(gateway, "GET", "/items/first", tenant=tenant)[::2] == (
        200,
        {"id": "first", "name": "First"},
    )
    assert call(gateway, "GET", "/items/first", tenant=other_tenant)[::2] == (
        404,
        {"message": "not found"},
    )
    assert items(gateway, tenant) == [{"id": "first", "name": "First"}]
    assert items(gateway, other_tenant) == []
    # The conditional failure is selected by "4\d{2}" and overridden to 409.
    assert call(gateway, "PUT", "/items/first", {"name": "Again"}, tenant=tenant)[::2] == (
        409,
        {"message": "the item exists"},
    )


def test_update_and_delete_only_the_callers_item(
    gateway: Gateway, tenant: str, other_tenant: str
) -> None:
    assert call(gateway, "PUT", "/items/ud", {"name": "Before"}, tenant=tenant)[0] == 201
    assert call(gateway, "PATCH", "/items/ud", {"name": "Stolen"}, tenant=other_tenant)[::2] == (
        404,
        {"message": "not found"},
    )
    assert call(gateway, "DELETE", "/items/ud", tenant=other_tenant)[0] == 404
    assert call(gateway, "PATCH", "/items/ud", {"name": "After"}, tenant=tenant)[::2] == (
        200,
        {"id": "ud", "name": "After"},
    )
    status, headers, body = call(gateway, "DELETE", "/items/ud", tenant=tenant)
    assert (status, headers["X-Deleted"], body) == (204, "ud", None)
    assert call(gateway, "GET", "/items/ud", tenant=tenant)[0] == 404
    assert call(gateway, "DELETE", "/items/ud", tenant=tenant)[0] == 404


def test_the_validator_runs_before_any_template(gateway: Gateway, tenant: str) -> None:
    invalid = {"message": "Invalid request body"}
    for body in ({}, {"name": ""}, {"name": 5}, {"name": "x" * 201}, {"name": "x", "pk": "y"}):
        assert call(gateway, "PUT", "/items/v1", body, tenant=tenant)[::2] == (400, invalid), body
    assert call(gateway, "PUT", "/items/v1", b"{not json", tenant=tenant)[::2] == (400, invalid)
    assert call(gateway, "PUT", "/items/v1", b"", tenant=tenant)[::2] == (400, invalid)
    assert items(gateway, tenant) == []  # nothing was written
    # No model and no template for text/plain: passthroughBehavior NEVER refuses it.
    plain = (("Content-Type", "text/plain"),)
    assert call(gateway, "PUT", "/items/v1", b"name", headers=plain, tenant=tenant)[0] == 415


def test_the_authorizer_guards_direct_routes(gateway: Gateway) -> None:
    assert call(gateway, "GET", "/items", tenant=None)[0] == 401
    assert call(gateway, "GET", "/items", tenant="deny")[0] == 401
    status, _, body = call(gateway, "GET", "/open", tenant=None)  # security: [] (mock)
    assert (status, body) == (200, {"open": True, "tenant": ""})


def test_the_mapped_tenant_header_reaches_a_per_tenant_function(
    gateway: Gateway, tenant: str, other_tenant: str
) -> None:
    spoof = (("X-Amz-Tenant-Id", other_tenant),)
    status, _, body = call(
        gateway, "POST", "/whoami", headers=spoof, query=(("t", other_tenant),), tenant=tenant
    )
    assert status == 200
    assert body["tenant_id"] == tenant
    assert body["authorizer"]["tenantId"] == tenant
    assert body["resource"] == "/whoami"


@pytest.mark.parametrize("attack", ATTACKS)
def test_attack_body_fields_stay_inside_their_string(
    gateway: Gateway, tenant: str, other_tenant: str, attack: str
) -> None:
    name = attack.replace("VICTIM", other_tenant)
    status, _, _ = call(gateway, "PUT", "/items/attack", {"name": name}, tenant=tenant)
    assert status == 201
    assert call(gateway, "GET", "/items/attack", tenant=tenant)[::2] == (
        200,
        {"id": "attack", "name": name},
    )
    assert items(gateway, tenant) == [{"id": "attack", "name": name}]
    assert items(gateway, other_tenant) == []


@pytest.mark.parametrize("body", UNPAIRED_SURROGATES)
def test_attack_unpaired_surrogates_are_a_4xx_and_write_nothing(
    gateway: Gateway, tenant: str, body: str
) -> None:
    raw = body.encode("ascii")
    assert call(gateway, "PUT", "/items/s", raw, tenant=tenant)[::2] == (
        400,
        {"message": "bad request"},
    )
    assert call(gateway, "GET", "/items/s", tenant=tenant)[0] == 404
    assert call(gateway, "PUT", "/items/s", {"name": "n"}, tenant=tenant)[0] == 201
    assert call(gateway, "PATCH", "/items/s", raw, tenant=tenant)[0] == 404  # its 4xx mapping
    assert call(gateway, "GET", "/items/s", tenant=tenant)[::2] == (200, {"id": "s", "name": "n"})
    # Unescaped, the template writes the character itself, which goes out as Java encodes
    # it (``?``), or the service's 400 when an escape remains: the default response, 200.
    assert call(gateway, "PUT", "/unescaped/s", raw, tenant=tenant)[0] == 200


def test_an_escaped_surrogate_pair_is_one_character(gateway: Gateway, tenant: str) -> None:
    raw = b'{"name": "\\ud83d\\ude00"}'
    assert call(gateway, "PUT", "/items/pair", raw, tenant=tenant)[0] == 201
    assert call(gateway, "GET", "/items/pair", tenant=tenant)[::2] == (
        200,
        {"id": "pair", "name": "\U0001f600"},
    )


@pytest.mark.parametrize(
    "item_id", ['a"b', "a}b", "a#b", "a$b", "a\u0000b", "a\nb", "a'b", '"},"pk":{"S":"VICTIM']
)
def test_attack_path_parameters_stay_inside_their_string(
    gateway: Gateway, tenant: str, other_tenant: str, item_id: str
) -> None:
    from urllib.parse import quote

    item_id = item_id.replace("VICTIM", other_tenant)
    path = "/items/" + quote(item_id, safe="")
    status, _, body = call(gateway, "PUT", path, {"name": "n"}, tenant=tenant)
    assert (status, body) == (201, {"id": item_id})
    assert call(gateway, "GET", path, tenant=tenant)[::2] == (200, {"id": item_id, "name": "n"})
    assert items(gateway, tenant) == [{"id": item_id, "name": "n"}]
    assert items(gateway, other_tenant) == []


def test_an_encoded_backslash_in_a_path_parameter_is_refused_before_routing(
    gateway: Gateway, tenant: str
) -> None:
    assert call(gateway, "PUT", "/items/a%5Cb", {"name": "n"}, tenant=tenant)[0] == 400  # dec. 15


def test_attack_a_tenant_in_the_body_query_or_headers_is_ignored(
    gateway: Gateway, tenant: str, other_tenant: str
) -> None:
    headers = (("X-Amz-Tenant-Id", other_tenant), ("tenantId", other_tenant))
    query = (("tenantId", other_tenant),)

    def put(body: dict[str, str]) -> int:
        return call(gateway, "PUT", "/items/t1", body, headers=headers, query=query, tenant=tenant)[
            0
        ]

    assert put({"name": "mine", "tenantId": other_tenant}) == 400
    assert put({"name": "mine"}) == 201
    assert items(gateway, other_tenant) == []
    assert call(gateway, "GET", "/items/t1", tenant=other_tenant)[0] == 404
    assert call(gateway, "GET", "/items/t1", tenant=tenant)[0] == 200


def test_an_unescaped_template_breaks_out_so_the_engine_is_faithful(
    gateway: Gateway, tenant: str, other_tenant: str
) -> None:
    """The same fragment through a template that does not escape: the string ends early
    and the fragment's ``pk`` (the last one wins in JSON) writes into the other tenant."""
    fragment = f'x"}}, "pk": {{"S": "{other_tenant}#item"}}, "y": {{"S": "'
    status, _, _ = call(gateway, "PUT", "/unescaped/leak", {"name": fragment}, tenant=tenant)
    assert status == 200
    assert items(gateway, other_tenant) == [{"id": "leak", "name": "x"}]
    assert items(gateway, tenant) == []
    # A quote alone breaks the JSON: DynamoDB answers 400 SerializationException, which
    # this template's only (default) response maps to 200; nothing is written.
    status, _, body = call(gateway, "PUT", "/unescaped/broken", {"name": 'a"b'}, tenant=tenant)
    assert (status, body["__type"]) == (200, "com.amazon.coral.service#SerializationException")
    assert items(gateway, tenant) == []


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.text(min_size=1, max_size=200))
def test_any_name_round_trips_and_never_is_a_5xx(gateway: Gateway, tenant: str, name: str) -> None:
    item = uuid.uuid4()  # a fresh item each time: hypothesis replays examples
    assert call(gateway, "PUT", f"/items/{item}", {"name": name}, tenant=tenant)[0] == 201
    assert call(gateway, "GET", f"/items/{item}", tenant=tenant)[::2] == (
        200,
        {"id": str(item), "name": name},
    )


def test_direct_routes_over_http(gateway: Gateway, tenant: str, other_tenant: str) -> None:
    """The same pipeline behind the HTTP server: status, headers and body as sent."""
    import threading
    import urllib.error
    import urllib.request

    from tenantkit.local.gateway import serve

    server = serve(gateway, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.port}"
    try:
        request = urllib.request.Request(  # noqa: S310 - loopback only
            f"{url}/items/http-1",
            data=json.dumps({"name": 'over "http"'}).encode(),
            method="PUT",
            headers={"X-Tenant": tenant, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert response.status == 201
            assert response.headers["X-Item-Tenant"] == tenant
            assert json.loads(response.read()) == {"id": "http-1"}
        request = urllib.request.Request(  # noqa: S310
            f"{url}/items/http-1", headers={"X-Tenant": tenant}
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert json.loads(response.read()) == {"id": "http-1", "name": 'over "http"'}
        request.add_header("X-Tenant", other_tenant)
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(request, timeout=10)  # noqa: S310
        assert missing.value.code == 404
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.binary(max_size=300)
    | st.text(max_size=300).map(str.encode)
    | st.text(st.characters(exclude_categories=()), max_size=20).map(
        lambda name: json.dumps({"name": name}).encode()  # surrogates as \uXXXX escapes
    ),
    content_type=st.sampled_from(["application/json", "text/plain", "", "application/JSON; x=1"]),
    item=st.text(min_size=1, max_size=40).filter(lambda s: s.strip("/.") != ""),
)
def test_attack_hostile_requests_are_never_a_5xx(
    gateway: Gateway, tenant: str, body: bytes, content_type: str, item: str
) -> None:
    from urllib.parse import quote

    headers = (("Content-Type", content_type),) if content_type else ()
    path = "/items/" + quote(item, safe="")
    routes = [("PUT", path), ("PATCH", path), ("GET", path), ("DELETE", path), ("GET", "/items")]
    for method, route in [*routes, ("PUT", "/unescaped/x")]:
        status, _, _ = call(gateway, method, route, body, headers=headers, tenant=tenant)
        assert status < 500, (method, route)


def test_concurrent_tenants_read_their_own_answers(gateway: Gateway) -> None:
    """Each request thread keeps its own wire request and response (one client for all)."""
    from concurrent.futures import ThreadPoolExecutor

    def tenant_round(tenant: str) -> list[tuple[int, Any]]:
        seen = []
        for round_ in range(5):
            name = f"{tenant} item {round_}"
            status, _, _ = call(gateway, "PUT", f"/items/r{round_}", {"name": name}, tenant=tenant)
            seen.append((status, None))
            status, _, body = call(gateway, "GET", f"/items/r{round_}", tenant=tenant)
            seen.append((status, body["name"]))
        return seen

    tenants = [new_tenant() for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(tenant_round, tenants))
    for tenant, seen in zip(tenants, outcomes, strict=True):
        assert [s for s, _ in seen] == [201, 200] * 5
        assert [n for _, n in seen[1::2]] == [f"{tenant} item {r}" for r in range(5)]
