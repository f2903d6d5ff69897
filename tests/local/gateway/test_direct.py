"""An API whose DefinitionBody runs DynamoDB from mapping templates, end to end in-process:
the fixture ``tests/local/fixtures/direct`` (included OpenAPI, Lambda authorizer whose
``X-Tenant`` header is the tenant, request validator, one ``PER_TENANT`` proxy route).

The attacks try to leave the JSON string a body field or path parameter is written into;
the escaping template must hold, and an unescaped one must be shown to break, so the
engine is known to be faithful rather than accidentally safe.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenantkit.local.functions import Runtime
from tenantkit.local.gateway import Gateway, Request
from tests.local.conftest import FIXTURES, built_stack

ATTACKS = [
    'quote " inside',
    "back\\slash\\",
    "brace } and ]",
    "hash # and #$x and $context.authorizer.tenantId",
    "dollar $util.escapeJavaScript('x') ${x}",
    "nul \u0000 here",
    "new\nline\r\n",
    "single ' quote \\'",
    'x"}, "pk": {"S": "tenant-b#item"}, "y": {"S": "',
    'x"},"sk":{"S":"stolen"},"pk":{"S":"tenant-b#item"},"z":{"S":"',
    "#set($context.authorizer.tenantId = 'tenant-b')",
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
    with built_stack(FIXTURES / "direct" / "template.yaml") as stack:
        runtime = Runtime(stack.functions)
        runtime.load()
        try:
            yield Gateway(stack, runtime)
        finally:
            runtime.close()


def call(
    gateway: Gateway,
    method: str,
    path: str,
    body: Any = None,
    *,
    tenant: str | None = "tenant-a",
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


def test_put_get_query_with_the_tenant_from_the_authorizer(gateway: Gateway) -> None:
    status, headers, body = call(gateway, "PUT", "/items/first", {"name": "First"})
    assert (status, body) == (201, {"id": "first"})
    assert headers["X-Item-Tenant"] == "tenant-a"  # responseParameters from the context
    assert call(gateway, "GET", "/items/first")[::2] == (200, {"id": "first", "name": "First"})
    assert call(gateway, "GET", "/items/first", tenant="tenant-c")[::2] == (
        404,
        {"message": "not found"},
    )
    assert {"id": "first", "name": "First"} in items(gateway, "tenant-a")
    assert items(gateway, "tenant-c") == []
    # The conditional failure is selected by "4\d{2}" and overridden to 409.
    assert call(gateway, "PUT", "/items/first", {"name": "Again"})[::2] == (
        409,
        {"message": "the item exists"},
    )


def test_update_and_delete_only_the_callers_item(gateway: Gateway) -> None:
    assert call(gateway, "PUT", "/items/ud", {"name": "Before"})[0] == 201
    assert call(gateway, "PATCH", "/items/ud", {"name": "Stolen"}, tenant="tenant-b")[::2] == (
        404,
        {"message": "not found"},
    )
    assert call(gateway, "DELETE", "/items/ud", tenant="tenant-b")[0] == 404
    assert call(gateway, "PATCH", "/items/ud", {"name": "After"})[::2] == (
        200,
        {"id": "ud", "name": "After"},
    )
    status, headers, body = call(gateway, "DELETE", "/items/ud")
    assert (status, headers["X-Deleted"], body) == (204, "ud", None)
    assert call(gateway, "GET", "/items/ud")[0] == 404
    assert call(gateway, "DELETE", "/items/ud")[0] == 404


def test_the_validator_runs_before_any_template(gateway: Gateway) -> None:
    invalid = {"message": "Invalid request body"}
    for body in ({}, {"name": ""}, {"name": 5}, {"name": "x" * 201}, {"name": "x", "pk": "y"}):
        assert call(gateway, "PUT", "/items/v1", body)[::2] == (400, invalid), body
    assert call(gateway, "PUT", "/items/v1", b"{not json")[::2] == (400, invalid)
    assert call(gateway, "PUT", "/items/v1", b"")[::2] == (400, invalid)
    assert call(gateway, "GET", "/items/v1")[0] == 404  # nothing was written
    # No model and no template for text/plain: passthroughBehavior NEVER refuses it.
    plain = (("Content-Type", "text/plain"),)
    assert call(gateway, "PUT", "/items/v1", b"name", headers=plain)[0] == 415


def test_the_authorizer_guards_direct_routes(gateway: Gateway) -> None:
    assert call(gateway, "GET", "/items", tenant=None)[0] == 401
    assert call(gateway, "GET", "/items", tenant="deny")[0] == 401
    status, _, body = call(gateway, "GET", "/open", tenant=None)  # security: [] (mock)
    assert (status, body) == (200, {"open": True, "tenant": ""})


def test_the_mapped_tenant_header_reaches_a_per_tenant_function(gateway: Gateway) -> None:
    spoof = (("X-Amz-Tenant-Id", "tenant-b"),)
    status, _, body = call(gateway, "POST", "/whoami", headers=spoof, query=(("t", "tenant-b"),))
    assert status == 200
    assert body["tenant_id"] == "tenant-a"
    assert body["authorizer"]["tenantId"] == "tenant-a"
    assert body["resource"] == "/whoami"


@pytest.mark.parametrize("name", ATTACKS)
def test_attack_body_fields_stay_inside_their_string(gateway: Gateway, name: str) -> None:
    item_id = f"attack-{ATTACKS.index(name)}"
    status, _, _ = call(gateway, "PUT", f"/items/{item_id}", {"name": name})
    assert status == 201
    assert call(gateway, "GET", f"/items/{item_id}")[::2] == (200, {"id": item_id, "name": name})
    assert all(item["id"] != "stolen" for item in items(gateway, "tenant-a"))
    assert items(gateway, "tenant-b") == []


@pytest.mark.parametrize("body", UNPAIRED_SURROGATES)
def test_attack_unpaired_surrogates_are_a_4xx_and_write_nothing(
    gateway: Gateway, body: str
) -> None:
    item_id = f"surrogate-{UNPAIRED_SURROGATES.index(body)}"
    raw = body.encode("ascii")
    assert call(gateway, "PUT", f"/items/{item_id}", raw)[::2] == (400, {"message": "bad request"})
    assert call(gateway, "GET", f"/items/{item_id}")[0] == 404
    assert call(gateway, "PUT", f"/items/{item_id}", {"name": "n"})[0] == 201
    assert call(gateway, "PATCH", f"/items/{item_id}", raw)[0] == 404  # its 4xx mapping
    assert call(gateway, "GET", f"/items/{item_id}")[::2] == (200, {"id": item_id, "name": "n"})
    # Unescaped, the template writes the character itself, which goes out as Java encodes
    # it (``?``), or the service's 400 when an escape remains: the default response, 200.
    assert call(gateway, "PUT", f"/unescaped/{item_id}", raw)[0] == 200


def test_an_escaped_surrogate_pair_is_one_character(gateway: Gateway) -> None:
    raw = b'{"name": "\\ud83d\\ude00"}'
    assert call(gateway, "PUT", "/items/pair", raw)[0] == 201
    assert call(gateway, "GET", "/items/pair")[::2] == (200, {"id": "pair", "name": "\U0001f600"})


@pytest.mark.parametrize(
    "item_id", ['a"b', "a}b", "a#b", "a$b", "a\u0000b", "a\nb", "a'b", '"},"pk":{"S":"x']
)
def test_attack_path_parameters_stay_inside_their_string(gateway: Gateway, item_id: str) -> None:
    from urllib.parse import quote

    path = "/items/" + quote(item_id, safe="")
    status, _, body = call(gateway, "PUT", path, {"name": "n"})
    assert (status, body) == (201, {"id": item_id})
    assert call(gateway, "GET", path)[::2] == (200, {"id": item_id, "name": "n"})
    assert items(gateway, "tenant-b") == []


def test_an_encoded_backslash_in_a_path_parameter_is_refused_before_routing(
    gateway: Gateway,
) -> None:
    assert call(gateway, "PUT", "/items/a%5Cb", {"name": "n"})[0] == 400  # decision 15


def test_attack_a_tenant_in_the_body_query_or_headers_is_ignored(gateway: Gateway) -> None:
    headers = (("X-Amz-Tenant-Id", "tenant-b"), ("tenantId", "tenant-b"))
    query = (("tenantId", "tenant-b"),)
    body = {"name": "mine", "tenantId": "tenant-b"}
    assert call(gateway, "PUT", "/items/t1", body, headers=headers, query=query)[0] == 400
    status, _, _ = call(gateway, "PUT", "/items/t1", {"name": "mine"}, headers=headers, query=query)
    assert status == 201
    assert items(gateway, "tenant-b") == []
    assert call(gateway, "GET", "/items/t1", tenant="tenant-b")[0] == 404


def test_an_unescaped_template_breaks_out_so_the_engine_is_faithful(gateway: Gateway) -> None:
    """The same fragment through a template that does not escape: the string ends early
    and the fragment's ``pk`` (the last one wins in JSON) writes into tenant-b."""
    fragment = 'x"}, "pk": {"S": "tenant-b#item"}, "y": {"S": "'
    status, _, _ = call(gateway, "PUT", "/unescaped/leak", {"name": fragment})
    assert status == 200
    assert {"id": "leak", "name": "x"} in items(gateway, "tenant-b")
    # A quote alone breaks the JSON: DynamoDB answers 400 SerializationException, which
    # this template's only (default) response maps to 200; nothing is written.
    status, _, body = call(gateway, "PUT", "/unescaped/broken", {"name": 'a"b'})
    assert (status, body["__type"]) == (200, "com.amazon.coral.service#SerializationException")
    assert call(gateway, "GET", "/items/broken")[0] == 404


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.text(min_size=1, max_size=200))
def test_any_name_round_trips_and_never_is_a_5xx(gateway: Gateway, name: str) -> None:
    item = uuid.uuid4()  # a fresh item each time: hypothesis replays examples
    assert call(gateway, "PUT", f"/items/{item}", {"name": name})[0] == 201
    assert call(gateway, "GET", f"/items/{item}")[::2] == (200, {"id": str(item), "name": name})


