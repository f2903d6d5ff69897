"""The mapping-template engine: Velocity 1.7 as API Gateway runs it, where airspeed differs."""

from __future__ import annotations

from typing import Any

import airspeed  # type: ignore[import-untyped]
import pytest

from tenantkit.local.gateway.java import java_text
from tenantkit.local.gateway.vtl import InputFault, TemplateFault, render


def test_hash_before_a_reference_is_text_and_the_reference_renders() -> None:
    """Stock airspeed leaves ``#$id`` unrendered; Velocity writes ``#`` then the value."""
    stock = airspeed.Template("$tenant#park#$id").merge({"tenant": "t1", "id": "p1"})
    assert stock == "t1#park#$id"  # the quirk this engine fixes
    assert render("$tenant#park#$id", {"tenant": "t1", "id": "p1"}) == "t1#park#p1"
    assert render('"$t#$u.x#${v}"', {"t": "a", "u": {"x": "b"}, "v": "c"}) == '"a#b#c"'
    assert render("##$comment\nafter", {"comment": "x"}) == "after"


def test_the_private_engine_leaves_stock_airspeed_alone() -> None:
    render("$a#$b", {"a": 1, "b": 2})
    assert airspeed.Template("#$b").merge({"b": 2}) == "#$b"
    assert airspeed.Template("$b").merge({"b": True}) == "True"


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        (True, "true"),
        (False, "false"),
        ({"k": "v", "n": 1}, "{k=v, n=1}"),
        (["a", 1, True], "[a, 1, true]"),
        ({"list": [{"b": False}]}, "{list=[{b=false}]}"),
        (1.5, "1.5"),
        ("text", "text"),
    ],
)
def test_values_print_as_java_does(value: Any, printed: str) -> None:
    assert render("$v", {"v": value}) == printed
    assert java_text(value) == printed


def test_a_null_reference_prints_nothing_and_alternates_apply() -> None:
    assert render('"$missing"', {}) == '""'
    assert render('"$m.deeper.still"', {"m": {}}) == '""'
    assert render("${missing|'fallback'}", {}) == "fallback"
    assert render("$!quiet", {}) == ""
    assert render("cost: $5", {}) == "cost: $5"  # no reference at all


def test_string_literals_keep_their_backslashes() -> None:
    """Velocity reads ``"\\\\'"`` as three characters, so AWS's idiom after
    escapeJavaScript, ``.replaceAll("\\\\'", "'")``, turns ``\\'`` back into ``'``."""
    escaped = "it\\'s"  # what $util.escapeJavaScript makes of "it's"
    template = '$s.replaceAll("\\\\\'", "\'")'
    assert render(template, {"s": escaped}) == "it's"
    assert render("#set($x = 'a\\nb')$x", {}) == "a\\nb"


def test_java_string_and_map_methods() -> None:
    variables = {"s": "  Park One ", "m": {"a": 1}, "items": ["x", "y"]}
    assert render("$s.trim().toLowerCase()", variables) == "park one"
    assert render("$s.trim().toUpperCase()", variables) == "PARK ONE"
    assert render("$s.trim().matches('P[a-z]+')", variables) == "false"  # whole string
    assert render("$s.trim().matches('P.*e')", variables) == "true"
    assert render("$s.replaceAll('(P)ark', '$1ond')", variables) == "  Pond One "
    assert render("$s.trim().startsWith('Park')", variables) == "true"
    assert render("$s.length()", variables) == "11"
    assert render("$m.containsKey('a') $m.containsKey('b') $m.size()", variables) == "true false 1"
    assert render("#foreach($e in $m.entrySet())$e.key=$e.value#end", variables) == "a=1"
    assert render("#foreach($i in $items)$i#if($foreach.hasNext),#end#end", variables) == "x,y"
    assert render("$items.size() $items.get(1)", variables) == "2 y"
    assert render("#set($parts = $csv.split(','))$parts.size()", {"csv": "a,b,,"}) == "2"


def test_set_writes_into_nested_maps_in_place() -> None:
    context: dict[str, Any] = {"responseOverride": {"status": None, "header": {}}}
    render(
        "#set($context.responseOverride.status = 409)"
        '#set($context.responseOverride.header.X = "y")',
        {"context": context},
    )
    assert context["responseOverride"] == {"status": 409, "header": {"X": "y"}}
    render("#set($context.responseOverride.header.X-Trace-Id = 'z')", {"context": context})
    assert context["responseOverride"]["header"]["X-Trace-Id"] == "z"
    assert render("$a-$b", {"a": 1, "b": 2}) == "1-2"  # reading is unchanged


def test_a_broken_template_is_a_template_fault() -> None:
    with pytest.raises(TemplateFault, match="syntax error"):
        render("#if($a) no end", {"a": 1})
    with pytest.raises(TemplateFault, match="IndexError"):  # Java's List.get throws too
        render("#set($x = $items.get(5))", {"items": []})
    with pytest.raises(TemplateFault, match="no such macro"):
        render("#nomacro()", {})


def test_an_input_fault_raised_by_a_variable_reaches_the_caller() -> None:
    class Refuses:
        def parse(self) -> None:
            raise InputFault("not JSON")

    with pytest.raises(InputFault, match="not JSON"):
        render("$v.parse()", {"v": Refuses()})


@pytest.mark.parametrize(
    ("value", "true"),
    [(None, False), (False, False), (True, True), ("", True), (0, True), ([], True), ({}, True)],
)
def test_truth_is_velocitys_anything_but_null_and_false(value: Any, true: bool) -> None:
    """Velocity 1.7: a condition holds unless it is null or false (stock airspeed uses
    Python's truthiness, where "" and 0 are false)."""
    variables = {"v": value}
    expected = "yes" if true else "no"
    assert render("#if($v)yes#{else}no#end", variables) == expected
    assert render("#if(!$v)no#{else}yes#end", variables) == expected
    assert render("#if($v && true)yes#{else}no#end", variables) == expected
    assert render("#if(false || $v)yes#{else}no#end", variables) == expected
    assert render("#if(false)x#elseif($v)yes#{else}no#end", variables) == expected
