"""Where an Api's OpenAPI document comes from: inline, AWS::Include, DefinitionUri."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tenantkit.local.template import TemplateError, parse_template

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: dev
{definition}
"""
DOCUMENT = """\
openapi: "3.0.1"
paths:
  /things:
    get:
      x-amazon-apigateway-integration:
        type: mock
        uri: {uri}
"""


def parsed(
    tmp_path: Path, definition: str, files: dict[str, str] | None = None
) -> dict[str, object]:
    for name, text in (files or {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE.format(definition=textwrap.indent(definition, " " * 6)))
    props = parse_template(path).resources["Api"].properties
    assert "DefinitionUri" not in props
    body = props["DefinitionBody"]
    assert isinstance(body, dict)
    return body


def test_an_include_is_replaced_by_its_file_and_keeps_its_intrinsics(tmp_path: Path) -> None:
    include = (
        "DefinitionBody:\n"
        "  Fn::Transform:\n"
        "    Name: AWS::Include\n"
        "    Parameters: {Location: api/openapi.yaml}\n"
    )
    document = DOCUMENT.format(uri='!Sub "${AWS::Region}"')
    body = parsed(tmp_path, include, {"api/openapi.yaml": document})
    operation = body["paths"]["/things"]["get"]  # type: ignore[index]
    assert operation["x-amazon-apigateway-integration"]["uri"] == {"Fn::Sub": "${AWS::Region}"}


def test_definition_uri_is_the_document_as_it_is(tmp_path: Path) -> None:
    body = parsed(tmp_path, "DefinitionUri: openapi.json", {"openapi.json": '{"paths": {}}'})
    assert body == {"paths": {}}


@pytest.mark.parametrize(
    ("definition", "files", "message"),
    [
        (
            "DefinitionUri: openapi.yaml",
            {"openapi.yaml": DOCUMENT.format(uri="!Ref AWS::Region")},
            "does not resolve intrinsics in a DefinitionUri file",
        ),
        ("DefinitionUri: s3://bucket/openapi.yaml", {}, "must be a local file path"),
        ("DefinitionUri: {Bucket: b, Key: k}", {}, "must be a local file path"),
        ("DefinitionUri: missing.yaml", {}, "is not a file"),
        (
            "DefinitionUri: a.yaml\nDefinitionBody: {}",
            {"a.yaml": "{}"},
            "DefinitionBody and DefinitionUri are exclusive",
        ),
        (
            "DefinitionBody:\n  Fn::Transform: {Name: AWS::Other, Parameters: {Location: a}}",
            {},
            "only AWS::Include",
        ),
        ("DefinitionBody: [1]", {}, "an OpenAPI document is a mapping"),
        ("DefinitionBody: {paths: !If [c, a, b]}", {}, "Fn::If is not supported"),
    ],
)
def test_what_cannot_be_read_fails_naming_its_place(
    tmp_path: Path, definition: str, files: dict[str, str], message: str
) -> None:
    with pytest.raises(TemplateError, match=message) as raised:
        parsed(tmp_path, definition, files)
    assert "template.yaml:" in str(raised.value)
    assert "Resources.Api.Properties" in str(raised.value)
