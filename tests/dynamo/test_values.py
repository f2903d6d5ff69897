"""Values DynamoDB cannot hold are typed 4xx errors before any AWS call, never a traceback.

Two kinds: strings with a lone surrogate (not encodable as UTF-8, so not text DynamoDB can
store), and numbers outside DynamoDB's range (38 significant digits, magnitude
1E-130 to 9.9999999999999999999999999999999999999E+125, no NaN or Infinity).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.conditions import Attr, Key
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenantkit._shared.dynamodb.marshal import serialize
from tenantkit.context import tenant_scope
from tenantkit.dynamo import TenantTable
from tenantkit.errors import (
    InvalidCursorError,
    InvalidInputError,
    InvalidKeyError,
    InvalidValueError,
    TenantKitError,
)

from .conftest import SECRET, TABLE, ctx, transact

LONE = "\ud800"
BAD = f"a{LONE}b"


class NoCallsClient:
    """A client that fails the test if TenantTable reaches AWS at all."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"TenantTable called {name} before validating its input")


@pytest.fixture
def offline() -> TenantTable:
    return TenantTable(TABLE, client=NoCallsClient(), tenant="texas", cursor_key=SECRET)  # type: ignore[arg-type]


class Text(str):
    """A str subclass (a StrEnum, say) takes the marshaller's slower path."""


K = {"pk": "p", "sk": "s"}

SURROGATE_CALLS: dict[str, Callable[[TenantTable], object]] = {
    "put: partition key": lambda t: t.put_item({"pk": BAD, "sk": "s"}),
    "put: sort key": lambda t: t.put_item({"pk": "p", "sk": BAD}),
    "put: GSI partition key": lambda t: t.put_item({**K, "GSI1PK": BAD}),
    "put: GSI sort key": lambda t: t.put_item({**K, "GSI1SK": BAD}),
    "put: value": lambda t: t.put_item({**K, "v": BAD}),
    "put: str subclass value": lambda t: t.put_item({**K, "v": Text(BAD)}),
    "put: attribute name": lambda t: t.put_item({**K, BAD: 1}),
    "put: nested map key": lambda t: t.put_item({**K, "v": {"a": {BAD: 1}}}),
    "put: nested map value": lambda t: t.put_item({**K, "v": {"a": [1, {"b": BAD}]}}),
    "put: list item": lambda t: t.put_item({**K, "v": ["ok", BAD]}),
    "put: tuple item": lambda t: t.put_item({**K, "v": ("ok", LONE)}),
    "put: string set": lambda t: t.put_item({**K, "v": {"ok", BAD}}),
    "put: frozenset": lambda t: t.put_item({**K, "v": frozenset({LONE})}),
    "put: condition value": lambda t: t.put_item(K, condition=Attr("v").eq(BAD)),
    "put: condition name": lambda t: t.put_item(K, condition=Attr(BAD).exists()),
    "put: condition path": lambda t: t.put_item(K, condition=Attr(f"a.{BAD}[0]").exists()),
    "put: is_in value": lambda t: t.put_item(K, condition=Attr("v").is_in(["x", BAD])),
    "put: attribute_type": lambda t: t.put_item(K, condition=Attr("v").attribute_type(BAD)),
    "get: partition key": lambda t: t.get_item({"pk": BAD, "sk": "s"}),
    "get: sort key": lambda t: t.get_item({"pk": "p", "sk": LONE}),
    "delete: key": lambda t: t.delete_item({"pk": "p", "sk": BAD}),
    "delete: condition": lambda t: t.delete_item(K, condition=Attr("v").begins_with(BAD)),
    "update: set value": lambda t: t.update_item(K, set={"v": BAD}),
    "update: set name": lambda t: t.update_item(K, set={BAD: 1}),
    "update: set GSI key": lambda t: t.update_item(K, set={"GSI1PK": BAD}),
    "update: remove name": lambda t: t.update_item(K, remove=[BAD]),
    "update: remove name as str": lambda t: t.update_item(K, remove=BAD),
    "update: add name": lambda t: t.update_item(K, add={BAD: 1}),
    "update: add value": lambda t: t.update_item(K, add={"tags": {BAD}}),
    "update: condition": lambda t: t.update_item(K, set={"v": 1}, condition=Attr("v").ne(BAD)),
    "query: partition value": lambda t: t.query(BAD),
    "query: GSI partition value": lambda t: t.query(BAD, index="GSI1"),
    "query: sort value": lambda t: t.query("p", sort=Key("sk").begins_with(BAD)),
    "query: sort name": lambda t: t.query("p", sort=Key(BAD).eq("x")),
    "query: filter": lambda t: t.query("p", filter=Attr("v").contains(BAD)),
    "count: partition value": lambda t: t.count(BAD),
    "query_all: filter": lambda t: next(t.query_all("p", filter=Attr("v").eq(BAD))),
    "batch_get: key": lambda t: t.batch_get([K, {"pk": BAD, "sk": "s"}]),
    "batch_write: put": lambda t: t.batch_write(put=[{**K, "v": BAD}]),
    "batch_write: delete": lambda t: t.batch_write(delete=[{"pk": "p", "sk": BAD}]),
    "transaction: put": lambda t: transact(t, lambda tx: tx.put({**K, "v": [BAD]})),
    "transaction: update": lambda t: transact(t, lambda tx: tx.update(K, set={"v": BAD})),
    "transaction: delete": lambda t: transact(t, lambda tx: tx.delete({"pk": BAD, "sk": "s"})),
    "transaction: check": lambda t: transact(
        t, lambda tx: tx.condition_check(K, Attr("v").eq(BAD))
    ),
    "transaction: put condition": lambda t: transact(
        t, lambda tx: tx.put(K, condition=Attr(BAD).not_exists())
    ),
    "transact_get: key": lambda t: t.transact_get([{"pk": "p", "sk": BAD}]),
}


