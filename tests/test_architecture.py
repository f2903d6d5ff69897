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


def tenantkit_imports(path: Path, package: str) -> set[str]:
    """Every ``tenantkit`` module that ``path`` (a module of ``package``) imports, anywhere
    in it (functions and ``TYPE_CHECKING`` blocks too), relative imports resolved."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "tenantkit" or name.startswith("tenantkit.")}


def outside(names: set[str], allowed: tuple[str, ...]) -> set[str]:
    """The names that are neither an allowed module nor inside one."""
    return {
        name for name in names if not any(name == ok or name.startswith(ok + ".") for ok in allowed)
    }


def test_shared_imports_only_errors_and_itself() -> None:
    """An allow-list, unlike import-linter's deny-list: a new package is refused too."""
    offenders = {}
    for path in (SRC / "_shared").rglob("*.py"):
        package = ".".join(path.relative_to(SRC.parent).parts[:-1])  # __init__ too
        if hits := outside(
            tenantkit_imports(path, package), ("tenantkit.errors", "tenantkit._shared")
        ):
            offenders[str(path.relative_to(ROOT))] = hits
    assert offenders == {}


def test_context_imports_only_errors_and_errors_nothing_of_ours() -> None:
    assert (
        outside(tenantkit_imports(SRC / "context.py", "tenantkit"), ("tenantkit.errors",)) == set()
    )
    assert tenantkit_imports(SRC / "errors.py", "tenantkit") == set()


def test_the_allow_list_check_sees_every_way_out(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "from tenantkit.errors import ConfigurationError\n"
        "from . import cache\n"
        "from .. import logs\n"
        "if TYPE_CHECKING:\n"
        "    from tenantkit.context import TenantContext\n"
        "def later():\n"
        "    import tenantkit.newpackage.thing\n"
        "    from tenantkit import current_tenant\n",
        encoding="utf-8",
    )
    found = tenantkit_imports(module, "tenantkit._shared")
    assert outside(found, ("tenantkit.errors", "tenantkit._shared")) == {
        "tenantkit",
        "tenantkit.current_tenant",
        "tenantkit.logs",
        "tenantkit.context",
        "tenantkit.context.TenantContext",
        "tenantkit.newpackage.thing",
    }
