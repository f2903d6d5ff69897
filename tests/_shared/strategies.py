"""Hypothesis strategies for route sets and requests, shared by the routing tests."""

from __future__ import annotations

from hypothesis import strategies as st

from . import model

LITERALS = ["a", "b", "admin"]
FRESH = "zz"  # a segment that no generated route spells
REQUEST_METHODS = ["GET", "POST", "PUT"]  # PUT reaches only ANY routes


@st.composite
def route_keys(draw: st.DrawFn, max_routes: int = 7) -> list[str]:
    """Up to ``max_routes`` routes over literal, ``{param}`` and ``{proxy+}`` segments."""
    keys: dict[tuple[str, tuple[str, ...]], str] = {}
    for _ in range(draw(st.integers(1, max_routes))):
        drawn = draw(st.lists(st.sampled_from([*LITERALS, "{p}"]), max_size=3))
        # A route names each parameter once (Route.parse refuses a repeated name).
        path = [f"{{p{i}}}" if part == "{p}" else part for i, part in enumerate(drawn)]
        if draw(st.integers(0, 3)) == 0:
            path.append("{g+}")
        method = draw(st.sampled_from(["GET", "POST", "ANY"]))
        keys.setdefault((method, model.shape(path)), f"{method} /{'/'.join(path)}")
    return sorted(keys.values())


paths = st.lists(st.sampled_from([*LITERALS, FRESH]), max_size=5).map(tuple)
requests = st.tuples(st.sampled_from(REQUEST_METHODS), paths)


@st.composite
def out_of_model_paths(draw: st.DrawFn) -> tuple[str, ...]:
    """A path with a trailing ``/`` or an empty segment (``""``), never the root."""
    path = draw(st.lists(st.sampled_from([*LITERALS, FRESH]), min_size=1, max_size=4))
    path.insert(draw(st.integers(0, len(path))), "")
    return tuple(path)
