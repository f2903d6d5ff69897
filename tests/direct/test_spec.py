"""Spec validation: every mistake is a ConfigurationError that names where it is."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from tenantkit.direct import load_spec, parse_spec
from tenantkit.errors import ConfigurationError

from .conftest import PARKS


def _parks() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(PARKS.read_text())
    return data


def _changed(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """The parks spec with the value at ``path`` replaced (``...`` deletes it)."""
    data = copy.deepcopy(_parks())
    node = data
    for step in path[:-1]:
        node = node[step]
    if value is ...:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


def test_the_parks_spec_is_valid() -> None:
    spec = load_spec(PARKS)
    assert [r.operation for r in spec.routes][:3] == ["listParks", "addPark", "getPark"]


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        # shapes (pydantic), located without its discriminator tags
        (("routes", 2, "dynamodb", "key", "sk"), 5, "routes[2].dynamodb.key.sk"),
        (("routes", 2, "dynamodb", "action"), "Scan", "routes[2].dynamodb"),
        (("routes", 0, "dynamodb", "limit"), {"maximum": 5000}, "routes[0].dynamodb.limit.maximum"),
        (("routes", 1, "body", "id", "type"), "object", "routes[1].body.id.type"),
        (("routes", 1, "color"), "red", "routes[1].color"),
        (("routes", 1, "method"), "TRACE", "routes[1].method"),
        (("routes", 6, "lambda", "function"), ["x"], "routes[6].lambda.function"),
        (("tables", "parks", "name"), "a b", "tables.parks.name"),
        (("authorizer", "ttl"), 7200, "authorizer.ttl"),
        (("routes",), [], "routes"),
        # meaning (checks)
        (("routes", 2, "dynamodb", "key", "sk"), "park#{nope}", "routes[2].dynamodb.key.sk"),
        (("routes", 2, "dynamodb", "key", "sk"), 'park"x', "routes[2].dynamodb.key.sk"),
        (
            ("routes", 2, "dynamodb", "key", "sk"),
            "{context.requestId}",
            "routes[2].dynamodb.key.sk",
        ),
        (("routes", 2, "dynamodb", "key"), {"pk": "park#{parkId}"}, "routes[2].dynamodb.key"),
        (("routes", 2, "dynamodb", "table"), "lakes", "routes[2].dynamodb.table"),
        (("routes", 0, "dynamodb", "index"), "GSI9", "routes[0].dynamodb.index"),
        (("routes", 2, "path_parameters", "parkId", "pattern"), ..., "routes[2].dynamodb.key.pk"),
        (
            ("routes", 2, "path_parameters", "parkId", "pattern"),
            "[a-z]+",
            "routes[2].dynamodb.key.pk",
        ),
        (
            ("routes", 2, "path_parameters", "parkId", "max_length"),
            600,
            "routes[2].dynamodb.key.pk",
        ),
        (("routes", 1, "body", "id", "max_length"), ..., "routes[1].dynamodb.key.pk"),
        (("routes", 1, "body", "name", "max_length"), 9999, None),  # not a key: any length
        (
            ("routes", 1, "dynamodb", "attributes", "GSI1SK"),
            "{name}",
            "routes[1].dynamodb.attributes.GSI1SK",
        ),
        (("routes", 1, "dynamodb", "attributes", "pk"), "x", "routes[1].dynamodb.attributes.pk"),
        (
            ("routes", 1, "dynamodb", "attributes", "tkshard"),
            "7",
            "routes[1].dynamodb.attributes.tkshard",
        ),
        (("routes", 1, "body", "tenantId"), {}, "routes[1].body.tenantId"),
        (("routes", 0, "query_parameters"), {"cursor": {}}, "routes[0].query_parameters.cursor"),
        (("routes", 2, "path_parameters"), {}, "routes[2].path_parameters"),
        (("routes", 2, "operation"), "listParks", "routes[2].operation"),
        (("routes", 2, "path"), "/parks", "routes[2].path"),
        (("routes", 2, "body"), {"x": {}}, "routes[2].body"),
        (("routes", 2, "lambda"), {"function": "arn:f"}, "routes[2]"),
        (
            ("routes", 0, "dynamodb", "returns", "shard"),
            {"attribute": "tkshard"},
            "routes[0].dynamodb.returns.shard",
        ),
        (("routes", 0, "dynamodb", "begins_with"), "{nope}", "routes[0].dynamodb.begins_with"),
        (
            ("routes", 5, "stepfunctions", "input"),
            ["parkId", "color"],
            "routes[5].stepfunctions.input[1]",
        ),
        (("routes", 5, "stepfunctions", "errors"), {"E": 200}, "routes[5].stepfunctions.errors"),
        (("routes", 3, "dynamodb", "set"), {}, "routes[3].dynamodb.set"),
    ],
)
def test_errors_name_their_location(path: tuple[Any, ...], value: Any, where: str | None) -> None:
    data = _changed(path, value)
    if where is None:
        parse_spec(data)
        return
    with pytest.raises(ConfigurationError) as raised:
        parse_spec(data)
    assert str(raised.value).startswith(f"invalid route spec: {where}")


def test_a_query_index_without_a_sort_key_refuses_begins_with() -> None:
    data = _changed(("tables", "parks", "indexes", "GSI1"), {"partition_key": "GSI1PK"})
    data["routes"][0]["dynamodb"]["begins_with"] = "a"
    with pytest.raises(ConfigurationError, match=r"routes\[0\]\.dynamodb\.begins_with"):
        parse_spec(data)


def test_writes_without_enumeration_need_one_value_always_present() -> None:
    data = _changed(("tables", "parks", "enumeration"), None)
    data["routes"][3]["body"]["name"]["required"] = False
    with pytest.raises(ConfigurationError, match=r"routes\[3\]\.dynamodb\.set: at least one"):
        parse_spec(data)


def test_files_that_cannot_be_read_or_parsed(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_spec(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("routes: [unclosed")
    with pytest.raises(ConfigurationError, match="not YAML"):
        load_spec(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("[1, 2]")
    with pytest.raises(ConfigurationError, match="invalid route spec: spec"):
        load_spec(tmp_path / "list.yaml")
