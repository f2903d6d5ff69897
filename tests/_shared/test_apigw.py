"""API Gateway routes: grammar, REST and HTTP API routing, and the exact path search.

Routing is checked against ``model.py`` (written apart from tenantkit); ``find_path``
against brute force with the model's own matching, which also checks that a
segment-shaped IAM pattern matches exactly the paths its automaton accepts.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit._shared.apigw import (
    GREEDY,
    PARAM,
    STAR,
    Api,
    Route,
    RouteTable,
    Shape,
    find_path,
    split_path,
)
from tenantkit.errors import ConfigurationError

from . import model
from .strategies import FRESH, LITERALS, requests, route_keys


def table(keys: list[str]) -> RouteTable:
    return RouteTable(Route.parse(key) for key in keys)


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ("GET /", ()),
        ("GET /parks", ("parks",)),
        ("ANY /parks/{parkId}", ("parks", PARAM)),
        ("DELETE /a/{b}/c/{proxy+}", ("a", PARAM, "c", GREEDY)),
        ("OPTIONS /v1.2/~x@y:z-_", ("v1.2", "~x@y:z-_")),
    ],
)
def test_route_grammar(text: str, shape: Shape) -> None:
    route = Route.parse(text)
    assert route.key == text
    assert route.shape == shape


@pytest.mark.parametrize(
    "text",
    ["GET /*", "GET /a/*", "GET /a*", "GET ", "get /a", "GET a", "GET /a/", "GET /{a+}/b", 7],
)
def test_route_grammar_refuses(text: object) -> None:
    with pytest.raises(ConfigurationError):
        Route.parse(text)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("GET /", ()),
        ("GET /parks", ()),
        ("ANY /parks/{parkId}", ("parkId",)),
        ("DELETE /a/{b}/c/{proxy+}", ("b", "proxy")),
    ],
)
def test_route_parameters_are_the_names_in_order(text: str, names: tuple[str, ...]) -> None:
    assert Route.parse(text).parameters == names


@pytest.mark.parametrize("text", ["GET /a/{id}/{id}", "GET /{id}/b/{id}", "GET /a/{id}/{id+}"])
def test_a_parameter_named_twice_is_refused(text: str) -> None:
    # API Gateway's pathParameters could hold only one of them.
    with pytest.raises(ConfigurationError, match="'id' twice"):
        Route.parse(text)


def test_one_route_per_method_and_shape() -> None:
    with pytest.raises(ConfigurationError, match="same route"):
        table(["GET /a/{x}", "GET /a/{y}"])
    routes = table(["GET /a/{x}", "POST /a/{y}", "ANY /a/{z}"])
    rest = {"PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
    assert routes.methods(Route.parse("ANY /a/{z}")) == rest
    assert routes.methods(Route.parse("GET /a/{x}")) == {"GET"}


@pytest.mark.parametrize(
    ("method", "path", "rest", "http"),
    [
        # AWS's HTTP API example: GET /pets/dog/{id}, GET /pets/{proxy+}, ANY /{proxy+}
        ("GET", "/pets/dog/1", "GET /pets/dog/{id}", "GET /pets/dog/{id}"),
        ("GET", "/pets/cat/1", "GET /pets/{proxy+}", "GET /pets/{proxy+}"),
        ("POST", "/test/5", "ANY /{proxy+}", "ANY /{proxy+}"),
        ("POST", "/pets/dog/1", "ANY /{proxy+}", "ANY /{proxy+}"),
        ("GET", "/", None, None),  # a greedy parameter needs a segment
        # README: GET /admin/summary goes to GET /admin/{reportId}, not GET /{x}/summary
        ("GET", "/admin/summary", "GET /admin/{reportId}", "GET /admin/{reportId}"),
        # a literal prefix leading to a greedy route: REST keeps it, HTTP prefers full
        ("GET", "/pets/x/y", "GET /pets/{proxy+}", "GET /{a}/x/y"),
        ("PUT", "/admin/1", "ANY /admin/{reportId}", "ANY /admin/{reportId}"),
        ("TRACE", "/admin/1", None, None),
    ],
)
def test_routing_examples(method: str, path: str, rest: str | None, http: str | None) -> None:
    routes = table(
        [
            "GET /pets/dog/{id}",
            "GET /pets/{proxy+}",
            "ANY /{proxy+}",
            "GET /{x}/summary",
            "GET /admin/{reportId}",
            "ANY /admin/{reportId}",
            "GET /{a}/x/y",
        ]
    )
    for api, expected in ((Api.REST, rest), (Api.HTTP, http)):
        found = routes.route(method, split_path(path), api)
        assert (found.key if found else None) == expected, api


@settings(max_examples=300, deadline=None)
@given(
    keys=route_keys(),
    default=st.booleans(),
    batch=st.lists(requests, min_size=1, max_size=20),
)
def test_routing_equals_the_models(
    keys: list[str], default: bool, batch: list[model.Request]
) -> None:
    keys = [*keys, model.DEFAULT] if default else keys
    routes = table(keys)
    for method, path in batch:
        rest = routes.route(method, path, Api.REST)
        http = routes.route(method, path, Api.HTTP)
        assert (rest.key if rest else None) == model.rest_backtracking(keys, (method, path))
        assert (http.key if http else None) == model.http_api(keys, (method, path))
        walked = model.rest_walk(keys, (method, path))
        assert walked is None or walked == model.rest_backtracking(keys, (method, path))


def accepts(shape: Shape, path: tuple[str, ...]) -> bool:
    """The model's reading of a shape: a route path (fits) or an IAM glob (glob)."""
    if STAR in shape:
        return model.glob("GET/" + "/".join(shape), "GET/" + "/".join(path))
    segments = [{PARAM: "{p}", GREEDY: "{g+}"}.get(s, s) for s in shape]
    return model.fits(segments, path)


