"""The export line format round-trips every storable value; the checksum ignores order."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit.errors import InvalidInputError
from tenantkit.lifecycle.records import Checksum, Manifest, decode_line, encode_line

texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
numbers = st.integers(-(10**37), 10**37) | st.decimals(
    min_value=-(10**20), max_value=10**20, places=4, allow_nan=False, allow_infinity=False
)
scalars = texts | numbers | st.binary(max_size=12) | st.booleans() | st.none()
sets = (
    st.frozensets(texts, min_size=1, max_size=4).map(set)
    | st.frozensets(st.integers(-1000, 1000), min_size=1, max_size=4).map(set)
    | st.frozensets(st.binary(min_size=1, max_size=6), min_size=1, max_size=4).map(set)
)
values = st.recursive(
    scalars | sets,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
items = st.dictionaries(st.text(min_size=1, max_size=8), values, min_size=1, max_size=6)


def normal(value: Any) -> Any:
    """Numbers compare by value (DynamoDB keeps no trailing zeros); the rest as is."""
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return Decimal(value).normalize()
    if isinstance(value, dict):
        return {k: normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normal(v) for v in value]
    if isinstance(value, set):
        return {normal(v) for v in value}
    return value


@settings(max_examples=100)
@given(item=items)
def test_every_item_round_trips_on_one_line(item: dict[str, Any]) -> None:
    line = encode_line(item)
    assert "\n" not in line
    assert normal(decode_line(line)) == normal(item)
    assert encode_line(decode_line(line)) == line  # canonical


@settings(max_examples=100)
@given(lines=st.lists(texts, max_size=20), data=st.data())
def test_the_checksum_is_the_same_in_any_order_and_differs_for_other_lines(
    lines: list[str], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(lines))
    first, second = Checksum(), Checksum()
    for line in lines:
        first.add(line)
    for line in shuffled:
        second.add(line)
    assert first == second
    assert Checksum.parse(first.count, first.hexdigest) == first
    third = Checksum()
    for line in [*lines, "one more"]:
        third.add(line)
    assert third != first


def test_a_manifest_reads_back_what_it_wrote() -> None:
    manifest = Manifest("texas", "parks", 3, Checksum(3, 12).hexdigest, "2026-01-01T00:00:00")
    assert Manifest.from_json(manifest.to_json()) == manifest


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "{}",
        '{"format": "other/1", "tenant": "t", "table": "x", "items": 1, "checksum": "c",'
        ' "exportedAt": "t"}',
        '{"format": "tenantkit-export/1", "tenant": "t", "table": "x", "items": "many",'
        ' "checksum": "c", "exportedAt": "t"}',
    ],
)
def test_a_manifest_that_is_not_one_is_an_input_error(text: str) -> None:
    with pytest.raises(InvalidInputError):
        Manifest.from_json(text)


def test_a_checksum_of_another_kind_is_an_input_error() -> None:
    with pytest.raises(InvalidInputError):
        Checksum.parse(1, "md5:abc")
