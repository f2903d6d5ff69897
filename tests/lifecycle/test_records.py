"""The export line format round-trips every storable value; the checksum ignores order."""

from __future__ import annotations

import contextlib
import json
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
        "[]",
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


BAD_VALUES = [
    {"X": 1},
    {},
    {"S": "a", "N": "1"},
    {"S": 5},
    {"S": None},
    {"N": "abc"},
    {"N": 5},
    {"N": "NaN"},
    {"N": "Infinity"},
    {"N": "1_000"},
    {"N": " 1"},
    {"N": ""},
    {"B": 5},
    {"B": "%%"},
    {"SS": "notalist"},
    {"SS": []},
    {"SS": [1]},
    {"SS": ["a", "a"]},
    {"NS": ["1", "x"]},
    {"NS": ["1", "1.0"]},
    {"NS": [1]},
    {"BS": 5},
    {"BS": ["%%"]},
    {"BS": []},
    {"M": 3},
    {"M": {"a": 5}},
    {"M": []},
    {"L": {}},
    {"L": [5]},
    {"L": "ab"},
    {"BOOL": "true"},
    {"BOOL": 1},
    {"NULL": False},
    {"NULL": 1},
    [],
    "S",
]


@pytest.mark.parametrize("value", BAD_VALUES, ids=json.dumps)
def test_every_attribute_value_has_its_exact_shape(value: object) -> None:
    """Each DynamoDB JSON type's one shape; anything else is the operator's input error."""
    line = json.dumps({"Item": {"pk": {"S": "p"}, "a": value}})
    with pytest.raises(InvalidInputError):
        decode_line(line)
    nested = json.dumps({"Item": {"pk": {"S": "p"}, "m": {"M": {"x": {"L": [value]}}}}})
    with pytest.raises(InvalidInputError):
        decode_line(nested)


@pytest.mark.parametrize(
    "line",
    [
        '{"Item": {"": {"S": "x"}}}',
        '{"Item": {"a": ' + '{"L": [' * 40 + '{"NULL": true}' + "]}" * 40 + "}}",
        "[" * 100_000,
    ],
    ids=["an empty name", "nested past DynamoDB's 32 levels", "nested past Python's stack"],
)
def test_lines_dynamodb_would_refuse_are_input_errors(line: str) -> None:
    with pytest.raises(InvalidInputError):
        decode_line(line)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                ["S", "N", "B", "SS", "NS", "BS", "M", "L", "BOOL", "NULL", "Item", "a"]
            ),
            inner,
            max_size=3,
        )
    ),
    max_leaves=10,
)


@settings(max_examples=100)
@given(document=json_values)
def test_any_json_decodes_or_is_an_input_error(document: object) -> None:
    """Never a raw ValueError, TypeError or AttributeError: an operator's traceback."""
    with contextlib.suppress(InvalidInputError):
        decode_line(json.dumps({"Item": {"a": document}}))


@pytest.mark.parametrize(
    "digest",
    ["sha256-sum:zz", "sha256-sum:", "sha256-sum:-1", "sha256-sum:" + "0" * 65, "sha256-sum: 1"],
)
def test_a_checksum_that_is_not_64_hex_digits_is_an_input_error(digest: str) -> None:
    with pytest.raises(InvalidInputError):
        Checksum.parse(1, digest)
    text = Manifest("t", "x", 1, "c", "t").to_json().replace('"c"', json.dumps(digest))
    with pytest.raises(InvalidInputError):
        Manifest.from_json(text)


@pytest.mark.parametrize("items", ["-1", "true", "1.5", '"1"'])
def test_a_manifest_count_that_is_not_a_count_is_an_input_error(items: str) -> None:
    text = Manifest("t", "x", 1, Checksum().hexdigest, "t").to_json()
    with pytest.raises(InvalidInputError):
        Manifest.from_json(text.replace('"items": 1', f'"items": {items}'))
