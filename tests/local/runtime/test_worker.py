"""The worker program: it must import nothing but the standard library before the handler,
or every cold start it reports would include tenantkit's own imports."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import tenantkit.local.runtime.worker as worker


def test_the_worker_imports_only_the_standard_library() -> None:
    tree = ast.parse(Path(worker.__file__).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        str(node.module).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 0
    }
    assert imported
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported
