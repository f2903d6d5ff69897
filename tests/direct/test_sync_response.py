"""The response template of a ``StartSyncExecution`` route: the machine's output, typed.

The output is whatever the state machine produced, so it is treated like caller input:
whatever it holds, the answer is one JSON object with exactly the declared fields, each
of its declared type or ``null``, and strings lose the caller's own tenant prefix.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import STATE_MACHINE, Route
from .velocity import render

RETURNS = {
    "id": {},
    "count": {"type": "integer"},
    "total": {"type": "number"},
    "done": {"type": "boolean"},
}
_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool}


@pytest.fixture(scope="module")
def response() -> str:
    from tenantkit.direct import parse_spec, render_openapi

    spec = {
        "authorizer": {"name": "A", "function": "arn:aws:lambda:us-east-1:1:function:a"},
        "routes": [
            {
                "operation": "run",
                "method": "POST",
                "path": "/runs",
                "stepfunctions": {
                    "action": "StartSyncExecution",
                    "state_machine": STATE_MACHINE,
                    "returns": RETURNS,
                },
            }
        ],
    }
    return Route(render_openapi(parse_spec(spec)), "/runs", "post").response()


def _answer(response: str, output: dict[str, Any], tenant: str = "texas") -> dict[str, Any]:
    body = {"status": "SUCCEEDED", "output": json.dumps(output)}
    answer: dict[str, Any] = render(response, body=body, tenant=tenant).json()
    return answer


@pytest.mark.parametrize(
    "hostile",
    ['1,"injected":true', "1}", '1, "id": "x"', "NaN", "Infinity", "0x10", "1 ", "", "-"],
)
def test_a_number_field_holding_text_answers_null(response: str, hostile: str) -> None:
    answer = _answer(response, {"total": hostile, "count": hostile, "id": "a"})
    assert answer == {"id": "a", "count": None, "total": None, "done": None}


@pytest.mark.parametrize(
    ("value", "count", "total"),
    [
        (7, 7, 7),
        (-2, -2, -2),
        (0, 0, 0),
        (2.5, None, 2.5),
        (1e20, None, 1e20),
        (-0.125, None, -0.125),
    ],
)
def test_numbers_keep_their_value_and_integers_refuse_fractions(
    response: str, value: float, count: int | None, total: float | None
) -> None:
    answer = _answer(response, {"count": value, "total": value})
    assert (answer["count"], answer["total"]) == (count, total)


@pytest.mark.parametrize(
    ("value", "done"),
    [(True, True), (False, False), ("false", False), ("true", True), ("yes", None), (0, None)],
)
def test_a_boolean_field_is_true_only_for_true(
    response: str, value: Any, done: bool | None
) -> None:
    assert _answer(response, {"done": value})["done"] is done


@pytest.mark.parametrize(
    ("value", "answered"),
    [
        ("texas#park#1", "park#1"),
        ("texas#", ""),
        ("washington#park#1", "washington#park#1"),
        ("park#texas#1", "park#texas#1"),
        ('x"}, "injected": "', 'x"}, "injected": "'),
    ],
)
def test_strings_lose_the_callers_tenant_prefix_only(
    response: str, value: str, answered: str
) -> None:
    assert _answer(response, {"id": value})["id"] == (answered or None)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=100, deadline=None)
@given(output=st.dictionaries(st.sampled_from([*RETURNS, "tenantId", "pk"]), _JSON))
def test_any_output_answers_exactly_the_declared_fields_typed(
    response: str, output: dict[str, Any]
) -> None:
    answer = _answer(response, output)
    assert set(answer) == set(RETURNS)
    for name, returned in RETURNS.items():
        kind = _TYPES[returned.get("type", "string")]
        assert answer[name] is None or isinstance(answer[name], kind), (name, answer[name])
        assert kind is bool or not isinstance(answer[name], bool), (name, answer[name])
        if isinstance(output.get(name), str) and kind is str:
            assert answer[name] == (output[name].removeprefix("texas#") or None)


@pytest.mark.parametrize(
    "output",
    [
        {"id": "texas#park#1", "count": 3, "total": 1e20, "done": True},
        {"id": 'x"}\\', "count": '1,"injected":true', "total": "2.5", "done": "false"},
        {"id": "", "count": 2.5, "total": None, "done": 1},
    ],
)
def test_tenantkit_local_answers_as_the_tests_engine(response: str, output: dict[str, Any]) -> None:
    gateway_vtl = pytest.importorskip("tenantkit.local.gateway.vtl")
    mapping = pytest.importorskip("tenantkit.local.gateway.mapping")
    body = json.dumps({"status": "SUCCEEDED", "output": json.dumps(output)})
    variables = {
        "input": mapping.Input(body, {}, {}, {}),
        "util": mapping.Util(),
        "context": {
            "authorizer": {"tenantId": "texas", "userId": "alice"},
            "responseOverride": {"status": None, "header": {}},
        },
    }
    assert json.loads(gateway_vtl.render(response, variables)) == _answer(response, output)