@pytest.mark.parametrize("call", SURROGATE_CALLS.values(), ids=SURROGATE_CALLS.keys())
def test_attack_lone_surrogates_are_a_typed_400(
    offline: TenantTable, call: Callable[[TenantTable], object]
) -> None:
    with pytest.raises(InvalidValueError, match="surrogate") as raised:
        call(offline)
    assert raised.value.status_code == 400
    assert isinstance(raised.value, InvalidInputError)
    assert not isinstance(raised.value, InvalidKeyError)  # a value problem, not a key one
    assert LONE not in str(raised.value)


@pytest.mark.parametrize(
    "cursor", [LONE, f"{LONE}.{LONE}", f"abc.def{LONE}", "é.é", f"{LONE}.{'A' * 43}", "é.AAAA"]
)
def test_cursors_with_non_ascii_characters_are_invalid_cursors(
    offline: TenantTable, cursor: str
) -> None:
    with pytest.raises(InvalidCursorError):
        offline.query("p", cursor=cursor)


MAX = Decimal("9.9999999999999999999999999999999999999E+125")
OUT_OF_RANGE = [
    Decimal("1E+126"),
    Decimal("-1E+126"),
    Decimal("10E+125"),
    Decimal("9.99999999999999999999999999999999999999E+125"),  # 39 digits
    Decimal("1E-131"),
    Decimal("-1E-131"),
    Decimal("0.1E-130"),
    Decimal("1" * 39),  # 39 significant digits
    Decimal("1." + "1" * 38),
    Decimal("-1" + "0" * 10 + "1" * 28),  # 39 digits with zeros inside
    10**126,
    -(10**126),
    10**38 + 1,
    int("9" * 39),
    10**5000,  # str() of this int raises ValueError in Python 3.11
    Decimal("NaN"),
    Decimal("-sNaN"),
    Decimal("Infinity"),
    Decimal("-Infinity"),
]
IN_RANGE = [
    MAX,
    MAX.copy_negate(),  # not -MAX: unary minus rounds to the context's 28 digits
    Decimal("1E-130"),
    Decimal("-1E-130"),
    Decimal("1.0000000000000000000000000000000000000000000000"),  # trailing zeros are trimmed
    Decimal("123456789012345678901234567890.12345678"),  # 38 digits
    int("9" * 38),
    -int("9" * 38),
    10**125,
    10**100 * 12345,
    Decimal("0"),
    Decimal("-0"),
    Decimal("0E-200"),
    Decimal("0E+200"),
    0,
]


def _id(value: Any) -> str:
    text = repr(value) if isinstance(value, Decimal) or abs(value) < 10**200 else "10**5000"
    return text[:40]


def _number_calls(value: Any) -> dict[str, Callable[[TenantTable], object]]:
    calls: dict[str, Callable[[TenantTable], object]] = {}
    if not (isinstance(value, Decimal) and value.is_snan()):  # a signaling NaN cannot be hashed
        calls["number set"] = lambda t: t.put_item({**K, "n": {1, value}})
    return calls | {
        "value": lambda t: t.put_item({**K, "n": value}),
        "nested": lambda t: t.put_item({**K, "n": {"a": [value]}}),
        "condition": lambda t: t.put_item(K, condition=Attr("n").lt(value)),
        "update set": lambda t: t.update_item(K, set={"n": value}),
        "update add": lambda t: t.update_item(K, add={"n": value}),
        "query sort": lambda t: t.query("p", sort=Key("sk").gt(value)),
        "number sort key": lambda t: t.get_item({"pk": "p", "sk": value}),
        "transaction": lambda t: transact(t, lambda tx: tx.put({**K, "n": value})),
        "batch": lambda t: t.batch_write(put=[{**K, "n": value}]),
    }


@pytest.mark.parametrize("value", OUT_OF_RANGE, ids=_id)
def test_attack_numbers_outside_dynamodbs_range_are_a_typed_400(
    offline: TenantTable, value: Any
) -> None:
    for where, call in _number_calls(value).items():
        with pytest.raises(InvalidValueError) as raised:
            call(offline)
        assert raised.value.status_code == 400, where
        assert isinstance(raised.value, InvalidInputError), where


