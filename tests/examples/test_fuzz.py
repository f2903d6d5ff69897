"""Whatever the body, path or query, a Lambda route never answers a 5xx or a non-JSON error.

The direct routes get the same treatment under the gateway in test_parks.py."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.examples.conftest import StateParks, lambda_routes

ROUTES = lambda_routes()
USERS = ("alice", "bob", "carol", "dave")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=80),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(
    ["id", "name", "status", "eventType", "endpoint", "customerId", "makeActive", "userId", "roles"]
)
bodies = (
    st.dictionaries(field_names, json_values, max_size=5).map(json.dumps)
    | json_values.map(json.dumps)
    | st.text(max_size=60)
)
segments = st.text(min_size=1, max_size=70) | st.sampled_from(
    ["palo-duro-canyon", "deception-pass", "texas", "washington", "sub_" + "0" * 32]
)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    route=st.sampled_from(ROUTES),
    user=st.sampled_from(USERS),
    raw=bodies,
    segment=segments,
    limit=st.none() | st.text(max_size=5),
    cursor=st.none() | st.text(max_size=40),
)
def test_no_input_gets_a_server_error(
    app: StateParks,
    route: tuple[str, str],
    user: str,
    raw: str,
    segment: str,
    limit: str | None,
    cursor: str | None,
) -> None:
    method, resource = route
    params = {
        name: segment
        for name in ("parkId", "webhookId", "customerId")
        if "{" + name + "}" in resource
    }
    query: dict[str, Any] = {}
    if limit is not None:
        query["limit"] = limit
    if cursor is not None:
        query["cursor"] = cursor
    response = app.call(
        user,
        method,
        resource,
        params,
        raw_body=raw if method in {"POST", "PUT"} else None,
        query=query,
    )
    assert response.status < 500, (route, user, raw, response.body)
    if response.status >= 400:
        assert isinstance(response.body, dict)
        assert isinstance(response.body.get("message"), str)