template = st.lists(st.sampled_from([*LITERALS, PARAM]), max_size=3).flatmap(
    lambda head: st.sampled_from([(*head,), (*head, GREEDY)])
)
pattern = st.lists(st.sampled_from([*LITERALS, STAR]), max_size=4).map(tuple)
shapes = st.one_of(template, pattern)


@settings(max_examples=300, deadline=None)
@given(accept=st.lists(shapes, min_size=1, max_size=3), reject=st.lists(shapes, max_size=3))
def test_find_path_equals_brute_force(accept: list[Shape], reject: list[Shape]) -> None:
    def wanted(path: tuple[str, ...]) -> bool:
        return all(accepts(s, path) for s in accept) and not any(accepts(s, path) for s in reject)

    found = find_path(accept, reject)
    if found is not None:
        assert wanted(tuple(FRESH if s is None else s for s in found))
    limit = len(found) if found is not None else 5
    shorter = (
        path for size in range(limit) for path in itertools.product([*LITERALS, FRESH], repeat=size)
    )
    assert not any(wanted(path) for path in shorter)  # found is a shortest path, or none is


def test_one_star_pattern_also_matches_the_root() -> None:
    """IAM's ``GET/*`` matches ``GET/`` (a star matches nothing); ``/{proxy+}`` does not."""
    assert model.glob("GET/*", "GET/")
    assert find_path([(STAR,)]) == ()
    assert find_path([(GREEDY,)]) == (None,)
    assert find_path([(STAR, STAR)]) == (None, None)


def test_default_takes_what_no_route_takes_on_http_apis_only() -> None:
    routes = table(["GET /a/{x}", "$default"])
    assert routes.route("GET", ("a", "b"), Api.HTTP) == Route.parse("GET /a/{x}")
    for path in [(), ("a",), ("a", "b", "c")]:
        assert routes.route("GET", path, Api.HTTP) == Route.parse("$default")
        assert routes.route("GET", path, Api.REST) is None
    assert routes.route("POST", ("a", "b"), Api.HTTP) == Route.parse("$default")
    default = Route.parse("$default")
    assert (default.key, default.shape, default.parameters) == ("$default", (STAR,), ())
    assert (default.method, default.path) == ("$default", "")
    assert routes.methods(default) == frozenset(
        ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
    )


def test_default_is_declared_once() -> None:
    with pytest.raises(ConfigurationError, match="declared twice"):
        table(["$default", "$default"])


