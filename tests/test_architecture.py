"""The layering holds at run time too: a module pulls in only what it uses.

import-linter (``make test``) checks the static import graph; these tests check what
an import really loads, which is what a Lambda cold start pays for.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
SRC = ROOT / "src" / "tenantkit"


def loaded_after(statement: str) -> set[str]:
    probe = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


@pytest.mark.parametrize(
    ("statement", "absent"),
    [
        ("import tenantkit.auth", {"tenantkit.events", "tenantkit.dynamo", "pydantic", "boto3"}),
        (
            "from tenantkit.auth import LambdaAuthorizer",
            {"tenantkit.events", "tenantkit.dynamo", "pydantic"},
        ),
        ("from tenantkit.dynamo import TenantTable", {"tenantkit.auth", "tenantkit.events", "jwt"}),
        ("from tenantkit.events import EnvelopeSigner", {"tenantkit.auth", "jwt", "pydantic"}),
        ("import tenantkit.cli", {"tenantkit.auth", "tenantkit.local", "moto", "boto3"}),
    ],
)
def test_imports_pull_in_only_what_they_use(statement: str, absent: set[str]) -> None:
    assert loaded_after(statement) & absent == set()


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_library_never_imports_the_examples() -> None:
    example_modules = {p.stem for p in (ROOT / "examples").rglob("*.py")} | {"examples"}
    offenders = {
        str(path.relative_to(ROOT)): hits
        for path in SRC.rglob("*.py")
        if (hits := {m.split(".")[0] for m in imported_modules(path)} & example_modules)
    }
    assert offenders == {}
