"""The generated DefinitionBody served by ``tenantkit local``'s gateway on moto: the parks
routes end to end, each tenant seeing only its own parks (integration: worker processes
and a loopback moto server)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tenantkit.direct import dump, parse_spec, render_openapi

from .conftest import PARKS

pytest.importorskip("tenantkit.local.gateway")
from tenantkit.local.gateway import Gateway, Request
from tests.local.conftest import gateway_on

pytestmark = pytest.mark.integration

#: A REQUEST authorizer standing in for tenantkit's: the X-Tenant header is the tenant.
GATE = """
def handler(event, context):
    tenant = event["headers"]["X-Tenant"]
    arn = "/".join(event["methodArn"].split("/", 2)[:2]) + "/*"
    statement = {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": arn}
    return {"principalId": "u-" + tenant, "context": {"tenantId": tenant, "userId": "u-" + tenant},
            "policyDocument": {"Version": "2012-10-17", "Statement": [statement]}}
"""
ECHO = """
import json

def handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"tenant_id": context.tenant_id})}
"""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    directory = tmp_path_factory.mktemp("parks")
    spec = yaml.safe_load(PARKS.read_text())
    spec["credentials"] = "arn:aws:iam::123456789012:role/direct"  # no IAM locally
    (directory / "openapi.yaml").write_text(dump(render_openapi(parse_spec(spec))))
    template = yaml.safe_load((Path(__file__).parent / "template.yaml").read_text())
    resources = template["Resources"]
    del resources["DirectRole"]
    resources["Api"] = resources.pop("Api")  # after what it references
    resources["Api"]["Properties"]["DefinitionBody"] = {
        "Fn::Transform": {"Name": "AWS::Include", "Parameters": {"Location": "openapi.yaml"}}
    }
    function = {"Runtime": "python3.12", "CodeUri": "."}
    resources["AuthorizerFunction"]["Properties"] = {**function, "Handler": "gate.handler"}
    resources["WebhooksFunction"]["Properties"] = {
        **function,
        "Handler": "echo.handler",
        "TenancyConfig": {"TenantIsolationMode": "PER_TENANT"},
    }
    (directory / "template.yaml").write_text(yaml.safe_dump(template, sort_keys=False))
    (directory / "gate.py").write_text(GATE)
    (directory / "echo.py").write_text(ECHO)
    with gateway_on(directory / "template.yaml") as gateway:
        yield gateway


def call(
    gateway: Gateway,
    method: str,
    path: str,
    body: Any = None,
    *,
    tenant: str = "texas",
    query: tuple[tuple[str, str], ...] = (),
) -> tuple[int, Any]:
    headers = [
        ("X-Tenant", tenant),
        ("Authorization", "token-" + tenant),
        ("Content-Type", "application/json"),
    ]
    raw = b"" if body is None else json.dumps(body).encode()
    response = gateway.handle(Request(method, path, list(query), headers, raw))
    text = response.body.decode()
    return response.status, json.loads(text) if text.strip() else None


def test_the_parks_routes_end_to_end(gateway: Gateway) -> None:
    name = "Big \"Bend\" #$ \\ \u0000 'x'"
    assert call(gateway, "POST", "/parks", {"id": "big-bend", "name": name}) == (
        201,
        {"id": "big-bend"},
    )
    assert call(gateway, "POST", "/parks", {"id": "big-bend", "name": "again"})[0] == 409
    assert (
        call(gateway, "POST", "/parks", {"id": "big-bend", "name": "x", "tenantId": "w"})[0] == 400
    )
    assert call(gateway, "GET", "/parks/big-bend") == (
        200,
        {"id": "big-bend", "name": name, "status": None},
    )
    assert call(gateway, "GET", "/parks/big-bend", tenant="washington")[0] == 404
    for park in "abc":
        call(gateway, "POST", "/parks", {"id": park, "name": park}, tenant="washington")
    seen, cursor = [], None
    while True:
        query = (("limit", "2"),) + ((("cursor", cursor),) if cursor else ())
        status, page = call(gateway, "GET", "/parks", tenant="washington", query=query)
        assert status == 200
        seen += [park["id"] for park in page["items"]]
        cursor = page["cursor"]
        if cursor is None:
            break
    assert seen == ["a", "b", "c"]
    assert call(gateway, "GET", "/parks", query=(("cursor", "junk"),))[0] == 400
    assert call(gateway, "PATCH", "/parks/big-bend", {"name": "Big Bend"})[0] == 200
    assert call(gateway, "PATCH", "/parks/a", {"name": "stolen"})[0] == 404  # washington's
    assert call(gateway, "DELETE", "/parks/a")[0] == 404
    assert call(gateway, "POST", "/parks/big-bend/statuses", {"status": "park-closed"})[0] == 204
    assert call(gateway, "POST", "/parks/big-bend/webhooks", {}) == (200, {"tenant_id": "texas"})
    assert call(gateway, "GET", "/parks", tenant="")[0] == 403
