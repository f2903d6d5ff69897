"""The `make mutate` tooling (mutation/): survivor keys, review matching, target list."""

from __future__ import annotations

import ast
import importlib.util
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).parents[2]


def _load_review() -> ModuleType:
    """mutation/review.py, which is a script's module rather than part of the package."""
    name = "mutation_review"
    spec = importlib.util.spec_from_file_location(name, ROOT / "mutation" / "review.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


review = _load_review()

MESSAGE = """--- src/tenantkit/context.py
+++ src/tenantkit/context.py
@@ -15,7 +15,7 @@
     if not isinstance(authorizer, Mapping):
         raise NoTenantContextError(
-            "the event has no Lambda authorizer context; put the tenantkit "
+            "XXthe event has no Lambda authorizer context; put the tenantkit XX"
             "authorizer in front of this function"
         )
"""
NONE_MESSAGE = """@@ -15,8 +15,7 @@
         raise NoTenantContextError(
-            "the event has no Lambda authorizer context; put the tenantkit "
-            "authorizer in front of this function"
+            None
         )
"""
CONDITION = """@@ -14,7 +14,7 @@
-    if not isinstance(authorizer, Mapping):
+    if isinstance(authorizer, Mapping):
         raise NoTenantContextError(
"""
FROM_EVENT = "tenantkit.context.xǁTenantContextǁfrom_event__mutmut_"
MESSAGE_ENTRY = review.Reviewed(
    "tenantkit.context.TenantContext.from_event",
    review.Change.from_diff(
        '-"the event has no Lambda authorizer context; put the tenantkit "\n'
        '-"authorizer in front of this function"\n'
    ),
    "message text",
)


def survivor(diff: str, name: str = FROM_EVENT + "29") -> object:
    return review.Survivor(name, "survived", diff)


def test_a_change_is_its_lines_without_headers_context_or_indentation() -> None:
    change = review.Change.from_diff(MESSAGE)
    assert change.removed == ('"the event has no Lambda authorizer context; put the tenantkit "',)
    assert change.added == ('"XXthe event has no Lambda authorizer context; put the tenantkit XX"',)


@pytest.mark.parametrize(
    ("removed", "added", "strings_only"),
    [
        (['raise E("no tenant")'], ['raise E("XXno tenantXX")'], True),
        (['"a "', '"b"'], ["None"], True),
        (['if value == "":'], ['if value == "XXXX":'], True),
        (["if a or b:"], ["if a and b:"], False),
        (["max_age: float = 3600,"], ["max_age: float = 3601,"], False),
        (["cooldown=_COOLDOWN,"], [], False),
        (['raise E("x")'], ['raise F("x")'], False),
    ],
)
def test_strings_only_means_nothing_but_string_literals_changed(
    removed: list[str], added: list[str], strings_only: bool
) -> None:
    change = review.Change(tuple(removed), tuple(added))
    assert change.rewrites_strings_only() is strings_only


def test_a_message_entry_covers_every_string_rewrite_of_its_lines() -> None:
    assert MESSAGE_ENTRY.covers(survivor(MESSAGE))
    assert MESSAGE_ENTRY.covers(survivor(NONE_MESSAGE))


def test_a_message_entry_covers_no_code_change_and_no_other_function() -> None:
    assert not MESSAGE_ENTRY.covers(survivor(CONDITION))
    other = "tenantkit.context.xǁTenantContextǁfrom_authorizer__mutmut_3"
    assert not MESSAGE_ENTRY.covers(survivor(MESSAGE, other))


def test_an_entry_with_added_lines_covers_that_mutation_only() -> None:
    entry = review.Reviewed(
        MESSAGE_ENTRY.function, review.Change.from_diff(CONDITION), "an example"
    )
    assert entry.covers(survivor(CONDITION))
    assert not entry.covers(survivor(MESSAGE))


def test_mutmut_names_map_to_functions_and_back() -> None:
    method = "tenantkit.dynamo.table.xǁTenantTableǁ_key__mutmut_3"
    assert review.function_of(method) == "tenantkit.dynamo.table.TenantTable._key"
    assert review.function_of("tenantkit.auth.verifier.x__claim_at__mutmut_2") == (
        "tenantkit.auth.verifier._claim_at"
    )
    assert review.mangle("TenantTable._key") == "xǁTenantTableǁ_key"
    assert review.mangle("_claim_at") == "x__claim_at"


def test_an_entry_without_a_reason_is_refused(tmp_path: Path) -> None:
    listed = tmp_path / "survivors.toml"
    listed.write_text('[[survivor]]\nfunction = "m.f"\ndiff = "-x = 1"\nreason = " "\n')
    with pytest.raises(SystemExit, match="no reason"):
        review.load_reviewed(listed)


def test_the_reviewed_list_loads() -> None:
    entries = review.load_reviewed(ROOT / "mutation" / "survivors.toml")
    assert all(e.function.startswith("tenantkit.") for e in entries)


def _defined(module: ast.Module) -> set[str]:
    names = set()
    for node in module.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names |= {
                f"{node.name}.{item.name}"
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
            }
    return names


def test_every_mutation_target_names_code_and_tests_that_exist() -> None:
    """When code moves, mutation/targets.toml must follow, or `make mutate` fails late."""
    targets = tomllib.loads((ROOT / "mutation" / "targets.toml").read_text())["target"]
    fix = "moved? point mutation/targets.toml at its new place"
    for target in targets:
        source = ROOT / "src" / (target["module"].replace(".", "/") + ".py")
        assert source.is_file(), f"target {target['name']}: no {source}; {fix}"
        missing = set(target.get("functions", ())) - _defined(ast.parse(source.read_text()))
        assert not missing, f"target {target['name']}: {sorted(missing)} not in {source}; {fix}"
        for pattern in target["tests"]:
            assert list(ROOT.glob(pattern)), f"target {target['name']}: no {pattern}; {fix}"
