"""The key codec on its own: properties of the ``<tenant>#<value>`` format, no AWS at all."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tenantkit.dynamo.keys import (
    MAX_PARTITION_KEY_BYTES,
    MAX_SORT_KEY_BYTES,
    KeyCodec,
    prefix,
    strip,
    verifies,
)
from tenantkit.errors import (
    ConfigurationError,
    InvalidCursorError,
    InvalidInputError,
    InvalidKeyError,
    InvalidValueError,
    TenantIsolationError,
)

# The tenant-id grammar, written here rather than imported: ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$.
tenants = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", fullmatch=True)
# Small alphabets make near-collisions likely: "a" / "a-b", values holding "#" or a tenant id.
close_tenants = st.text(alphabet="ab-", min_size=1, max_size=4).filter(lambda t: t[0] != "-")
values = st.text(min_size=1).filter(lambda v: v.isascii() or _utf8(v))
close_values = st.text(alphabet="ab#-_", min_size=1, max_size=6)
codec = KeyCodec("t", "pk", "sk", {"GSI1": "GSI1PK", "GSI2": "GSI2PK", "GSI3": "pk"})


def _utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(tenants, values)
def test_strip_undoes_prefix(tenant: str, value: str) -> None:
    stored = prefix(tenant, value)
    assert verifies(tenant, stored)
    assert strip(tenant, stored) == value


@settings(max_examples=300, deadline=None)
@given(st.one_of(tenants, close_tenants), st.one_of(values, close_values), st.data())
def test_prefixed_values_of_different_tenants_never_collide(
    tenant: str, value: str, data: st.DataObject
) -> None:
    other = data.draw(st.one_of(tenants, close_tenants))
    other_value = data.draw(st.one_of(values, close_values, st.just(value)))
    same = prefix(tenant, value) == prefix(other, other_value)
    assert same == (tenant == other and value == other_value)


@settings(max_examples=300, deadline=None)
@given(st.one_of(tenants, close_tenants), st.one_of(tenants, close_tenants), close_values)
def test_a_value_of_one_tenant_never_verifies_for_another(a: str, b: str, value: str) -> None:
    assume(a != b)
    stored = prefix(a, value)
    assert not verifies(b, stored)
    with pytest.raises(TenantIsolationError):
        strip(b, stored)


@settings(max_examples=200, deadline=None)
@given(tenants, st.text(max_size=20))
def test_no_control_plane_value_verifies_for_any_tenant(tenant: str, rest: str) -> None:
    for stored in ("_" + rest, f"_user#{rest}", f"_events#{tenant}#{rest}"):
        assert not verifies(tenant, stored)


@pytest.mark.parametrize("stored", [None, 1, b"texas#x", {"S": "texas#x"}, "texas", "texasx"])
def test_only_strings_under_the_prefix_verify(stored: object) -> None:
    assert not verifies("texas", stored)


@settings(max_examples=200, deadline=None)
@given(
    tenants,
    st.integers(min_value=-4, max_value=4),
    st.sampled_from(["a", "é", "€", "😀"]),
)
def test_partition_byte_limit_counts_the_prefix(tenant: str, delta: int, char: str) -> None:
    width = len(char.encode())
    room = MAX_PARTITION_KEY_BYTES - len(tenant) - 1
    count = max(1, room // width + delta)
    value = char * count
    size = len(prefix(tenant, value).encode())
    if size <= MAX_PARTITION_KEY_BYTES:
        assert codec.partition(value, tenant, "pk") == prefix(tenant, value)
    else:
        with pytest.raises(InvalidKeyError, match="2048"):
            codec.partition(value, tenant, "pk")


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=-3, max_value=3), st.sampled_from(["a", "é", "😀"]))
def test_sort_byte_limit(delta: int, char: str) -> None:
    value = char * max(1, MAX_SORT_KEY_BYTES // len(char.encode()) + delta)
    if len(value.encode()) <= MAX_SORT_KEY_BYTES:
        assert codec.sort(value, "sk") == {"S": value}
    else:
        with pytest.raises(InvalidKeyError, match="1024"):
            codec.sort(value, "sk")
    raw = value.encode()
    if len(raw) <= MAX_SORT_KEY_BYTES:
        assert codec.sort(raw, "sk") == {"B": raw}
    else:
        with pytest.raises(InvalidKeyError):
            codec.sort(raw, "sk")


@pytest.mark.parametrize("value", ["", None, 1, b"x", ["x"]])
def test_partition_values_are_non_empty_strings(value: object) -> None:
    with pytest.raises(InvalidKeyError, match="non-empty string"):
        codec.partition(value, "texas", "pk")


@pytest.mark.parametrize("value", ["", b"", True, None, 1.5, ["x"]])
def test_sort_values_are_non_empty_text_bytes_or_numbers(value: object) -> None:
    # A float is a value DynamoDB cannot store anywhere; the others are bad keys.
    with pytest.raises(InvalidValueError if isinstance(value, float) else InvalidKeyError):
        codec.sort(value, "sk")


def test_a_lone_surrogate_in_a_key_is_invalid_value() -> None:
    with pytest.raises(InvalidValueError):
        codec.partition("a\ud800" * 700, "texas", "pk")
    with pytest.raises(InvalidValueError):
        codec.sort("\ud800", "sk")


item_values = st.one_of(
    st.text(max_size=5), st.integers(-100, 100), st.booleans(), st.none(), st.binary(max_size=3)
)
items = st.fixed_dictionaries(
    {"pk": st.text(min_size=1, max_size=10), "sk": st.text(min_size=1, max_size=10)},
    optional={
        "GSI1PK": st.text(min_size=1, max_size=10),
        "GSI2PK": st.text(min_size=1, max_size=10),
        "v": item_values,
    },
).filter(lambda item: all(_utf8(v) for v in item.values() if isinstance(v, str)))


@settings(max_examples=200, deadline=None)
@given(tenants, items)
def test_items_round_trip_and_every_partition_key_is_prefixed(
    tenant: str, item: dict[str, Any]
) -> None:
    raw = codec.item(item, tenant)
    for attribute in ("pk", "GSI1PK", "GSI2PK"):
        if attribute in item:
            assert raw[attribute] == {"S": prefix(tenant, item[attribute])}
    assert raw["sk"] == {"S": item["sk"]}
    assert codec.load(raw, tenant) == item
    key = codec.key({"pk": item["pk"], "sk": item["sk"]}, tenant)
    assert key == {"pk": raw["pk"], "sk": raw["sk"]}


@settings(max_examples=200, deadline=None)
@given(close_tenants, close_tenants, items)
def test_another_tenants_item_never_loads(a: str, b: str, item: dict[str, Any]) -> None:
    assume(a != b)
    raw = codec.item(item, a)
    with pytest.raises(TenantIsolationError):
        codec.load(raw, b)


def test_an_item_is_foreign_if_any_partition_key_is() -> None:
    raw = codec.item({"pk": "p", "sk": "s", "GSI1PK": "g"}, "texas")
    with pytest.raises(TenantIsolationError, match="withheld"):
        codec.load({**raw, "GSI2PK": {"S": "utah#g"}}, "texas")
    with pytest.raises(TenantIsolationError):
        codec.load({**raw, "GSI1PK": {"N": "1"}}, "texas")
    with pytest.raises(TenantIsolationError):  # no table partition key at all
        codec.load({"sk": {"S": "s"}}, "texas")
    assert codec.load_all([raw, raw], "texas") == [{"pk": "p", "sk": "s", "GSI1PK": "g"}] * 2


def test_the_withheld_hook_runs_once_per_refusal_and_only_then() -> None:
    calls: list[None] = []
    watched = KeyCodec("t", "pk", "sk", {"GSI1": "GSI1PK"}, withheld=lambda: calls.append(None))
    raw = watched.item({"pk": "p", "sk": "s", "GSI1PK": "g"}, "texas")
    watched.load_all([raw, raw], "texas")
    watched.strip_key(raw, "texas")
    assert calls == []
    with pytest.raises(TenantIsolationError):
        watched.load_all([raw, raw], "utah")
    with pytest.raises(TenantIsolationError):
        watched.strip_key(raw, "utah")
    assert len(calls) == 2


def test_last_evaluated_keys_strip_and_prefix_back() -> None:
    raw = {"pk": {"S": "texas#p"}, "sk": {"S": "s"}, "GSI1PK": {"S": "texas#g"}}
    logical = codec.strip_key(raw, "texas")
    assert logical == {"pk": {"S": "p"}, "sk": {"S": "s"}, "GSI1PK": {"S": "g"}}
    assert codec.prefix_key(dict(logical), "texas") == raw
    with pytest.raises(TenantIsolationError):
        codec.strip_key(raw, "utah")
    with pytest.raises(InvalidCursorError, match="malformed"):
        codec.prefix_key({"pk": {"N": "1"}, "sk": {"S": "s"}}, "texas")


def test_keys_have_exactly_the_table_key_attributes() -> None:
    for bad in ({"pk": "p"}, {"pk": "p", "sk": "s", "x": 1}, {"sk": "s", "x": 1}, ["pk"]):
        with pytest.raises(InvalidKeyError, match="exactly the attributes"):
            codec.key(bad, "texas")
    flat = KeyCodec("flat", "id", None, {})
    assert flat.key({"id": "a"}, "texas") == {"id": {"S": "texas#a"}}
    assert flat.key_attributes == {"id"}
    assert codec.key_attributes == {"pk", "sk"}
    assert codec.protected == {"pk", "GSI1PK", "GSI2PK"}
    with pytest.raises(InvalidKeyError, match="exactly the attributes"):
        flat.key({"id": "a", "sk": "s"}, "texas")


def test_identity_treats_bytearray_as_bytes() -> None:
    assert codec.identity({"pk": "p", "sk": bytearray(b"x")}) == ("p", b"x")
    assert codec.identity({"pk": "p", "sk": Decimal(2)}) == ("p", 2)
    assert KeyCodec("flat", "id", None, {}).identity({"id": "a"}) == ("a", None)


@pytest.mark.parametrize(
    ("args", "indexes"),
    [
        (("t", 5, "sk"), {}),  # a truthy non-string partition key
        (("t", "pk", b"sk"), {}),
        ((7, "pk", "sk"), {}),
        (("t", "pk", "sk"), {"GSI1": 3}),
        (("t", "pk", "sk"), {4: "GSI1PK"}),
        (("", "pk", "sk"), {}),
        (("t", "pk", ""), {}),
        (("t", "pk", "sk"), {"GSI1": ""}),
    ],
)
def test_table_and_attribute_names_must_be_non_empty_strings(
    args: tuple[Any, Any, Any], indexes: dict[Any, Any]
) -> None:
    with pytest.raises(ConfigurationError, match="non-empty strings"):
        KeyCodec(*args, indexes)


@pytest.mark.parametrize(
    ("sort_key", "indexes"),
    [("pk", {}), ("GSI1PK", {"GSI1": "GSI1PK"}), ("GSI2PK", {"GSI1": "pk", "GSI2": "GSI2PK"})],
)
def test_a_sort_key_that_is_also_a_partition_key_is_refused(
    sort_key: str, indexes: dict[str, str]
) -> None:
    """A sort key is stored as given, a partition key prefixed: one attribute cannot be both."""
    with pytest.raises(ConfigurationError, match="cannot also be a partition key"):
        KeyCodec("t", "pk", sort_key, indexes)
    assert KeyCodec("t", "pk", None, indexes).sort_key is None


def test_errors_name_the_table_and_the_attribute_at_fault() -> None:
    """The operator reading a refusal learns which table and which attribute it was."""
    assert codec.table_name == "t"
    with pytest.raises(TenantIsolationError, match="table 't' returned an item outside"):
        codec.load({"pk": {"S": "utah#p"}, "sk": {"S": "s"}}, "texas")
    with pytest.raises(InvalidKeyError, match=r"exactly the attributes \['pk', 'sk'\]"):
        codec.key({"pk": "p"}, "texas")
    with pytest.raises(InvalidKeyError, match=r"table 'flat' .* exactly the attributes \['id'\]"):
        KeyCodec("flat", "id", None, {}).key({"id": "a", "x": "b"}, "texas")
    for bad_key in ({"pk": "", "sk": "s"}, {"pk": "p", "sk": ""}):
        attribute = "pk" if bad_key["pk"] == "" else "sk"
        with pytest.raises(InvalidKeyError, match=f"key '{attribute}'"):
            codec.key(bad_key, "texas")
        with pytest.raises(InvalidKeyError, match=f"key '{attribute}'"):
            codec.item(bad_key, "texas")
    with pytest.raises(InvalidKeyError, match="partition key 'GSI1PK'"):
        codec.item({"pk": "p", "sk": "s", "GSI1PK": ""}, "texas")


def test_a_key_with_the_partition_key_and_another_attribute_is_refused() -> None:
    """Two attributes, the partition key among them, but not the sort key."""
    with pytest.raises(InvalidKeyError, match=r"exactly the attributes \['pk', 'sk'\]"):
        codec.key({"pk": "p", "x": "s"}, "texas")


@pytest.mark.parametrize("value", [1.5, 0.0, float("nan")])
def test_a_float_sort_key_gets_the_float_message(value: float) -> None:
    with pytest.raises(InvalidInputError, match="float values are not supported"):
        codec.sort(value, "sk")
