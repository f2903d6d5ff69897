"""Every public name says where its public home is: never a private ``_`` module."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = [
    "tenantkit",
    "tenantkit.auth",
    "tenantkit.context",
    "tenantkit.dynamo",
    "tenantkit.errors",
    "tenantkit.events",
    "tenantkit.handlers",
    "tenantkit.keys",
    "tenantkit.metering",
    "tenantkit.direct",
    "tenantkit.lifecycle",
]


@pytest.mark.parametrize("package", PUBLIC)
def test_exported_classes_live_in_public_modules(package: str) -> None:
    module = importlib.import_module(package)
    private = {}
    for name in module.__all__:
        home = getattr(getattr(module, name), "__module__", None)
        if isinstance(home, str) and any(part.startswith("_") for part in home.split(".")):
            private[name] = home
    assert private == {}


def test_keys_have_one_public_home() -> None:
    import tenantkit.auth
    import tenantkit.dynamo
    import tenantkit.events
    import tenantkit.keys

    assert set(tenantkit.keys.__all__) == {"Jwks", "PublicKeys", "SecretKey", "SecretsManagerKey"}
    for name in tenantkit.keys.__all__:
        assert getattr(tenantkit.keys, name).__module__ == "tenantkit.keys"
    for package in (tenantkit.auth, tenantkit.dynamo, tenantkit.events):
        for name in set(tenantkit.keys.__all__) & set(package.__all__):
            assert getattr(package, name) is getattr(tenantkit.keys, name)


def test_the_types_of_update_item_are_exported() -> None:
    import inspect

    import tenantkit.dynamo

    hints = inspect.signature(tenantkit.dynamo.TenantTable.update_item).parameters
    assert "Updates" in str(hints["set"].annotation)
    assert "UpdatePath" in str(hints["remove"].annotation)
    assert {"Updates", "UpdatePath"} <= set(tenantkit.dynamo.__all__)
    assert tenantkit.dynamo.Updates is not None
    assert tenantkit.dynamo.UpdatePath is not None
