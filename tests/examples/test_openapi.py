"""openapi.yaml describes the served API: valid and complete.

Schemathesis runs it against the served app in tests/local/test_example_openapi.py.
"""

from __future__ import annotations

import yaml

from tests.examples.conftest import EXAMPLE, template_routes

SPEC = EXAMPLE / "openapi.yaml"


def load_spec() -> dict[str, object]:
    with SPEC.open() as f:
        spec: dict[str, object] = yaml.safe_load(f)
    return spec


def test_the_spec_is_valid_openapi() -> None:
    from openapi_spec_validator import validate

    validate(load_spec())  # type: ignore[arg-type]


def test_the_spec_lists_exactly_the_templates_routes() -> None:
    paths = load_spec()["paths"]
    assert isinstance(paths, dict)
    documented = {
        (method.upper(), path)
        for path, item in paths.items()
        for method in item
        if method in {"get", "put", "post", "delete", "patch"}
    }
    assert documented == set(template_routes())
