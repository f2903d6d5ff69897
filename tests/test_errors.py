"""tenantkit.errors: the drawn tree is the real one, and each error carries its data."""

from __future__ import annotations

import inspect
import re

import pytest

import tenantkit.errors as errors
from tenantkit.errors import (
    ConditionFailedError,
    InvalidInputError,
    KeySourceError,
    TenantKitError,
)

_NODE = re.compile(r"(?P<prefix>[│ ]*(?:[├└]── )?)(?P<name>[A-Za-z]+Error) (?P<status>\d{3})")


def drawn_tree() -> dict[str, tuple[str | None, int]]:
    """Each class in the docstring's drawing -> (its parent in the drawing, its status)."""
    assert errors.__doc__ is not None
    drawing = errors.__doc__.split("::", 1)[1]
    tree: dict[str, tuple[str | None, int]] = {}
    path: list[str] = []
    for line in drawing.strip("\n").splitlines():
        match = _NODE.fullmatch(line.strip("\n")[4:])  # the drawing is indented 4 spaces
        assert match is not None, f"not a node of the tree: {line!r}"
        depth = len(match["prefix"]) // 4
        del path[depth:]
        assert match["name"] not in tree, f"{match['name']} is drawn twice"
        tree[match["name"]] = (path[-1] if path else None, int(match["status"]))
        path.append(match["name"])
    return tree


def real_tree() -> dict[str, tuple[str | None, int]]:
    """Each error class of the module -> (its tenantkit parent, its status_code)."""
    tree: dict[str, tuple[str | None, int]] = {}
    for name, cls in inspect.getmembers(errors, inspect.isclass):
        if not issubclass(cls, TenantKitError) or cls.__module__ != errors.__name__:
            continue
        parents = [base for base in cls.__bases__ if issubclass(base, TenantKitError)]
        assert len(parents) <= 1, f"{name} has two tenantkit parents"
        tree[name] = (parents[0].__name__ if parents else None, cls.status_code)
    return tree


def test_the_drawn_tree_is_the_class_tree() -> None:
    assert drawn_tree() == real_tree()


def test_every_error_is_exported() -> None:
    assert set(real_tree()) <= set(errors.__all__)


def test_input_errors_are_4xx_value_errors() -> None:
    inputs = [cls for cls in vars(errors).values() if isinstance(cls, type)]
    inputs = [cls for cls in inputs if issubclass(cls, InvalidInputError)]
    assert len(inputs) > 5
    for cls in inputs:
        assert 400 <= cls.status_code < 500, cls
        assert issubclass(cls, ValueError), cls


@pytest.mark.parametrize(
    ("name", "parent"),
    [
        ("InvalidKeyError", "InvalidInputError"),
        ("InvalidValueError", "InvalidInputError"),
        ("InvalidCursorError", "InvalidInputError"),
        ("EndpointRefusedError", "InvalidInputError"),
        ("InvalidLimitError", "InvalidInputError"),
        ("InvalidEventTypeError", "InvalidInputError"),
    ],
)
def test_the_input_errors_the_issue_names(name: str, parent: str) -> None:
    assert issubclass(getattr(errors, name), getattr(errors, parent))


def test_a_bad_value_is_not_a_bad_key() -> None:
    # ``except InvalidKeyError`` must not catch a float in a non-key attribute.
    assert errors.InvalidValueError.__bases__ == (errors.InvalidInputError,)
    assert not issubclass(errors.InvalidValueError, errors.InvalidKeyError)


def test_a_key_source_outage_is_a_503() -> None:
    assert KeySourceError.status_code == 503
    assert "503" in (KeySourceError.__doc__ or "")


def test_condition_failed_carries_the_failed_operations() -> None:
    single = ConditionFailedError("the park exists")
    assert single.failed_indexes == ()
    assert str(single) == "the park exists"
    both = ConditionFailedError("two conditions failed", failed_indexes=(0, 2))
    assert both.failed_indexes == (0, 2)
    assert both.status_code == 409


def test_the_tree_check_notices_a_drift(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above is not vacuous: a moved class or a changed status fails it."""
    monkeypatch.setattr(errors.InvalidCursorError, "status_code", 422)
    assert drawn_tree() != real_tree()
    monkeypatch.undo()
    monkeypatch.setattr(
        errors,
        "__doc__",
        (errors.__doc__ or "").replace("    │   ├── InvalidCursorError 400\n", ""),
    )
    assert drawn_tree() != real_tree()
