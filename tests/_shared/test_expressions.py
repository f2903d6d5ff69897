"""Conditions compile to placeholder expressions; nothing of the caller's text is spliced in."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.conditions import Attr, Key

from tenantkit._shared.dynamodb.expressions import (
    Placeholders,
    compile_condition,
    compile_key_condition,
    compile_update,
    conditional,
)
from tenantkit.errors import InvalidExpressionError

PROTECTED = frozenset({"pk", "GSI1PK"})


def test_condition_compiles_with_generated_placeholders() -> None:
    ph = Placeholders()
    condition = (Attr("status").eq("open") | Attr("a.b[2]").is_in([1, Decimal("2.5")])) & ~Attr(
        "status"
    ).begins_with("x")
    text = compile_condition(condition, ph, PROTECTED)
    assert text == ("((#n0 = :v0 OR #n1.#n2[2] IN (:v1, :v2)) AND (NOT begins_with(#n0, :v3)))")
    assert ph.names == {"#n0": "status", "#n1": "a", "#n2": "b"}
    assert ph.values == {
        ":v0": {"S": "open"},
        ":v1": {"N": "1"},
        ":v2": {"N": "2.5"},
        ":v3": {"S": "x"},
    }
    assert ph.apply({}) == {
        "ExpressionAttributeNames": ph.names,
        "ExpressionAttributeValues": ph.values,
    }


def test_existence_functions_and_size_compile() -> None:
    ph = Placeholders()
    text = compile_condition(
        Attr("pk").not_exists() & Attr("tags").size().gt(2) & Attr("x").attribute_type("S"),
        ph,
        PROTECTED,
    )
    assert text == (
        "((attribute_not_exists(#n0) AND size(#n1) > :v0) AND attribute_type(#n2, :v1))"
    )


def test_key_condition_forms() -> None:
    for sort, expected in [
        (Key("sk").eq("a"), "#n0 = :v0"),
        (Key("sk").between("a", "b"), "#n0 BETWEEN :v0 AND :v1"),
        (Key("sk").begins_with("a"), "begins_with(#n0, :v0)"),
        (Attr("sk").lte(3), "#n0 <= :v0"),
    ]:
        assert compile_key_condition(sort, Placeholders(), PROTECTED) == expected
    for bad in (Attr("sk").ne("a"), Attr("sk").exists(), Key("sk").eq(Key("other")), "sk = :v"):
        with pytest.raises(InvalidExpressionError):
            compile_key_condition(bad, Placeholders(), PROTECTED)


def test_update_expression_uses_placeholders_for_names() -> None:
    ph = Placeholders()
    text = compile_update(ph, set_values={"a.b": 1, "c": "x"}, remove="d = :x, e", add={"n": 1})
    assert text == "SET #n0 = :v0, #n1 = :v1 REMOVE #n2 ADD #n3 :v2"
    assert ph.names == {"#n0": "a.b", "#n1": "c", "#n2": "d = :x, e", "#n3": "n"}


@pytest.mark.parametrize("bad", [None, 1, Attr("x"), Key("x"), {"x": 1}])
def test_non_conditions_are_refused(bad: object) -> None:
    with pytest.raises(InvalidExpressionError):
        compile_condition(bad, Placeholders(), PROTECTED)


def test_empty_is_in_and_empty_update_are_refused() -> None:
    with pytest.raises(InvalidExpressionError):
        compile_condition(Attr("x").is_in([]), Placeholders(), PROTECTED)
    with pytest.raises(InvalidExpressionError):
        compile_update(Placeholders(), set_values=None, remove=None, add=None)
    with pytest.raises(InvalidExpressionError):
        compile_update(Placeholders(), set_values={"": 1}, remove=None, add=None)


@pytest.mark.parametrize(
    ("path", "expression", "top"),
    [
        ("pk", "#n0", "pk"),
        ("pk.nested", "#n0.#n1", "pk"),
        ("pk[0]", "#n0[0]", "pk"),
        ("pk[0][1]", "#n0[0][1]", "pk"),
        ("pk.a.b", "#n0.#n1.#n2", "pk"),
        ("GSI1PK[3]", "#n0[3]", "GSI1PK"),
        ("a[10].pk", "#n0[10].#n1", "a"),  # "pk" deeper down is another attribute
        ("pkx[0]", "#n0[0]", "pkx"),
    ],
)
def test_path_placeholders_and_top_level_name(path: str, expression: str, top: str) -> None:
    assert Placeholders().path(path) == (expression, top)


@pytest.mark.parametrize("path", ["pk[0]", "pk[0][1]", "pk.a.b", "GSI1PK[3]", "GSI1PK[0].a"])
def test_indexed_and_deeper_partition_key_paths_are_refused(path: str) -> None:
    for condition in (Attr(path).eq("utah#x"), Attr(path).size().gt(0), Attr("x").eq(Attr(path))):
        with pytest.raises(InvalidExpressionError, match="partition-key"):
            compile_condition(condition, Placeholders(), PROTECTED)
    # Existence checks stay allowed, at any depth.
    assert compile_condition(Attr(path).exists(), Placeholders(), PROTECTED).startswith(
        "attribute_exists(#n0"
    )


@pytest.mark.parametrize("path", ["a[10].pk", "pkx[0]", "x.GSI1PK"])
def test_other_attributes_are_not_mistaken_for_partition_keys(path: str) -> None:
    assert compile_condition(Attr(path).eq(1), Placeholders(), PROTECTED).endswith("= :v0")


@pytest.mark.parametrize(
    "sort",
    [
        Attr("sk").size().gt(3),
        Attr("sk").size().eq(1),
        Attr("sk").size().between(1, 2),
        Key("sk").eq(Attr("other").size()),
    ],
)
def test_size_conditions_on_the_sort_key_are_refused(sort: Any) -> None:
    """DynamoDB has no size() in key conditions: refused here, not as an AWS error."""
    with pytest.raises(InvalidExpressionError, match="sort must be one of"):
        compile_key_condition(sort, Placeholders(), PROTECTED)


def test_multi_attribute_remove_and_add_are_comma_separated() -> None:
    ph = Placeholders()
    text = compile_update(ph, set_values=None, remove=["a", "b", "c"], add={"n": 1, "m": 2})
    assert text == "REMOVE #n0, #n1, #n2 ADD #n3 :v0, #n4 :v1"
    assert ph.names == {"#n0": "a", "#n1": "b", "#n2": "c", "#n3": "n", "#n4": "m"}
    assert ph.values == {":v0": {"N": "1"}, ":v1": {"N": "2"}}
    text = compile_update(Placeholders(), set_values={"x": 1, "y": 2}, remove=None, add=None)
    assert text == "SET #n0 = :v0, #n1 = :v1"


@pytest.mark.parametrize("name", [5, None, ["pk"], b"pk", ""])
def test_attribute_names_that_are_not_non_empty_strings_are_refused(name: Any) -> None:
    """``Attr(5)`` builds; compiling it must be a 400, not an AttributeError (a 500)."""
    with pytest.raises(InvalidExpressionError, match="non-empty strings"):
        Placeholders().path(name)
    with pytest.raises(InvalidExpressionError):
        compile_condition(Attr(name).eq(1), Placeholders(), PROTECTED)


@pytest.mark.parametrize(
    ("compile_it", "what"),
    [
        (lambda c: compile_condition(c, Placeholders(), PROTECTED), "condition"),
        (lambda c: compile_condition(c, Placeholders(), PROTECTED, what="filter"), "filter"),
        (lambda c: compile_key_condition(c, Placeholders(), PROTECTED), "sort"),
    ],
)
def test_a_refusal_names_the_argument_at_fault(compile_it: Any, what: str) -> None:
    """The error says which argument compared a partition key, at any depth of nesting."""
    with pytest.raises(InvalidExpressionError, match=f"^{what} compares the partition-key"):
        compile_it(Key("pk").eq("utah#x"))
    if what != "sort":  # a sort condition is a single comparison
        nested = Attr("a").eq(1) & (Attr("b").eq(2) | Attr("GSI1PK").eq("utah#x"))
        with pytest.raises(InvalidExpressionError, match=f"^{what} compares the partition-key"):
            compile_it(nested)
        with pytest.raises(InvalidExpressionError, match=f"raw expression strings .* {what};"):
            compile_it("pk = :v")


def test_conditional_joins_the_absent_check_and_the_condition() -> None:
    """Both parts reach DynamoDB: dropping either would write over an item or skip a check."""
    request = conditional({}, Placeholders(), Attr("n").gt(1), PROTECTED, absent="pk")
    assert request == {
        "ConditionExpression": "(attribute_not_exists(#n0)) AND (#n1 > :v0)",
        "ReturnValuesOnConditionCheckFailure": "NONE",
        "ExpressionAttributeNames": {"#n0": "pk", "#n1": "n"},
        "ExpressionAttributeValues": {":v0": {"N": "1"}},
    }
    alone = conditional({}, Placeholders(), Attr("n").gt(1), PROTECTED)
    assert alone["ConditionExpression"] == "#n0 > :v0"
    absent = conditional({}, Placeholders(), None, PROTECTED, absent="pk")
    assert absent["ConditionExpression"] == "attribute_not_exists(#n0)"
    assert conditional({"x": 1}, Placeholders(), None, PROTECTED) == {"x": 1}


def test_delete_clauses_compile_with_comma_separators() -> None:
    ph = Placeholders()
    text = compile_update(ph, delete={"tags": {"a"}, "ids": frozenset({1, 2})})
    assert text == "DELETE #n0 :v0, #n1 :v1"
    assert ph.names == {"#n0": "tags", "#n1": "ids"}
    assert ph.values == {":v0": {"SS": ["a"]}, ":v1": {"NS": ["1", "2"]}}
    text = compile_update(Placeholders(), set_values={"a": 1}, delete={"tags": {"a"}})
    assert text == "SET #n0 = :v0 DELETE #n1 :v1"
    with pytest.raises(InvalidExpressionError, match="sets"):
        compile_update(Placeholders(), delete={"tags": ["a"]})
