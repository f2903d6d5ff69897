"""Where an ``AWS::Serverless::Api``'s OpenAPI document comes from.

- ``DefinitionBody`` inline: its intrinsics are checked and resolved like any property.
- ``DefinitionBody: {Fn::Transform: {Name: AWS::Include, Parameters: {Location: f}}}``:
  the file (YAML or JSON, relative to the template) replaces the transform at load time,
  and its intrinsics are then treated as inline ones, as CloudFormation does.
- ``DefinitionUri: f``: the file is the document as it is. CloudFormation resolves no
  intrinsic inside it, so one there is refused here rather than resolved locally.

Only local files: an ``s3://`` location or a ``Bucket``/``Key`` object is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tenantkit.local.template.loader import load_template
from tenantkit.local.template.model import Resource, TemplateError

__all__ = ["load_definition"]

INCLUDE = "AWS::Include"


def load_definition(api: Resource, directory: Path) -> None:
    """Put the API's OpenAPI document, with includes expanded, in ``DefinitionBody``."""
    props = api.properties
    where = f"{api.where}.Properties"
    if "DefinitionBody" in props and "DefinitionUri" in props:
        raise TemplateError(f"{where}: DefinitionBody and DefinitionUri are exclusive")
    if "DefinitionUri" in props:
        document = _document(props.pop("DefinitionUri"), directory, f"{where}.DefinitionUri")
        intrinsic = _first_intrinsic(document, "")
        if intrinsic is not None:
            raise TemplateError(
                f"{where}.DefinitionUri: {intrinsic}: CloudFormation does not resolve "
                "intrinsics in a DefinitionUri file; use DefinitionBody with "
                "Fn::Transform AWS::Include"
            )
        props["DefinitionBody"] = document
    elif "DefinitionBody" in props:
        props["DefinitionBody"] = _expand(
            props["DefinitionBody"], directory, f"{where}.DefinitionBody"
        )
    else:
        return
    if not isinstance(props["DefinitionBody"], dict):
        raise TemplateError(f"{where}.DefinitionBody: an OpenAPI document is a mapping")


def _expand(value: Any, directory: Path, where: str) -> Any:
    """``value`` with every ``Fn::Transform`` ``AWS::Include`` replaced by its file."""
    if isinstance(value, list):
        return [_expand(v, directory, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Fn::Transform"}:
        transform = value["Fn::Transform"]
        if not isinstance(transform, dict) or transform.get("Name") != INCLUDE:
            raise TemplateError(f"{where}.Fn::Transform: only {INCLUDE} is supported")
        location = (transform.get("Parameters") or {}).get("Location")
        included = _document(location, directory, f"{where}.Fn::Transform.Parameters.Location")
        return _expand(included, directory, where)
    return {k: _expand(v, directory, f"{where}.{k}") for k, v in value.items()}


def _document(location: Any, directory: Path, where: str) -> Any:
    if not isinstance(location, str) or location.startswith("s3://"):
        raise TemplateError(f"{where}: must be a local file path (relative to the template)")
    path = (directory / location).resolve()
    if not path.is_file():
        raise TemplateError(f"{where}: {path} is not a file")
    return load_template(path)


def _first_intrinsic(value: Any, where: str) -> str | None:
    """Where the first intrinsic (``Ref``, ``Fn::...``) in ``value`` is, or None."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _first_intrinsic(item, f"{where}[{index}]")
            if found is not None:
                return found
    elif isinstance(value, dict):
        if len(value) == 1:
            (key,) = value
            if key == "Ref" or key.startswith("Fn::"):
                return f"{where or '.'} {key}"
        for key, item in value.items():
            found = _first_intrinsic(item, f"{where}.{key}")
            if found is not None:
                return found
    return None
