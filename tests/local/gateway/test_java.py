"""Java's semantics in templates: arithmetic, comparison and equality as Velocity 1.7
has them, lenient where Python would raise (a caller's odd value is never a 500)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit.local.gateway.java import OPERATORS, velocity_equals
from tenantkit.local.gateway.vtl import render


@pytest.mark.parametrize(
    ("template", "printed"),
    [
        ("#set($x = 7 / 2)$x", "3"),
        ("#set($x = -7 / 2)$x", "-3"),  # Java truncates toward zero
        ("#set($x = -7 % 2)$x", "-1"),  # the remainder takes the dividend's sign
        ("#set($x = 7.0 / 2)$x", "3.5"),
        ("#set($x = 2 * 3 + 1)$x", "7"),
        ("#set($x = 1 / 0)[$!x]", "[]"),  # null, as Velocity logs and moves on
        ("#set($x = $s + 1)[$!x]", "[]"),  # not a number: null
        ("#if($s > 1)y#{else}n#end", "n"),  # cannot be ordered: false
        ("#if($n == '5')y#{else}n#end", "y"),  # different kinds compare as text
        ("#if($n == 5.0)y#{else}n#end", "y"),  # numbers by value
        ("#if($n != $s)y#{else}n#end", "y"),
        ("#if($missing == $other)y#{else}n#end", "y"),  # null is only null
        ("#if($missing == '')y#{else}n#end", "n"),
    ],
)
def test_operators(template: str, printed: str) -> None:
    assert render(template, {"s": "text", "n": 5}) == printed


def java_int_division(a: int, b: int) -> int:
    """The model: Java's ``/`` on ints rounds toward zero."""
    quotient = abs(a) // abs(b)
    return quotient if (a >= 0) == (b > 0) else -quotient


@settings(max_examples=100)
@given(st.integers(-(10**6), 10**6), st.integers(-1000, 1000).filter(bool))
def test_integer_division_and_remainder_are_javas(a: int, b: int) -> None:
    quotient = java_int_division(a, b)
    assert OPERATORS["/"](a, b) == quotient
    assert OPERATORS["%"](a, b) == a - b * quotient


@settings(max_examples=100)
@given(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
)
def test_no_operator_raises_on_a_callers_values(a: Any, b: Any) -> None:
    for apply in OPERATORS.values():
        apply(a, b)  # never raises
    assert velocity_equals(a, b) == velocity_equals(b, a)
