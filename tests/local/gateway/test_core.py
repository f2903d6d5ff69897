"""The gateway without HTTP: a request through the pipeline, encoded separators."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tenantkit.local.gateway import Gateway, Request
from tests.local.gateway.conftest import RESOURCE_APP, authorized_template, gateway_of


def test_handle_without_http(gateway: Gateway) -> None:
    request = Request("GET", "/open", [("q", "1"), ("q", "2")], [("Host", "h")], b"")
    response = gateway.handle(request)
    assert response.status == 200
    event = json.loads(response.body)["event"]
    assert event["queryStringParameters"] == {"q": "2"}
    assert event["multiValueQueryStringParameters"] == {"q": ["1", "2"]}
    assert "authorizer" not in event["requestContext"]
    assert event["requestContext"]["path"] == "/test/open"


ENCODED_SLASH_TEMPLATE = authorized_template(
    "tklocal_slashauth",
    "tklocal_slashapp",
    """\
DeletePark:
  Type: Api
  Properties: {RestApiId: !Ref Api, Path: "/parks/{parkId}", Method: delete}
DeleteFavorite:
  Type: Api
  Properties:
    RestApiId: !Ref Api
    Path: "/parks/{parkId}/favorites/{favoriteId}"
    Method: delete
""",
)


@pytest.fixture
def favorites(tmp_path: Path) -> Iterator[Gateway]:
    """A visitor may delete a favourite (``DELETE/parks/*/favorites/*``), not a park."""
    # The visitor's policy, in the shape RoleMap compiles it: path parameters become "*".
    auth = (
        "def handler(event, context):\n"
        "    prefix = event['methodArn'].split('/', 2)[:2]\n"
        "    resource = '/'.join(prefix) + '/DELETE/parks/*/favorites/*'\n"
        "    statement = {'Effect': 'Allow', 'Action': 'execute-api:Invoke',\n"
        "                 'Resource': resource}\n"
        "    return {'principalId': 'visitor', 'policyDocument': {'Statement': [statement]}}\n"
    )
    modules = {"tklocal_slashauth": auth, "tklocal_slashapp": RESOURCE_APP}
    with gateway_of(tmp_path, ENCODED_SLASH_TEMPLATE, modules) as gateway:
        yield gateway


def test_attack_encoded_slash_reaches_an_admin_route(favorites: Gateway) -> None:
    """``%2F`` must not fold a route the visitor may call into an admin route's parameter.

    Routed segment by segment, ``/parks/p1%2Ffavorites%2Ff1`` is ``DELETE /parks/{parkId}``
    (admin only); a method ARN built from the decoded path would read
    ``DELETE/parks/p1/favorites/f1``, which the visitor's policy allows.
    """

    def call(method: str, path: str) -> tuple[int, Any]:
        response = favorites.handle(Request(method, path, [], [("X-Token", "t")], b""))
        return response.status, json.loads(response.body)

    assert call("DELETE", "/parks/p1/favorites/f1") == (
        200,
        "/parks/{parkId}/favorites/{favoriteId}",
    )
    assert call("DELETE", "/parks/p1")[0] == 403
    for path in (
        "/parks/p1%2Ffavorites%2Ff1",
        "/parks/p1%2ffavorites%2ff1",
        "/parks/p1%2Ffavorites/f1",
        "/parks/p1%5Cfavorites%5Cf1",
        "/parks/p1%5cfavorites%5cf1",
    ):
        status, body = call("DELETE", path)
        assert (status, body) != (200, "/parks/{parkId}"), path
        assert status == 400, path


def test_encoded_slash_stays_in_its_segment_and_is_refused(gateway: Gateway) -> None:
    found = gateway.router.route("GET", "/echo/a%2Fb")
    assert found is not None
    assert (found[0].path, found[1]) == ("/echo/{name}", {"name": "a/b"})
    for path in ("/echo/a%2Fb", "/open%2F", "/open%5C", "/files/a%2fb"):
        response = gateway.handle(Request("GET", path, [], [], b""))
        assert response.status == 400, path
        assert json.loads(response.body)["message"].startswith("Bad request")
    response = gateway.handle(Request("GET", "/open%3F", [], [], b""))
    assert response.status == 403  # "/open?" is not "/open"
    # Other escapes are decoded as usual; a "%2F" in the query string is not in the path.
    assert gateway.handle(Request("GET", "/op%65n", [], [], b"")).status == 200
    assert gateway.handle(Request("GET", "/open", [("q", "a/b")], [], b"")).status == 200