@pytest.mark.parametrize("value", IN_RANGE, ids=_id)
def test_numbers_at_the_edges_of_the_range_round_trip(
    module_table: TenantTable, value: Any
) -> None:
    key = {"pk": "edges", "sk": _id(value)}
    with tenant_scope(ctx("texas")):
        module_table.put_item({**key, "n": value, "ns": {value, 7}})
        item = module_table.get_item(key)
    assert item is not None
    assert item["n"] == value
    assert item["ns"] == {value, 7}


def test_marshalled_numbers_are_what_dynamodb_reads() -> None:
    assert serialize(MAX) == {"N": "9.9999999999999999999999999999999999999E+125"}
    assert serialize(10**125) == {"N": "1" + "0" * 125}
    assert serialize(Decimal("0E-200")) == {"N": "0"}  # an exponent DynamoDB would refuse
    assert serialize(Decimal("-0")) == {"N": "-0"}
    assert serialize(Decimal("1.50")) == {"N": "1.50"}


# -- any text, any number ------------------------------------------------------------------

TEXT = st.text(st.one_of(st.characters(), st.characters(categories=["Cs"])), max_size=12)
NUMBERS = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.builds(
        lambda sign, digits, exponent: Decimal((sign, tuple(digits), exponent)),
        st.integers(0, 1),
        st.lists(st.integers(0, 9), min_size=1, max_size=45),
        st.integers(-180, 160),
    ),
    st.integers(min_value=-(10**130), max_value=10**130),
)


def _same(stored: Any, given: Any) -> bool:
    if isinstance(given, dict):
        return (
            isinstance(stored, dict)
            and stored.keys() == given.keys()
            and all(_same(stored[k], v) for k, v in given.items())
        )
    return bool(stored == given)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(pk=TEXT, sk=st.one_of(TEXT, NUMBERS), name=TEXT, text=TEXT, number=NUMBERS)
def test_any_text_and_number_is_stored_or_refused_with_a_typed_4xx(
    module_table: TenantTable, pk: str, sk: Any, name: str, text: str, number: Any
) -> None:
    """Random keys, names and values (lone surrogates and any Decimal included) against
    get_item and put_item: success, or a typed 4xx. Any other exception fails the test."""
    table = module_table
    key = {"pk": pk, "sk": sk}
    item = {**key, "n": number, "t": text, "m": {name or "x": [text, number]}}

    def attempt(call: Callable[[], Any]) -> tuple[Any, TenantKitError | None]:
        try:
            return call(), None
        except TenantKitError as error:
            return None, error

    with tenant_scope(ctx("texas")):
        _, get_refused = attempt(lambda: table.get_item(key))
        _, put_refused = attempt(lambda: table.put_item(item))
        stored, _ = (None, None) if put_refused else attempt(lambda: table.get_item(key))
    for refused in (get_refused, put_refused):
        assert refused is None or 400 <= refused.status_code < 500, refused
    if put_refused is None:
        assert stored is not None
        assert _same(stored, item)


# -- values only DynamoDB can measure, and values too deep to marshal ----------------------


def _nest(levels: int) -> Any:
    value: Any = "leaf"
    for level in range(levels):
        value = [value] if level % 2 else {"m": value}
    return value


def test_attack_values_nested_too_deep_are_a_typed_400(offline: TenantTable) -> None:
    looped: list[Any] = []
    looped.append(looped)
    mapping: dict[str, Any] = {}
    mapping["self"] = mapping
    for value in (_nest(33), _nest(5000), looped, mapping):
        for call in (
            lambda v: offline.put_item({**K, "v": v}),
            lambda v: offline.update_item(K, set={"v": v}),
            lambda v: offline.put_item(K, condition=Attr("v").eq(v)),
        ):
            with pytest.raises(InvalidValueError, match="nest"):
                call(value)


def test_values_nested_32_deep_are_stored(module_table: TenantTable) -> None:
    key = {"pk": "deep", "sk": "32"}
    with tenant_scope(ctx("texas")):
        module_table.put_item({**key, "v": _nest(32)})
        item = module_table.get_item(key)
    assert item is not None
    assert item["v"] == _nest(32)


def test_attack_an_item_over_400_kb_is_a_typed_400(module_table: TenantTable) -> None:
    key = {"pk": "big", "sk": "1"}
    big = "x" * 410_000
    calls: dict[str, Callable[[], object]] = {
        "put": lambda: module_table.put_item({**key, "v": big}),
        "update": lambda: module_table.update_item(key, set={"v": big}),
        "batch": lambda: module_table.batch_write(put=[{**key, "v": big}]),
        "transaction": lambda: transact(module_table, lambda tx: tx.put({**key, "v": big})),
    }
    with tenant_scope(ctx("texas")):
        for where, call in calls.items():
            with pytest.raises(InvalidValueError, match="400 KB") as raised:
                call()
            assert raised.value.__cause__ is None, where
            assert raised.value.__suppress_context__ or raised.value.__context__ is None, where
