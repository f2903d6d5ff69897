"""Every ```python block in README.md and docs/ runs, so the snippets cannot rot.

Blocks of one file share a namespace and run in order, like a doctest session,
inside moto's in-process AWS mock with fake credentials.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from moto import mock_aws

ROOT = Path(__file__).parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_blocks(page: Path) -> list[str]:
    return BLOCK.findall(page.read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_snippets_run(page: Path) -> None:
    blocks = python_blocks(page)
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    with mock_aws():
        for number, block in enumerate(blocks, 1):
            code = compile(block, f"{page.name}[block {number}]", "exec")
            exec(code, namespace)  # noqa: S102 - our own documentation


def test_docs_have_snippets() -> None:
    assert python_blocks(ROOT / "README.md"), "README.md shows no runnable example"


TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")


def test_security_table_names_real_tests() -> None:
    refs = TEST_REF.findall((ROOT / "docs" / "security.md").read_text(encoding="utf-8"))
    assert len(refs) >= 30
    missing = [
        f"{path}::{name}"
        for path, name in refs
        if f"def {name}(" not in (ROOT / path).read_text(encoding="utf-8")
    ]
    assert missing == []


def test_getting_started_runs_as_a_new_users_script(tmp_path: Path) -> None:
    """The page, pasted into one file, runs on its own: no test harness, no AWS setup."""
    script = tmp_path / "getting_started.py"
    script.write_text("\n".join(python_blocks(ROOT / "docs" / "getting-started.md")))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_SHARED_CREDENTIALS_FILE"] = env["AWS_CONFIG_FILE"] = str(tmp_path / "none")
    run = subprocess.run(
        [sys.executable, str(script)], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-3000:]
