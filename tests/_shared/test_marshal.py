"""The lean marshaller agrees with boto3's serializer and refuses what DynamoDB cannot hold."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit._shared.dynamodb.marshal import (
    deserialize,
    deserialize_item,
    serialize,
    serialize_item,
)
from tenantkit.errors import (
    InvalidInputError,
    InvalidKeyError,
    InvalidValueError,
    UnexpectedResponseError,
)

scalars = st.one_of(
    st.text(max_size=20),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.decimals(
        allow_nan=False, allow_infinity=False, places=4, max_value=10**9, min_value=-(10**9)
    ),
    st.booleans(),
    st.none(),
    st.binary(max_size=10),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(min_size=1, max_size=5), inner, max_size=4),
        st.frozensets(st.text(max_size=5), min_size=1, max_size=4).map(set),
        st.frozensets(st.integers(-100, 100), min_size=1, max_size=4).map(set),
    ),
    max_leaves=12,
)


def _boto3_form(av: dict[str, Any]) -> dict[str, Any]:
    """boto3 wraps binaries in Binary and keeps set order; normalise for comparison."""
    ((tag, v),) = av.items()
    if tag in ("SS", "NS"):
        return {tag: sorted(v)}
    if tag == "B":
        return {tag: bytes(v)}
    if tag == "L":
        return {tag: [_boto3_form(x) for x in v]}
    if tag == "M":
        return {tag: {k: _boto3_form(x) for k, x in v.items()}}
    return av


@settings(max_examples=150, deadline=None)
@given(values)
def test_serialize_agrees_with_boto3_and_round_trips(value: Any) -> None:
    ours = serialize(value)
    assert _boto3_form(ours) == _boto3_form(TypeSerializer().serialize(value))
    back = deserialize(ours)
    assert back == value
    assert back == TypeDeserializer().deserialize(ours) or isinstance(value, bytes)


def test_numbers_come_back_as_int_or_decimal() -> None:
    assert deserialize({"N": "42"}) == 42
    assert type(deserialize({"N": "42"})) is int
    assert deserialize({"N": "1.50"}) == Decimal("1.50")
    assert deserialize({"N": "1E+2"}) == Decimal(100)
    assert deserialize({"NS": ["1", "2.5"]}) == {1, Decimal("2.5")}


def test_subclasses_and_mappings_are_accepted() -> None:
    from collections import OrderedDict
    from enum import StrEnum

    class Colour(StrEnum):
        RED = "red"

    assert serialize(Colour.RED) == {"S": "red"}
    assert serialize(OrderedDict(a=1)) == {"M": {"a": {"N": "1"}}}
    assert serialize(bytearray(b"x")) == {"B": b"x"}
    assert serialize(frozenset({b"b", b"a"})) == {"BS": [b"a", b"b"]}


@pytest.mark.parametrize(
    "value",
    [1.5, [1, 2.0], {"a": {"b": 0.1}}, {1.5, 2.5}, Decimal("NaN"), Decimal("Infinity")],
)
def test_floats_and_non_finite_numbers_are_refused(value: Any) -> None:
    with pytest.raises(InvalidValueError, match=r"Decimal|finite"):
        serialize(value)


@pytest.mark.parametrize("value", [set(), {1, "a"}, object(), 1j])
def test_unsupported_values_are_refused(value: Any) -> None:
    with pytest.raises(InvalidValueError):
        serialize(value)


def test_a_non_string_attribute_name_is_a_key_error() -> None:
    with pytest.raises(InvalidKeyError, match="names"):
        serialize({1: "non-str key"})


@pytest.mark.parametrize(
    "unmarshal",
    [
        lambda: deserialize({"XX": 1}),
        lambda: deserialize_item({"a": {"XX": 1}}),
        lambda: deserialize_item({"a": {"L": [{"S": "x"}, {"XX": 1}]}}),
        lambda: deserialize_item({"a": {"M": {"b": {"XX": 1}}}}),
    ],
)
def test_an_unknown_attribute_type_from_dynamodb_is_a_server_fault(
    unmarshal: Callable[[], object],
) -> None:
    """A type DynamoDB may add one day is its answer's fault, not the caller's: never a 400."""
    with pytest.raises(UnexpectedResponseError) as refused:
        unmarshal()
    assert not isinstance(refused.value, InvalidInputError | InvalidKeyError)
    assert refused.value.status_code >= 500
    assert deserialize_item(serialize_item({"a": [None, True]})) == {"a": [None, True]}
