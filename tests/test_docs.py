"""Every ```python block in README.md and docs/ runs, and passes ruff and mypy --strict.

Blocks of one page share a namespace and run in order, like a doctest session, inside
moto's in-process AWS mock with fake credentials.

The lint and type checks read the blocks where they are written, in the pages, rather
than from docs/examples/*.py files included into them. Markdown has no include, so
included files would need a render step or a byte-for-byte comparison to stay in sync,
and a file per block could not see the names that the page's earlier blocks define
without the page repeating their imports. Instead each page becomes one module: its
blocks at their own line numbers, every other line blank. That module is exactly what
the runner executes, and a finding's line number is the page's.
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

# Rules that docs code is exempt from, beyond the project's own ignores:
DOCS_RULE_EXCEPTIONS = {
    "E402": "a block imports what it introduces, where the reader meets it",
    "S105": "examples use demonstration secrets, as tests do",
    "S106": "examples use demonstration secrets, as tests do",
    "PT017": "examples show a plain try/except; readers need not use pytest",
}


def python_blocks(page: Path) -> list[str]:
    return BLOCK.findall(page.read_text(encoding="utf-8"))


def page_as_module(page: Path) -> str:
    """The page's python blocks at their own line numbers, every other line blank."""
    text = page.read_text(encoding="utf-8")
    lines = [""] * (text.count("\n") + 1)
    for block in BLOCK.finditer(text):
        first = text.count("\n", 0, block.start(1))
        for offset, line in enumerate(block.group(1).splitlines()):
            lines[first + offset] = line
    return "\n".join(lines).rstrip("\n") + "\n"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_snippets_run(page: Path) -> None:
    blocks = python_blocks(page)
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    with mock_aws():
        for number, block in enumerate(blocks, 1):
            code = compile(block, f"{page.name}[block {number}]", "exec")
            exec(code, namespace)  # noqa: S102 - our own documentation


CANARY = """# A page whose blocks the checks must fault

```python
import os

limit = 3
```

Prose, then a block that rebinds a name from the first one.

```python
limit = "three"
```

```sh
not python
```
"""
CANARY_FINDINGS = [
    "canary.md:4:8: F401 [*] `os` imported but unused",
    'canary.md:12: error: Incompatible types in assignment (expression has type "str", '
    'variable has type "int")  [assignment]',
]


def lint_and_typecheck(pages: list[Path], workdir: Path) -> list[str]:
    """ruff's and mypy's findings in the pages' python blocks, each at its page and line."""
    names: dict[str, str] = {}  # module file name -> page
    for page in pages:
        module = f"{page.stem.replace('-', '_')}_md.py"
        assert module not in names, f"{page} and {names[module]} would share a module"
        (workdir / module).write_text(page_as_module(page), encoding="utf-8")
        names[module] = str(page.relative_to(ROOT)) if page.is_relative_to(ROOT) else page.name
    ruff = [
        *("-m", "ruff", "check", "--no-cache", "--output-format", "concise"),
        *("--config", str(ROOT / "pyproject.toml"), "--ignore", ",".join(DOCS_RULE_EXCEPTIONS)),
    ]
    # From the repository root, with the configuration and cache of `make typecheck`.
    mypy = ["-m", "mypy", "--strict", "--no-pretty"]
    modules = [str(workdir / module) for module in names]
    findings = []
    for command in (ruff, mypy):
        run = subprocess.run(
            [sys.executable, *command, *modules], cwd=ROOT, capture_output=True, text=True
        )
        # Only the pages' lines: `make typecheck` reports src/, which mypy follows too.
        # mypy may replay a cached finding under an earlier run's directory.
        for located in re.finditer(r"^\S*?(\w+_md\.py):(\d+:.*)$", run.stdout, re.MULTILINE):
            findings.append(f"{names[located[1]]}:{located[2]}")
    return findings


def test_snippets_pass_ruff_and_mypy_strict(tmp_path: Path) -> None:
    """One run of each tool, over every page and a canary page that proves it ran."""
    pages = [page for page in PAGES if python_blocks(page)]
    assert len(pages) >= 5
    canary = tmp_path / "canary.md"
    canary.write_text(CANARY, encoding="utf-8")
    (tmp_path / "modules").mkdir()
    findings = lint_and_typecheck([*pages, canary], tmp_path / "modules")
    assert findings == CANARY_FINDINGS, "\n".join(findings)


def test_docs_have_snippets() -> None:
    assert python_blocks(ROOT / "README.md"), "README.md shows no runnable example"


FIGURE = re.compile(r"\d(?:\.\d+)?\s?(?:\u00b5s|\u03bcs|\u00d7)|\d(?:\.\d+)? (?:ms|MB)\b")


def test_benchmark_figures_live_in_performance_md_only() -> None:
    performance = ROOT / "docs" / "performance.md"
    assert len(FIGURE.findall(performance.read_text(encoding="utf-8"))) >= 20
    readmes = sorted((ROOT / "examples").glob("**/README.md"))
    copies = [
        f"{page.relative_to(ROOT)}: {figure}"
        for page in [*PAGES, *readmes]
        if page != performance
        for figure in FIGURE.findall(page.read_text(encoding="utf-8"))
    ]
    assert copies == [], "link to docs/performance.md instead"


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
