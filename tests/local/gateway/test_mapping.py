"""``$input`` and ``$util`` as API Gateway documents them, through the engine."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit.local.gateway.mapping import Input, Util, escape_javascript, json_path
from tenantkit.local.gateway.vtl import InputFault, render

# The example payload of API Gateway's "$input variables" reference.
PETS = {
    "petstore": {
        "pets": [
            {"id": 1, "type": "dog", "price": 249.99},
            {"id": 2, "type": "cat", "price": 124.99},
            {"id": 3, "type": "fish", "price": 0.99},
        ]
    }
}


def rendered(template: str, body: Any = PETS, **params: dict[str, str]) -> str:
    text = body if isinstance(body, str) else json.dumps(body)
    source = Input(text, params.get("path", {}), params.get("query", {}), params.get("header", {}))
    return render(template, {"input": source, "util": Util()})


def test_input_json_is_json_text_and_input_path_the_object() -> None:
    """AWS: ``$input.json('$.pets')`` returns a JSON string; ``$input.path`` returns an
    object VTL can walk (``$input.path('$.pets').size()`` is 3)."""
    assert json.loads(rendered("$input.json('$.petstore.pets')")) == PETS["petstore"]["pets"]
    assert rendered("$input.json('$.petstore.pets[0].type')") == '"dog"'  # quoted
    assert rendered("$input.path('$.petstore.pets[0].type')") == "dog"  # not quoted
    assert rendered("$input.path('$.petstore.pets').size()") == "3"
    assert rendered("$input.json('$.petstore.pets[1].price')") == "124.99"
    assert rendered("$input.path('$.petstore.pets[2].id')") == "3"
    assert rendered("$input.json('$.petstore.pets[*].type')") == '["dog","cat","fish"]'
    assert rendered("$input.json('$.missing')") == "null"
    assert rendered("\"$input.path('$.missing')\"") == '""'
    foreach = "#foreach($pet in $input.path('$.petstore.pets'))$pet.type #end"
    assert rendered(foreach) == "dog cat fish "


def test_input_json_writes_strings_that_json_can_read_back() -> None:
    body = {"name": 'a"b\\c\u0000\n}'}
    assert json.loads(rendered("$input.json('$.name')", body)) == body["name"]
    assert json.loads(rendered("$input.json('$')", body)) == body


def test_input_body_is_the_raw_payload_and_an_empty_one_is_an_empty_object() -> None:
    assert rendered("$input.body", "not json {") == "not json {"
    assert rendered("$input.json('$')", "") == "{}"


def test_a_body_that_is_not_json_is_the_callers_fault() -> None:
    with pytest.raises(InputFault, match="Could not parse request body into json"):
        rendered("$input.path('$.a')", '{"a": ')
    with pytest.raises(InputFault):
        rendered("$input.json('$')", "[" * 100_000)


def test_input_params_by_name_and_all() -> None:
    params = {
        "path": {"id": "p1"},
        "query": {"id": "q1", "limit": "5"},
        "header": {"X-Id": "h1"},
    }
    assert rendered("$input.params('id')", **params) == "p1"  # path first
    assert rendered("$input.params('limit')", **params) == "5"
    assert rendered("$input.params('x-id')", **params) == "h1"
    assert rendered("\"$input.params('absent')\"", **params) == '""'
    assert rendered("$input.params().querystring.get('limit')", **params) == "5"
    assert rendered("$input.params().header.get('X-Id')", **params) == "h1"
    assert rendered("$input.params().path.keySet()", **params) == "[id]"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("$", PETS),
        ("$.petstore.pets[-1].type", "fish"),
        ("$['petstore']['pets'][0]['id']", 1),
        ('$["petstore"].pets[9]', None),
        ("$.petstore.pets.*.id", [1, 2, 3]),
        ("$.petstore.nothing[*]", []),
    ],
)
def test_json_path(expression: str, expected: Any) -> None:
    assert json_path(PETS, expression) == expected


@pytest.mark.parametrize("expression", ["petstore", "$..pets", "$.a[?(@.x)]"])
def test_json_path_refuses_what_it_does_not_read(expression: str) -> None:
    with pytest.raises(ValueError, match="JSONPath"):
        json_path(PETS, expression)


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        # Apache Commons Lang's documented example, and API Gateway's note on quotes.
        ('He didn\'t say, "Stop!"', 'He didn\\\'t say, \\"Stop!\\"'),
        ("a/b\\c", "a\\/b\\\\c"),
        ("\b\f\n\r\t", "\\b\\f\\n\\r\\t"),
        ("\u0000\u001f\u007f", "\\u0000\\u001F\u007f"),
        ("é€", "\\u00E9\\u20AC"),
        ("😀", "\\uD83D\\uDE00"),  # UTF-16 units, as Java sees them
        ("\ud800", "\\uD800"),  # a lone surrogate, as JSON's "\ud800" decodes
        ("}#$", "}#$"),
        (True, "true"),  # a value that is not a string is escaped as Java prints it
        (12, "12"),
    ],
)
def test_escape_javascript(text: Any, escaped: str) -> None:
    assert escape_javascript(text) == escaped
    assert rendered("$util.escapeJavaScript($input.path('$.s'))", {"s": text}) == escaped


@settings(max_examples=100)
@given(st.text())
def test_escaped_text_is_a_json_string_once_quotes_are_undone(text: str) -> None:
    """The model: after AWS's ``replaceAll("\\\\'", "'")``, the escaped text between
    double quotes is a JSON string whose value is the original text, so no input can
    end the string early."""
    template = '"$util.escapeJavaScript($input.path(\'$.s\')).replaceAll("\\\\\'", "\'")"'
    assert json.loads(rendered(template, {"s": text})) == text


def test_util_conversions() -> None:
    util = Util()
    assert util.urlEncode("a b&c=d/é~*._-") == "a+b%26c%3Dd%2F%C3%A9%7E*._-"  # Java's form
    assert util.urlDecode("a+b%26c") == "a b&c"
    assert util.base64Encode("tenant#1") == "dGVuYW50IzE="
    assert util.base64Decode("dGVuYW50IzE=") == "tenant#1"
    assert util.parseJson('{"a": [1, true]}') == {"a": [1, True]}
    assert rendered("$util.parseJson($input.path('$.s')).a", {"s": '{"a": "b"}'}) == "b"
    with pytest.raises(InputFault):
        util.parseJson("{")
    with pytest.raises(InputFault):
        util.base64Decode("not base64!")


def test_util_encodes_an_unpaired_surrogate_as_java_does() -> None:
    """Java's UTF-8 encoder writes ``?`` for a surrogate with no partner (a string
    ``$util.parseJson`` decoded from ``"\\ud800"``): no failure, so no 500."""
    util = Util()
    assert util.base64Encode("a\ud800b") == util.base64Encode("a?b")
    assert util.urlEncode("a\udc00b") == "a%3Fb"


def commons_escape(text: str) -> str:
    """The model: Commons Lang 2's ``escapeJavaStyleString`` as its source reads, one
    UTF-16 unit at a time (``escapeSingleQuote`` and ``escapeForwardSlash`` on)."""
    units = text.encode("utf-16-be", "surrogatepass")
    out = []
    for index in range(0, len(units), 2):
        ch = int.from_bytes(units[index : index + 2], "big")
        hex_ = format(ch, "X")
        if ch > 0xFFF:
            out.append("\\u" + hex_)
        elif ch > 0xFF:
            out.append("\\u0" + hex_)
        elif ch > 0x7F:
            out.append("\\u00" + hex_)
        elif ch < 32:
            short = {8: "\\b", 10: "\\n", 9: "\\t", 12: "\\f", 13: "\\r"}
            out.append(short.get(ch) or ("\\u00" if ch > 0xF else "\\u000") + hex_)
        else:
            out.append({"'": "\\'", '"': '\\"', "\\": "\\\\", "/": "\\/"}.get(chr(ch), chr(ch)))
    return "".join(out)


@settings(max_examples=100)
@given(st.text(alphabet=st.characters(codec="utf-8") | st.characters(max_codepoint=0x7F)))
def test_escape_javascript_matches_the_commons_model(text: str) -> None:
    assert escape_javascript(text) == commons_escape(text)