def test_direct_routes_over_http(gateway: Gateway) -> None:
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
            headers={"X-Tenant": "tenant-h", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert response.status == 201
            assert response.headers["X-Item-Tenant"] == "tenant-h"
            assert json.loads(response.read()) == {"id": "http-1"}
        request = urllib.request.Request(  # noqa: S310
            f"{url}/items/http-1", headers={"X-Tenant": "tenant-h"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert json.loads(response.read()) == {"id": "http-1", "name": 'over "http"'}
        request.add_header("X-Tenant", "tenant-other")
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
    gateway: Gateway, body: bytes, content_type: str, item: str
) -> None:
    from urllib.parse import quote

    headers = (("Content-Type", content_type),) if content_type else ()
    path = "/items/" + quote(item, safe="")
    routes = [("PUT", path), ("PATCH", path), ("GET", path), ("DELETE", path), ("GET", "/items")]
    for method, route in [*routes, ("PUT", "/unescaped/x")]:
        status, _, _ = call(gateway, method, route, body, headers=headers)
        assert status < 500, (method, route)
    # only the unescaped template's demonstrated leak may ever sit in tenant-b
    assert all(found["id"] == "leak" for found in items(gateway, "tenant-b"))


def test_concurrent_tenants_read_their_own_answers(gateway: Gateway) -> None:
    """Each request thread keeps its own wire request and response (one client for all)."""
    from concurrent.futures import ThreadPoolExecutor

    def tenant_round(index: int) -> list[tuple[int, Any]]:
        tenant = f"tenant-c{index}"
        seen = []
        for round_ in range(5):
            name = f"{tenant} item {round_}"
            status, _, _ = call(gateway, "PUT", f"/items/r{round_}", {"name": name}, tenant=tenant)
            seen.append((status, None))
            status, _, body = call(gateway, "GET", f"/items/r{round_}", tenant=tenant)
            seen.append((status, body["name"]))
        return seen

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(tenant_round, range(8)))
    for index, seen in enumerate(outcomes):
        assert [s for s, _ in seen] == [201, 200] * 5
        assert [n for _, n in seen[1::2]] == [f"tenant-c{index} item {r}" for r in range(5)]