# -- issue 16: gaps found by mutation testing ----------------------------------------------


def test_a_request_may_reach_a_route_on_http_apis_only() -> None:
    """``GET /a/b``: REST takes the literal ``a`` (greedy route), HTTP the full match."""
    routes = table(["GET /{x}/{y}", "GET /a/{proxy+}"])
    full = routes.shapes[(PARAM, PARAM)]["GET"]
    assert model.rest_backtracking(["GET /{x}/{y}", "GET /a/{proxy+}"], ("GET", ("a", "b"))) == (
        "GET /a/{proxy+}"
    )
    assert model.http_api(["GET /{x}/{y}", "GET /a/{proxy+}"], ("GET", ("a", "b"))) == (
        "GET /{x}/{y}"
    )
    assert routes.reaching(("a", STAR), full, "GET") == ("a", None)


def test_a_pattern_that_reaches_default_reaches_another_route() -> None:
    """``GET/parks/*`` also matches ``GET /parks/1/2``, which only ``$default`` takes."""
    for keys, only in [(["GET /parks/{id}"], True), (["GET /parks/{id}", "$default"], False)]:
        routes = table(keys)
        assert routes.reaches_only(routes.shapes[("parks", PARAM)]["GET"]) is only


def test_separating_may_use_exactly_max_patterns(monkeypatch: pytest.MonkeyPatch) -> None:
    routes = table(["GET /{x}/b/{y}", "GET /{proxy+}"])
    reaching, refused = routes.shapes[(PARAM, "b", PARAM)]["GET"], routes.shapes[(GREEDY,)]["GET"]
    monkeypatch.setattr("tenantkit._shared.apigw.MAX_PATTERNS", 2)
    assert routes.separating(reaching, refused, "GET", [reaching]) == [
        (STAR, STAR, "b", STAR),
        (STAR, "b", STAR, STAR),
    ]
    monkeypatch.setattr("tenantkit._shared.apigw.MAX_PATTERNS", 1)
    with pytest.raises(ConfigurationError, match="more ways than 1"):
        routes.separating(reaching, refused, "GET", [reaching])


def test_split_by_api_looks_past_shapes_that_cannot_split_or_do_not_differ() -> None:
    """REST routes ``GET /a/b/c`` to the greedy route (literals first), HTTP to the full
    match; the shapes ahead of it (non-greedy, or greedy but alike) do not stop the search."""
    keys = ["GET /b/{y}/c", "GET /c/{proxy+}", "GET /a/b/{proxy+}", "GET /{x}/{y}/c"]
    routes = table(keys)
    greedy, full = Route.parse("GET /a/b/{proxy+}"), Route.parse("GET /{x}/{y}/c")
    assert model.rest_backtracking(keys, ("GET", ("a", "b", "c"))) == greedy.key
    assert model.http_api(keys, ("GET", ("a", "b", "c"))) == full.key
    assert routes.split_by_api(lambda rest, http: rest == greedy) == (
        "GET",
        ("a", "b", "c"),
        greedy,
        full,
    )


def test_split_by_api_counts_only_the_method_s_routes_ahead_on_rest() -> None:
    """``GET /a/{y}/{proxy+}`` takes every request REST would give ``GET /a/{proxy+}``
    that HTTP gives ``GET /{x}/{y}/c``: those two never split."""
    keys = ["GET /a/{proxy+}", "GET /a/{y}/{proxy+}", "GET /{x}/{y}/c"]
    routes = table(keys)
    outer = Route.parse("GET /a/{proxy+}")
    for path in [("a", "b", "c"), ("a", "x", "c")]:
        assert model.rest_backtracking(keys, ("GET", path)) == "GET /a/{y}/{proxy+}"
    assert routes.split_by_api(lambda rest, http: rest == outer) is None
    assert routes.split_by_api(lambda rest, http: True) is not None


def test_find_path_goes_on_past_a_state_that_accepts() -> None:
    """After ``a/b/c/x`` the greedy shape both accepts and may take more segments."""
    assert find_path([("a", "b", "c", GREEDY), (PARAM,) * 5]) == ("a", "b", "c", None, None)
