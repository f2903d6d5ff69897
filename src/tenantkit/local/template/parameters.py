"""The ``Parameters`` section: each value from ``--parameter-overrides`` or its Default,
checked against its constraints before anything is created, as CloudFormation does."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tenantkit.local.template.model import TemplateError

__all__ = ["parameter_values"]

_PARAMETER_KEYS = {
    "Type",
    "Default",
    "Description",
    "NoEcho",
    "AllowedValues",
    "AllowedPattern",
    "MinLength",
    "MaxLength",
    "MinValue",
    "MaxValue",
    "ConstraintDescription",
}
_PARAMETER_TYPES = {"String", "Number", "CommaDelimitedList", "List<Number>"}


def parameter_values(declared: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, Any]:
    """Every declared parameter's value; list types become lists of stripped strings."""
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise TemplateError(
            f"--parameter-overrides names {', '.join(unknown)}, which the template's "
            f"Parameters section does not declare"
        )
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        where = f"Parameters.{name}"
        if not isinstance(spec, dict):
            raise TemplateError(f"{where}: a parameter is a mapping with a Type")
        for key in spec:
            if key not in _PARAMETER_KEYS:
                raise TemplateError(f"{where}.{key}: unsupported parameter property")
        kind = spec.get("Type")
        if kind not in _PARAMETER_TYPES:
            raise TemplateError(
                f"{where}.Type: unsupported parameter type {kind!r} "
                f"(supported: {', '.join(sorted(_PARAMETER_TYPES))})"
            )
        if name in overrides:
            raw = overrides[name]
        elif "Default" in spec:
            raw = spec["Default"]
            raw = str(raw).lower() if isinstance(raw, bool) else str(raw)
        else:
            raise TemplateError(f"{where}: no Default; pass --parameter-overrides {name}=VALUE")
        _check(where, spec, raw)
        values[name] = (
            [part.strip() for part in raw.split(",")] if kind.startswith(("Comma", "List")) else raw
        )
    return values


def _check(where: str, spec: Mapping[str, Any], raw: str) -> None:
    allowed = spec.get("AllowedValues")
    if allowed is not None and raw not in [
        str(v).lower() if isinstance(v, bool) else str(v) for v in allowed
    ]:
        raise TemplateError(f"{where}: value is not one of AllowedValues {allowed}")
    pattern = spec.get("AllowedPattern")
    if pattern is not None and re.fullmatch(str(pattern), raw) is None:
        raise TemplateError(f"{where}: value does not match AllowedPattern {pattern}")
    if "MinLength" in spec and len(raw) < int(spec["MinLength"]):
        raise TemplateError(f"{where}: value is shorter than MinLength {spec['MinLength']}")
    if "MaxLength" in spec and len(raw) > int(spec["MaxLength"]):
        raise TemplateError(f"{where}: value is longer than MaxLength {spec['MaxLength']}")
    if spec.get("Type") == "Number":
        try:
            number = float(raw)
        except ValueError:
            raise TemplateError(f"{where}: Number parameter needs a number") from None
        if "MinValue" in spec and number < float(spec["MinValue"]):
            raise TemplateError(f"{where}: value is below MinValue {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            raise TemplateError(f"{where}: value is above MaxValue {spec['MaxValue']}")
